"""Every error code the server gives an SDK call, as the same exception over gRPC and REST.

invalid_argument, not_found, unauthenticated, permission_denied,
resource_exhausted, deadline_exceeded and unavailable come from real
servers here. data_loss is the client's own verdict (test_assembly.py).
The server's other codes need requests the SDK cannot make (unimplemented:
an unknown path; internal: a ListModels body that is not protobuf).
"""

from __future__ import annotations

import signal
import socket
import uuid

import pytest
from _support import KEYS, async_wait_for, wait_for

import modelmora
from modelmora import AsyncModelMoraClient, ModelMoraClient

REST_STATUS = {
    "invalid_argument": 400,
    "not_found": 404,
    "unauthenticated": 401,
    "permission_denied": 403,
    "resource_exhausted": 429,
}


def check(err: modelmora.ModelMoraError, cls: type, transport: str, message: str) -> None:
    assert type(err) is cls
    assert isinstance(err, modelmora.ModelMoraError)
    assert err.code == cls.code
    assert message in err.message
    assert str(err) == f"{err.code}: {err.message}"
    assert err.http_status == (REST_STATUS.get(err.code) if transport == "rest" else None)


BAD_REQUESTS = [
    pytest.param("thumb-64", "a red fox", 0, "batch_size must be from 1 to 32, got 0", id="batch_size-0"),
    pytest.param("thumb-64", "a red fox", 33, "batch_size must be from 1 to 32, got 33", id="batch_size-33"),
    pytest.param("thumb-64", "x" * 4097, 1, "prompt must be at most 4096 bytes of UTF-8, got 4097", id="prompt"),
    pytest.param("", "a red fox", 1, "model_id is required", id="no-model_id"),
]


@pytest.mark.parametrize(("model_id", "prompt", "batch_size", "message"), BAD_REQUESTS)
def test_invalid_argument(server, transport, model_id, prompt, batch_size, message):
    with ModelMoraClient(server.target, transport=transport) as client:
        with pytest.raises(modelmora.InvalidArgumentError) as caught:
            list(client.stream_images(model_id, prompt, batch_size=batch_size))
    check(caught.value, modelmora.InvalidArgumentError, transport, message)


def test_not_found(server, transport):
    with ModelMoraClient(server.target, transport=transport) as client:
        with pytest.raises(modelmora.NotFoundError) as caught:
            next(client.stream_images("no-such-model", "a red fox"))
        # The server goes on serving.
        assert len(client.list_models()) > 0
    check(caught.value, modelmora.NotFoundError, transport, 'model_id "no-such-model" is not a model')


async def test_async_errors(server, transport):
    async with AsyncModelMoraClient(server.target, transport=transport) as client:
        with pytest.raises(modelmora.NotFoundError) as caught:
            async for _ in client.stream_images("no-such-model", "a red fox"):
                pass
        check(caught.value, modelmora.NotFoundError, transport, "is not a model")
        with pytest.raises(modelmora.InvalidArgumentError) as caught:
            async for _ in client.stream_images("thumb-64", "a red fox", batch_size=0):
                pass
        check(caught.value, modelmora.InvalidArgumentError, transport, "batch_size must be from 1 to 32")


def test_deadline_exceeded(server, transport):
    # 32 images of 3 MB each that nobody has asked for yet: far more than
    # 0.3 s of drawing and sending, whatever the machine.
    prompt = f"deadline {uuid.uuid4()}"
    with ModelMoraClient(server.target, transport=transport, timeout=0.3) as client:
        with pytest.raises(modelmora.DeadlineExceededError) as caught:
            list(client.stream_images("noise-1000", prompt, batch_size=32))
        assert caught.value.code == "deadline_exceeded"
        # The client's default deadline applies to every call; a call's own overrides it.
        assert len(client.list_models(timeout=30)) > 0
    # The server stops the stream when the deadline passes.
    wait_for(lambda: server.metric("modelmora_active_streams") == 0, "no stream in flight")


async def test_async_deadline_exceeded(server, transport):
    prompt = f"deadline {uuid.uuid4()}"
    async with AsyncModelMoraClient(server.target, transport=transport) as client:
        with pytest.raises(modelmora.DeadlineExceededError):
            async for _ in client.stream_images("noise-1000", prompt, batch_size=32, timeout=0.3):
                pass
    await async_wait_for(lambda: server.metric("modelmora_active_streams") == 0, "no stream in flight")


def test_unauthenticated(secure_server, transport, monkeypatch):
    monkeypatch.delenv("MODELMORA_API_KEY", raising=False)
    with ModelMoraClient(secure_server.target, tls=secure_server.ca_file, transport=transport) as client:
        with pytest.raises(modelmora.UnauthenticatedError) as caught:
            client.list_models()
        check(caught.value, modelmora.UnauthenticatedError, transport, "missing credentials")
        with pytest.raises(modelmora.UnauthenticatedError):
            list(client.stream_images("thumb-64", "a red fox"))
    with ModelMoraClient(
        secure_server.target, tls=secure_server.ca_file, transport=transport, api_key="mm_wrong_key"
    ) as client:
        with pytest.raises(modelmora.UnauthenticatedError) as caught:
            list(client.stream_images("thumb-64", "a red fox"))
        check(caught.value, modelmora.UnauthenticatedError, transport, "unknown API key")
        # The message never holds the key.
        assert "mm_wrong_key" not in str(caught.value)


def test_permission_denied(secure_server, transport):
    with ModelMoraClient(
        secure_server.target, tls=secure_server.ca_file, transport=transport, api_key=KEYS["monitor"]
    ) as client:
        with pytest.raises(modelmora.PermissionDeniedError) as caught:
            list(client.stream_images("thumb-64", "a red fox"))
        check(caught.value, modelmora.PermissionDeniedError, transport, "key 'monitor' lacks scope 'inference'")
        with pytest.raises(modelmora.PermissionDeniedError) as caught:
            client.list_models()
        check(caught.value, modelmora.PermissionDeniedError, transport, "lacks scope 'models'")


def test_resource_exhausted(secure_server, transport):
    # Key "solo" may run one stream at a time: hold one open, ask for another.
    with ModelMoraClient(
        secure_server.target, tls=secure_server.ca_file, transport=transport, api_key=KEYS["solo"]
    ) as client:
        with client.stream_images("noise-1000", f"held {uuid.uuid4()}", batch_size=32) as held:
            first = next(held)
            assert first.index == 0
            with pytest.raises(modelmora.ResourceExhaustedError) as caught:
                list(client.stream_images("thumb-64", "a red fox"))
            check(
                caught.value,
                modelmora.ResourceExhaustedError,
                transport,
                "concurrent stream limit of 1 for key 'solo' reached",
            )
            assert caught.value.retry_after is not None and caught.value.retry_after >= 1

        # Closing the held stream frees the key's slot, once the server has
        # wound the stream up (it finishes the image it was drawing).
        def slot_free() -> bool:
            try:
                return len(list(client.stream_images("thumb-64", "a red fox", batch_size=2))) == 2
            except modelmora.ResourceExhaustedError:
                return False

        wait_for(slot_free, "the key's stream slot to be free again")


def free_port() -> int:
    """A port nothing listens on: bound once by us, then released."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unavailable_when_nothing_listens(transport):
    with ModelMoraClient(f"127.0.0.1:{free_port()}", transport=transport, timeout=20) as client:
        with pytest.raises(modelmora.UnavailableError) as caught:
            client.list_models()
        assert caught.value.code == "unavailable"
        with pytest.raises(modelmora.UnavailableError):
            list(client.stream_images("thumb-64", "a red fox"))


def test_unavailable_when_the_server_shuts_down_midstream(start_server):
    # A server given 0.1 s of grace cuts off the streams still running when
    # it stops; gRPC says unavailable in its status, REST by cutting the
    # body, which the client reports as unavailable too.
    doomed = start_server("--grace-ms", "100")
    prompt = f"shutdown {uuid.uuid4()}"
    with ModelMoraClient(doomed.target) as grpc_client, ModelMoraClient(doomed.target, transport="rest") as rest_client:
        streams = {
            "grpc": grpc_client.stream_images("noise-1000", prompt, batch_size=32),
            "rest": rest_client.stream_images("noise-1000", prompt, batch_size=32),
        }
        for stream in streams.values():
            assert next(stream).index == 0
        doomed.signal(signal.SIGTERM)
        assert doomed.wait(60) == 0
        for transport, stream in streams.items():
            with pytest.raises(modelmora.UnavailableError):
                list(stream)
