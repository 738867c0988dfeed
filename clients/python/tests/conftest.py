"""Fixtures: real ModelMora servers (see _support.Server), stopped after the session."""

from __future__ import annotations

import json
import subprocess
from typing import Callable, Iterator

import pytest
from _support import KEYS, Server

@pytest.fixture(scope="session")
def start_server() -> Iterator[Callable[..., Server]]:
    """Starts servers with the given flags; every one is stopped at the end of the session."""
    servers: list[Server] = []

    def start(*args: str, env: dict[str, str] | None = None, scheme: str = "http") -> Server:
        server = Server(list(args), env, scheme)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="session")
def server(start_server: Callable[..., Server]) -> Server:
    """A server with the default settings: no auth, no limits, cleartext."""
    return start_server()


@pytest.fixture(scope="session")
def secure_server(start_server: Callable[..., Server], tmp_path_factory: pytest.TempPathFactory) -> Server:
    """HTTPS on one port (h2 and http/1.1 by ALPN) with API keys, as in production.

    The certificate is self-signed for localhost and 127.0.0.1, made by
    openssl for this run; clients trust it with ``tls=server.ca_file``.
    Keys (``KEYS``): "ci" (scopes inference and models), "monitor"
    (monitoring only), "solo" (inference and models, one stream at a time).
    """
    folder = tmp_path_factory.mktemp("secure")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
            "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    keys = folder / "keys.json"
    keys.write_text(
        json.dumps(
            [
                {"id": "ci", "key": KEYS["ci"], "scopes": ["inference", "models"]},
                {"id": "monitor", "key": KEYS["monitor"], "scopes": ["monitoring"]},
                {"id": "solo", "key": KEYS["solo"], "limits": {"max_concurrent_streams": 1}},
            ]
        )
    )
    server = start_server(
        "--tls-cert", str(cert), "--tls-key", str(key), "--api-keys-file", str(keys), scheme="https"
    )  # fmt: skip
    server.ca_file = str(cert)
    return server


@pytest.fixture(params=["grpc", "rest"])
def transport(request: pytest.FixtureRequest) -> str:
    """Every test that takes it runs once per transport."""
    return request.param
