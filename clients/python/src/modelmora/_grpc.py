"""The gRPC transport (grpcio), blocking and asyncio."""

from __future__ import annotations

from typing import AsyncIterator, Iterator

import grpc
import grpc.aio

from . import inference_pb2, inference_pb2_grpc
from ._assembly import ChunkAssembler
from ._exceptions import ModelMoraError, error_from_code
from ._settings import Settings
from ._types import Image, Model, ModelList

__all__ = ["GrpcTransport", "AsyncGrpcTransport", "channel_options"]

# The largest message the client accepts. A chunk is 1,000,000 bytes of
# image plus a few hundred of metadata with the server's default
# --chunk-bytes; grpcio's default limit (4 MiB) would refuse a server run
# with chunks over 4 MiB, so allow 64 MiB.
MAX_RECEIVE_MESSAGE_BYTES = 64 * 1024 * 1024


def channel_options(settings: Settings) -> list[tuple[str, object]]:
    """grpcio channel options for streams of ~1 MB messages.

    - ``grpc.max_receive_message_length``: 64 MiB (see MAX_RECEIVE_MESSAGE_BYTES).
    - No compression (grpcio's default): PNG does not compress, and the
      server never compresses image chunks.
    - Flow control: grpcio (C-core) grows its HTTP/2 windows by bandwidth-
      delay probing (``grpc.http2.bdp_probe``, on by default), so 1 MB
      messages are not held to the 64 KiB default window for long.
    - Keepalive pings every 60 s, failing the connection after 20 s without
      an answer, so a call without a deadline still notices a dead peer.
    """
    return [
        ("grpc.max_receive_message_length", MAX_RECEIVE_MESSAGE_BYTES),
        ("grpc.primary_user_agent", settings.user_agent),
        ("grpc.keepalive_time_ms", 60_000),
        ("grpc.keepalive_timeout_ms", 20_000),
    ]


def _credentials(settings: Settings) -> grpc.ChannelCredentials:
    return grpc.ssl_channel_credentials(root_certificates=settings.ca_pem)


def _error_from_rpc(err: grpc.RpcError) -> ModelMoraError:
    """The ModelMoraError for a failed call, with retry-after from its trailers.

    grpcio's errors are also calls (``grpc.Call``, ``grpc.aio.AioRpcError``):
    code(), details() and trailing_metadata() say what the server sent.
    """
    code = _call_attr(err, "code")
    name = code.name.lower() if isinstance(code, grpc.StatusCode) else "unknown"
    if name == "cancelled":
        name = "canceled"  # Connect's spelling, as the server's logs and REST write it
    retry_after = None
    for key, value in _call_attr(err, "trailing_metadata") or ():
        if key == "retry-after":
            try:
                retry_after = float(value)
            except ValueError:
                pass
    return error_from_code(name, _call_attr(err, "details") or str(err), retry_after=retry_after)


def _call_attr(err: grpc.RpcError, name: str):  # noqa: ANN202  # whatever grpcio returns
    method = getattr(err, name, None)
    return method() if callable(method) else None


def _request(model_id: str, prompt: str, batch_size: int) -> inference_pb2.InferenceRequest:
    return inference_pb2.InferenceRequest(model_id=model_id, prompt=prompt, batch_size=batch_size)


def model_list_from_proto(res: inference_pb2.ListModelsResponse) -> ModelList:
    return ModelList(
        models=tuple(
            Model(
                id=m.id,
                description=m.description,
                width=m.width,
                height=m.height,
                typical_image_bytes=m.typical_image_bytes,
            )
            for m in res.models
        ),
        max_batch_size=res.max_batch_size,
        chunk_bytes=res.chunk_bytes,
        renderer=res.renderer,
    )


class GrpcTransport:
    """One grpcio channel (HTTP/2, h2c or TLS) for a blocking client."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        options = channel_options(settings)
        if settings.tls:
            self._channel = grpc.secure_channel(settings.authority, _credentials(settings), options)
        else:
            self._channel = grpc.insecure_channel(settings.authority, options)
        self._stub = inference_pb2_grpc.InferenceServiceStub(self._channel)

    def stream_images(
        self, model_id: str, prompt: str, batch_size: int, timeout: float | None
    ) -> Iterator[Image]:
        call = self._stub.StreamInference(
            _request(model_id, prompt, batch_size),
            timeout=timeout,
            metadata=self._settings.headers(),
        )
        assembler = ChunkAssembler(model_id, batch_size)
        try:
            try:
                for chunk in call:
                    image = assembler.add(chunk)
                    if image is not None:
                        yield image
            except grpc.RpcError as err:
                raise _error_from_rpc(err) from err
            assembler.finish()
        finally:
            # Closing the iterator early (break, an exception, close()) lands
            # here: cancel tells the server to stop drawing. A no-op once the
            # call has ended.
            call.cancel()

    def list_models(self, timeout: float | None) -> ModelList:
        try:
            res = self._stub.ListModels(
                inference_pb2.ListModelsRequest(), timeout=timeout, metadata=self._settings.headers()
            )
        except grpc.RpcError as err:
            raise _error_from_rpc(err) from err
        return model_list_from_proto(res)

    def close(self) -> None:
        self._channel.close()


class AsyncGrpcTransport:
    """One grpc.aio channel for an asyncio client, opened on the event loop of its first call."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._channel: grpc.aio.Channel | None = None
        self._stub: inference_pb2_grpc.InferenceServiceStub | None = None

    def _get_stub(self) -> inference_pb2_grpc.InferenceServiceStub:
        if self._stub is None:
            settings = self._settings
            options = channel_options(settings)
            if settings.tls:
                self._channel = grpc.aio.secure_channel(settings.authority, _credentials(settings), options)
            else:
                self._channel = grpc.aio.insecure_channel(settings.authority, options)
            self._stub = inference_pb2_grpc.InferenceServiceStub(self._channel)
        return self._stub

    async def stream_images(
        self, model_id: str, prompt: str, batch_size: int, timeout: float | None
    ) -> AsyncIterator[Image]:
        call = self._get_stub().StreamInference(
            _request(model_id, prompt, batch_size),
            timeout=timeout,
            metadata=self._settings.headers(),
        )
        assembler = ChunkAssembler(model_id, batch_size)
        try:
            try:
                async for chunk in call:
                    image = assembler.add(chunk)
                    if image is not None:
                        yield image
            except grpc.RpcError as err:
                raise _error_from_rpc(err) from err
            assembler.finish()
        finally:
            # See GrpcTransport.stream_images. cancel() is synchronous, so it
            # also runs when the generator is finalised without aclose().
            call.cancel()

    async def list_models(self, timeout: float | None) -> ModelList:
        try:
            res = await self._get_stub().ListModels(
                inference_pb2.ListModelsRequest(), timeout=timeout, metadata=self._settings.headers()
            )
        except grpc.RpcError as err:
            raise _error_from_rpc(err) from err
        return model_list_from_proto(res)

    async def aclose(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
            self._stub = None
