"""AsyncModelMoraClient: the asyncio twin of ModelMoraClient."""

from __future__ import annotations

import types
from typing import AsyncGenerator, AsyncIterator

from ._grpc import AsyncGrpcTransport
from ._rest import AsyncRestTransport
from ._settings import DEFAULT_CONNECT_TIMEOUT, DEFAULT_TARGET, TlsInput, resolve_settings
from ._types import Image, ModelList, Transport

__all__ = ["AsyncModelMoraClient", "AsyncImageStream"]


class AsyncImageStream(AsyncIterator[Image]):
    """The images of one ``stream_images`` call, for ``async for``.

    The call starts at the first ``__anext__``. Closing the stream before
    its end (``await aclose()``, leaving an ``async with`` block, or
    breaking out of an ``async for`` loop over it) cancels the call, and the
    server stops drawing. After a break the cancel runs on the event loop
    as soon as the stream is dropped, as asyncio finalises async generators.
    """

    def __init__(self, images: AsyncGenerator[Image, None]) -> None:
        self._images = images

    def __aiter__(self) -> AsyncImageStream:
        return self

    async def __anext__(self) -> Image:
        return await self._images.__anext__()

    async def aclose(self) -> None:
        """Cancels the call if it is still running. Safe to call more than once."""
        await self._images.aclose()

    async def __aenter__(self) -> AsyncImageStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.aclose()


class AsyncModelMoraClient:
    """An asyncio client of a ModelMora server, over gRPC (default) or REST.

    The same arguments, methods and errors as :class:`ModelMoraClient`, with
    ``await`` and ``async for``::

        async with AsyncModelMoraClient("localhost:8080") as client:
            async for image in client.stream_images("noise-1000", "a red fox", batch_size=10):
                print(image.index, len(image.data))

    The gRPC channel (grpc.aio) opens on the event loop of the first call;
    use the client on that loop only.
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
        self._transport: AsyncGrpcTransport | AsyncRestTransport | None = (
            AsyncGrpcTransport(self._settings)
            if transport == "grpc"
            else AsyncRestTransport(self._settings)
        )

    @property
    def transport(self) -> Transport:
        """``"grpc"`` or ``"rest"``."""
        return self._settings.transport

    @property
    def base_url(self) -> str:
        """``http://host:port`` or ``https://host:port``: where the client connects."""
        return self._settings.base_url

    def _open(self) -> AsyncGrpcTransport | AsyncRestTransport:
        if self._transport is None:
            raise RuntimeError("this AsyncModelMoraClient is closed")
        return self._transport

    def stream_images(
        self,
        model_id: str,
        prompt: str = "",
        *,
        batch_size: int = 1,
        timeout: float | None = None,
    ) -> AsyncImageStream:
        """Generates batch_size images; ``async for`` gives each, whole and checked.

        See :meth:`ModelMoraClient.stream_images`.
        """
        transport = self._open()
        return AsyncImageStream(
            transport.stream_images(model_id, prompt, batch_size, self._timeout(timeout))  # type: ignore[arg-type]
        )

    async def list_models(self, *, timeout: float | None = None) -> ModelList:
        """The server's models, its largest batch_size, its chunk size and its renderer."""
        return await self._open().list_models(self._timeout(timeout))

    def _timeout(self, timeout: float | None) -> float | None:
        if timeout is None:
            return self._settings.timeout
        if not timeout > 0:
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        return timeout

    async def aclose(self) -> None:
        """Closes the connection; calls still running are canceled. Safe to call more than once."""
        transport, self._transport = self._transport, None
        if transport is not None:
            await transport.aclose()

    async def __aenter__(self) -> AsyncModelMoraClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        state = "closed" if self._transport is None else "open"
        return f"<AsyncModelMoraClient {self._settings.base_url} transport={self.transport} {state}>"
