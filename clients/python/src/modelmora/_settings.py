"""What a client is configured with, resolved once from the constructor's arguments."""

from __future__ import annotations

import dataclasses
import os
import urllib.parse
from typing import Union

from ._types import Transport
from ._version import __version__

__all__ = ["Settings", "TlsInput", "resolve_settings", "DEFAULT_TARGET"]

DEFAULT_TARGET = "localhost:8080"
"""The server's default address (``npm run serve``)."""

DEFAULT_CONNECT_TIMEOUT = 10.0
"""Seconds a client waits to connect, when the call has no shorter deadline."""

DEFAULT_IDLE_TIMEOUT = 60.0
"""Seconds a REST read may wait for bytes when the call has no deadline."""

TlsInput = Union[bool, str, bytes, "os.PathLike[str]", None]
"""``tls=``: None (from the target's scheme), False, True, a CA file path, or CA PEM bytes."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """A client's resolved configuration.

    Attributes:
        authority: ``host:port``, the gRPC target.
        base_url: ``http://host:port`` or ``https://host:port``, for REST.
        tls: whether to use TLS.
        ca_pem: PEM certificates to trust instead of the system's, or None.
        api_key: sent as ``x-api-key`` on every call, or None.
        transport: ``"grpc"`` or ``"rest"``.
        timeout: the default deadline of a call, seconds; None for none.
        connect_timeout: how long to wait to connect, seconds.
        user_agent: what the client calls itself.
    """

    authority: str
    base_url: str
    tls: bool
    ca_pem: bytes | None
    api_key: str | None
    transport: Transport
    timeout: float | None
    connect_timeout: float
    user_agent: str = f"modelmora-python/{__version__}"

    def headers(self) -> list[tuple[str, str]]:
        """The headers (gRPC metadata) every call sends."""
        return [("x-api-key", self.api_key)] if self.api_key is not None else []


def resolve_settings(
    target: str,
    *,
    api_key: str | None,
    tls: TlsInput,
    transport: str,
    timeout: float | None,
    connect_timeout: float,
) -> Settings:
    """Checks and normalises a client's arguments; raises ValueError naming the bad one."""
    if transport not in ("grpc", "rest"):
        raise ValueError(f'transport must be "grpc" or "rest", got {transport!r}')
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds or None, got {timeout!r}")
    if not connect_timeout > 0:
        raise ValueError(f"connect_timeout must be a positive number of seconds, got {connect_timeout!r}")

    scheme, host, port = _split_target(target)
    if tls is None:
        use_tls = scheme == "https"
        ca_pem = None
    elif tls is False:
        if scheme == "https":
            raise ValueError(f"tls=False contradicts the https:// target {target!r}")
        use_tls, ca_pem = False, None
    else:
        if scheme == "http":
            raise ValueError(f"tls={tls!r} contradicts the http:// target {target!r}")
        use_tls = True
        ca_pem = _read_ca(tls)

    if api_key is None:
        api_key = os.environ.get("MODELMORA_API_KEY") or None
    if api_key is not None and (not api_key or not all(33 <= ord(c) <= 126 for c in api_key)):
        raise ValueError("api_key must be visible ASCII characters without spaces")

    authority = f"{host}:{port}"
    return Settings(
        authority=authority,
        base_url=f"{'https' if use_tls else 'http'}://{authority}",
        tls=use_tls,
        ca_pem=ca_pem,
        api_key=api_key,
        transport=transport,  # type: ignore[arg-type]  # checked above
        timeout=timeout,
        connect_timeout=connect_timeout,
    )


def _split_target(target: str) -> tuple[str | None, str, int]:
    """``host:port``, ``[v6]:port``, ``http://host:port`` or ``https://host:port``."""
    if not isinstance(target, str) or not target:
        raise ValueError(f'target must be "host:port" or a URL, got {target!r}')
    scheme: str | None = None
    rest = target
    if "://" in target:
        scheme, rest = target.split("://", 1)
        scheme = scheme.lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"target must use http:// or https://, got {target!r}")
        rest = rest.rstrip("/")
        if "/" in rest:
            raise ValueError(f"target must not have a path, got {target!r}")
    parts = urllib.parse.urlsplit(f"//{rest}")
    try:
        port = parts.port
    except ValueError as err:
        raise ValueError(f"target has a bad port: {target!r}") from err
    host = parts.hostname
    if not host:
        raise ValueError(f'target must be "host:port" or a URL, got {target!r}')
    if port is None:
        port = {"http": 80, "https": 443}.get(scheme or "", 8080)
    if ":" in host:
        host = f"[{host}]"
    return scheme, host, port


def _read_ca(tls: bool | str | bytes | os.PathLike[str]) -> bytes | None:
    if tls is True:
        return None
    if isinstance(tls, bytes):
        pem = tls
    elif isinstance(tls, (str, os.PathLike)):
        with open(tls, "rb") as file:
            pem = file.read()
    else:
        raise ValueError(f"tls must be None, True, False, a CA file path or CA PEM bytes, got {tls!r}")
    if b"-----BEGIN CERTIFICATE-----" not in pem:
        raise ValueError("tls: the CA holds no PEM certificate (-----BEGIN CERTIFICATE-----)")
    return pem
