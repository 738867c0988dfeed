"""Every call, blocking and asyncio, over gRPC and REST, against a real server."""

from __future__ import annotations

import hashlib
import struct
import zlib

import pytest

import modelmora
from _support import wait_for
from modelmora import AsyncModelMoraClient, Image, ModelMoraClient

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes | bytearray) -> tuple[int, int]:
    """Width and height from a PNG file's IHDR, after checking its signature and CRC."""
    assert bytes(data[:8]) == PNG_SIGNATURE, "not a PNG file"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR"
    body = bytes(data[16 : 16 + length])
    (crc,) = struct.unpack(">I", data[16 + length : 20 + length])
    assert zlib.crc32(kind + body) == crc, "IHDR CRC"
    assert bytes(data[-12:]) == b"\x00\x00\x00\x00IEND\xaeB`\x82", "no IEND: truncated"
    return struct.unpack(">II", body[:8])


def check_images(images: list[Image], count: int, size: tuple[int, int], model_id: str) -> None:
    assert [image.index for image in images] == list(range(count))
    assert len({image.request_id for image in images}) == 1
    for image in images:
        assert isinstance(image.data, bytearray)
        assert hashlib.sha256(image.data).hexdigest() == image.sha256
        assert png_size(image.data) == size == (image.width, image.height)
        assert image.model_id == model_id
        assert image.content_type == "image/png"
        assert image.size == len(image.data)


def test_stream_images_yields_whole_checked_images(server, transport):
    with ModelMoraClient(server.target, transport=transport) as client:
        images = list(client.stream_images("thumb-64", "a red fox", batch_size=3))
    check_images(images, 3, (64, 64), "thumb-64")
    # Three different images, and the request id the server logged.
    assert len({image.sha256 for image in images}) == 3
    # The server logs a call when it has finished it, which may be just after the client has.
    wait_for(lambda: server.call_with_request_id(images[0].request_id), "the call's log line")
    logged = server.call_with_request_id(images[0].request_id)
    assert logged["code"] == "ok"
    assert logged["protocol"] == transport


def test_a_batch_of_one(server, transport):
    # REST answers a batch of one with the PNG itself rather than multipart.
    with ModelMoraClient(server.target, transport=transport) as client:
        images = list(client.stream_images("scene-1024", "a red fox", batch_size=1))
    check_images(images, 1, (1024, 1024), "scene-1024")


def test_images_of_several_chunks(server, transport):
    # noise-1000: about 3 MB per PNG, 4 chunks of at most 1,000,000 bytes.
    with ModelMoraClient(server.target, transport=transport) as client:
        images = list(client.stream_images("noise-1000", "several chunks", batch_size=2))
    check_images(images, 2, (1000, 1000), "noise-1000")
    assert all(len(image.data) > 3_000_000 for image in images)


def test_grpc_and_rest_give_the_same_bytes(server):
    digests = {}
    for transport in ("grpc", "rest"):
        with ModelMoraClient(server.target, transport=transport) as client:
            digests[transport] = [
                image.sha256 for image in client.stream_images("noise-1000", "same bytes", batch_size=2)
            ]
    assert digests["grpc"] == digests["rest"]


def test_list_models(server, transport):
    with ModelMoraClient(server.target, transport=transport) as client:
        models = client.list_models()
    assert models.max_batch_size == 32
    assert models.chunk_bytes == 1_000_000
    assert models.renderer in ("canvas", "@napi-rs/canvas")
    ids = [model.id for model in models]
    assert {"noise-1000", "test-model", "thumb-64", "scene-1024"} <= set(ids)
    noise = models.get("noise-1000")
    assert noise is not None
    assert (noise.width, noise.height) == (1000, 1000)
    assert noise.typical_image_bytes > 3_000_000
    assert noise.description
    assert models.get("nope") is None


def test_list_models_is_the_same_over_both_transports(server):
    answers = []
    for transport in ("grpc", "rest"):
        with ModelMoraClient(server.target, transport=transport) as client:
            answers.append(client.list_models())
    assert answers[0] == answers[1]


async def test_async_stream_images_and_list_models(server, transport):
    async with AsyncModelMoraClient(server.target, transport=transport) as client:
        models = await client.list_models()
        images = [image async for image in client.stream_images("noise-1000", "async", batch_size=2)]
        single = [image async for image in client.stream_images("thumb-64", "async", batch_size=1)]
    assert models.get("noise-1000") is not None
    check_images(images, 2, (1000, 1000), "noise-1000")
    check_images(single, 1, (64, 64), "thumb-64")
    with ModelMoraClient(server.target, transport=transport) as client:
        blocking = [image.sha256 for image in client.stream_images("noise-1000", "async", batch_size=2)]
    assert [image.sha256 for image in images] == blocking


def test_url_targets_and_defaults(server):
    with ModelMoraClient(f"http://127.0.0.1:{server.port}", transport="rest") as client:
        assert client.base_url == f"http://127.0.0.1:{server.port}"
        assert client.transport == "rest"
        assert len(client.list_models()) > 0
    with ModelMoraClient(f"http://127.0.0.1:{server.port}/") as client:
        assert client.transport == "grpc"
        assert len(client.list_models()) > 0


def test_the_client_closes_with_its_block(server, transport):
    with ModelMoraClient(server.target, transport=transport) as client:
        client.list_models()
    assert "closed" in repr(client)
    with pytest.raises(RuntimeError, match="closed"):
        client.list_models()
    with pytest.raises(RuntimeError, match="closed"):
        client.stream_images("thumb-64", "x")
    client.close()  # again: no error


def test_the_client_closes_when_the_block_raises(server, transport):
    with pytest.raises(KeyError):
        with ModelMoraClient(server.target, transport=transport) as client:
            raise KeyError("boom")
    with pytest.raises(RuntimeError, match="closed"):
        client.list_models()


async def test_the_async_client_closes_with_its_block(server, transport):
    with pytest.raises(KeyError):
        async with AsyncModelMoraClient(server.target, transport=transport) as client:
            await client.list_models()
            raise KeyError("boom")
    with pytest.raises(RuntimeError, match="closed"):
        await client.list_models()
    await client.aclose()  # again: no error


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target": ""}, "target"),
        ({"target": "ftp://localhost:1"}, "http:// or https://"),
        ({"target": "localhost:99999"}, "port"),
        ({"transport": "carrier-pigeon"}, "transport"),
        ({"timeout": 0}, "timeout"),
        ({"tls": False, "target": "https://localhost:8443"}, "contradicts"),
        ({"tls": b"not a certificate"}, "PEM"),
        ({"api_key": "has a space"}, "api_key"),
    ],
)
def test_bad_arguments_are_refused_at_once(kwargs, message):
    args = {"target": "localhost:8080", **kwargs}
    with pytest.raises(ValueError, match=message):
        ModelMoraClient(args.pop("target"), **args)


def test_every_error_is_a_model_mora_error():
    assert issubclass(modelmora.NotFoundError, modelmora.ModelMoraError)
    assert issubclass(modelmora.ModelMoraError, Exception)
    err = modelmora.ResourceExhaustedError("too many", retry_after=2.0, http_status=429)
    assert (err.code, err.message, err.retry_after, err.http_status) == ("resource_exhausted", "too many", 2.0, 429)
    assert str(err) == "resource_exhausted: too many"
