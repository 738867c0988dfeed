"""ModelMoraClient: the blocking client."""

from __future__ import annotations

import types
from typing import Generator, Iterator

from ._grpc import GrpcTransport
from ._rest import RestTransport
from ._settings import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TARGET, TlsInput, resolve_settings
from ._types import Image, ModelList, Transport

__all__ = ["ModelMoraClient", "ImageStream"]


class ImageStream(Iterator[Image]):
    """The images of one ``stream_images`` call, in order, as each arrives whole.

    The call starts at the first ``next()``. Closing the stream before its
    end (``close()``, leaving a ``with`` block, or breaking out of a ``for``
    loop over it) cancels the call, and the server stops drawing.
    """

    def __init__(self, images: Generator[Image, None, None]) -> None:
        self._images = images

    def __iter__(self) -> ImageStream:
        return self

    def __next__(self) -> Image:
        return next(self._images)

    def close(self) -> None:
        """Cancels the call if it is still running. Safe to call more than once."""
        self._images.close()

    def __enter__(self) -> ImageStream:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.close()

    def __del__(self) -> None:
        # A for loop that breaks drops the stream: cancel then, not at exit.
        self._images.close()


class ModelMoraClient:
    """A blocking client of a ModelMora server, over gRPC (default) or REST.

    ::

        with ModelMoraClient("localhost:8080") as client:
            for image in client.stream_images("noise-1000", "a red fox", batch_size=10):
                print(image.index, image.width, image.height, len(image.data))

    Args:
        target: ``"host:port"`` (default ``"localhost:8080"``), or a URL
            ``"http://host:port"`` / ``"https://host:port"``; a host without
            a port means port 8080.
        api_key: sent as ``x-api-key`` on every call. Defaults to the
            ``MODELMORA_API_KEY`` environment variable; none when unset.
        tls: ``None`` (default): TLS for an ``https://`` target, cleartext
            otherwise. ``False``: cleartext (HTTP/2 with prior knowledge for
            gRPC). ``True``: TLS, trusting the system's certificate
            authorities. A path (``str``) or PEM ``bytes``: TLS, trusting the
            certificates in that CA file instead.
        transport: ``"grpc"`` (default; grpcio over HTTP/2) or ``"rest"``
            (httpx over HTTP/1.1, ``POST /infer/stream``). Same methods, same
            results, same errors.
        timeout: the default deadline of every call, in seconds, from its
            start to its last byte; ``None`` (default) for none. Each call's
            own ``timeout=`` overrides it.
        connect_timeout: how long a REST call waits to connect, in seconds
            (default 10). gRPC calls fail at once with ``unavailable`` when
            the server cannot be reached.

    The client holds one connection (pool) and is safe to share between
    threads. Close it (``close()`` or a ``with`` block) to release it.
    """

    def __init__(
        self,
        target: str = DEFAULT_TARGET,
        *,
        api_key: str | None = None,
        tls: TlsInput = None,
        transport: Transport = "grpc",
        timeout: float | None = None,
        connect_timeout: float = DEFAULT_CONNECT_TIMEOUT,
    ) -> None:
        self._settings = resolve_settings(
            target,
            api_key=api_key,
            tls=tls,
            transport=transport,
            timeout=timeout,
            connect_timeout=connect_timeout,
        )
        self._transport: GrpcTransport | RestTransport | None = (
            GrpcTransport(self._settings) if transport == "grpc" else RestTransport(self._settings)
        )

    @property
    def transport(self) -> Transport:
        """``"grpc"`` or ``"rest"``."""
        return self._settings.transport

    @property
    def base_url(self) -> str:
        """``http://host:port`` or ``https://host:port``: where the client connects."""
        return self._settings.base_url

    def _open(self) -> GrpcTransport | RestTransport:
        if self._transport is None:
            raise RuntimeError("this ModelMoraClient is closed")
        return self._transport

    def stream_images(
        self,
        model_id: str,
        prompt: str = "",
        *,
        batch_size: int = 1,
        timeout: float | None = None,
    ) -> ImageStream:
        """Generates batch_size images and yields each one, whole and checked, as it arrives.

        Each image is reassembled in one buffer from its chunks and its
        SHA-256 checked against the server's; a mismatch, a truncated image
        or a missing one raises ``DataLossError``. Server errors raise the
        ``ModelMoraError`` subclass of their code (``NotFoundError`` for an
        unknown model, ``InvalidArgumentError`` for a batch_size out of
        range, ...), before the first image or, for a limit reached midway,
        after the images that arrived.

        Args:
            model_id: the model, for example ``"noise-1000"`` (``list_models()``).
            prompt: the text prompt; with model_id and the image's index it
                fixes the image: the same request gives the same bytes.
            batch_size: how many images, from 1 to the server's maximum (32).
            timeout: deadline of the whole call in seconds; default: the client's.
        """
        transport = self._open()
        return ImageStream(
            transport.stream_images(model_id, prompt, batch_size, self._timeout(timeout))
        )

    def list_models(self, *, timeout: float | None = None) -> ModelList:
        """The server's models, its largest batch_size, its chunk size and its renderer."""
        return self._open().list_models(self._timeout(timeout))

    def _timeout(self, timeout: float | None) -> float | None:
        if timeout is None:
            return self._settings.timeout
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        return timeout

    def close(self) -> None:
        """Closes the connection; calls still running are canceled. Safe to call more than once."""
        transport, self._transport = self._transport, None
        if transport is not None:
            transport.close()

    def __enter__(self) -> ModelMoraClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._transport is None else "open"
        return f"<ModelMoraClient {self._settings.base_url} transport={self.transport} {state}>"
