"""TLS (a certificate made with openssl for this run) and API keys, on both transports."""

from __future__ import annotations

from pathlib import Path

import pytest
from _support import KEYS, wait_for

import modelmora
from modelmora import AsyncModelMoraClient, ModelMoraClient


def test_tls_with_a_ca_file_and_a_key(secure_server, transport):
    with ModelMoraClient(
        f"localhost:{secure_server.port}", tls=secure_server.ca_file, api_key=KEYS["ci"], transport=transport
    ) as client:
        assert client.base_url == f"https://localhost:{secure_server.port}"
        assert len(client.list_models()) > 0
        images = list(client.stream_images("noise-1000", "over TLS", batch_size=2))
    assert [image.index for image in images] == [0, 1]
    # The server knew the key: its call log names the key's id.
    wait_for(lambda: secure_server.call_with_request_id(images[0].request_id), "the call's log line")
    logged = secure_server.call_with_request_id(images[0].request_id)
    assert (logged["key_id"], logged["code"], logged["protocol"]) == ("ci", "ok", transport)


def test_tls_with_ca_bytes_and_an_https_url(secure_server, transport):
    pem = Path(secure_server.ca_file).read_bytes()
    # The certificate names 127.0.0.1 too.
    with ModelMoraClient(
        f"https://127.0.0.1:{secure_server.port}", tls=pem, api_key=KEYS["ci"], transport=transport
    ) as client:
        assert [image.index for image in client.stream_images("thumb-64", "over TLS", batch_size=2)] == [0, 1]


def test_the_api_key_from_the_environment(secure_server, transport, monkeypatch):
    monkeypatch.setenv("MODELMORA_API_KEY", KEYS["ci"])
    with ModelMoraClient(f"https://localhost:{secure_server.port}", tls=secure_server.ca_file, transport=transport) as client:
        assert len(client.list_models()) > 0


async def test_async_tls_and_key(secure_server, transport):
    async with AsyncModelMoraClient(
        f"https://localhost:{secure_server.port}", tls=secure_server.ca_file, api_key=KEYS["ci"], transport=transport
    ) as client:
        assert len(await client.list_models()) > 0
        assert [image.index async for image in client.stream_images("thumb-64", "tls", batch_size=2)] == [0, 1]


def test_tls_refuses_a_certificate_it_does_not_trust(secure_server, transport):
    # tls=True trusts the system's authorities, which never signed this self-signed certificate.
    with ModelMoraClient(
        secure_server.target, tls=True, api_key=KEYS["ci"], transport=transport, timeout=20
    ) as client:
        with pytest.raises(modelmora.UnavailableError, match="(?i)certificate verify failed"):
            client.list_models()


def test_cleartext_to_a_tls_port_fails_clearly(secure_server, transport):
    with ModelMoraClient(secure_server.target, api_key=KEYS["ci"], transport=transport, timeout=20) as client:
        with pytest.raises(modelmora.UnavailableError):
            client.list_models()
