"""The REST transport (httpx, HTTP/1.1), blocking and asyncio.

``POST /infer/stream`` with the request as JSON answers the PNG itself for a
batch of one and ``multipart/mixed`` otherwise; ``GET /v1/models`` answers
``ListModelsResponse`` as JSON. Errors come as an HTTP status with the body
``{"code": "...", "message": "..."}``.

REST has no deadline header, so the client keeps the deadline itself: the
call fails with ``deadline_exceeded`` at the first read after ``timeout``
seconds from its start, and no single read waits longer than ``timeout``
(httpx's read timeout). Failing closes the connection, and the server stops
drawing. (asyncio.timeout around httpx reads would be tighter, but Debian
12's anyio 3.6 lets its cancellation escape as CancelledError.)
"""

from __future__ import annotations

import json
import ssl
import time
from typing import AsyncIterator, Iterator, Union

import httpx
from google.protobuf import json_format

from . import inference_pb2
from ._assembly import MultipartImageParser, SingleImageParser
from ._exceptions import (
    DeadlineExceededError,
    ModelMoraError,
    UnavailableError,
    code_from_http_status,
    error_from_code,
)
from ._grpc import model_list_from_proto
from ._settings import DEFAULT_IDLE_TIMEOUT, Settings
from ._types import Image, ModelList

__all__ = ["RestTransport", "AsyncRestTransport"]

_Parser = Union[SingleImageParser, MultipartImageParser]


def _verify(settings: Settings) -> Union[bool, ssl.SSLContext]:
    if settings.ca_pem is None:
        return True
    return ssl.create_default_context(cadata=settings.ca_pem.decode("ascii"))


def _client_options(settings: Settings) -> dict:
    headers = {"user-agent": settings.user_agent, **dict(settings.headers())}
    return {
        "base_url": settings.base_url,
        "headers": headers,
        "verify": _verify(settings),
        # Proxies from the environment would change what is measured and
        # where keys go; a ModelMora server is reached directly.
        "trust_env": False,
    }


def _timeout(settings: Settings, timeout: float | None) -> httpx.Timeout:
    if timeout is None:
        return httpx.Timeout(
            DEFAULT_IDLE_TIMEOUT, connect=settings.connect_timeout, pool=settings.connect_timeout
        )
    return httpx.Timeout(timeout, connect=min(timeout, settings.connect_timeout))


def _request_json(model_id: str, prompt: str, batch_size: int) -> dict:
    return {"model_id": model_id, "prompt": prompt, "batch_size": batch_size}


def _error_from_response(response: httpx.Response, body: bytes) -> ModelMoraError:
    """The error a non-200 answer stands for: the JSON body's code, else the status's."""
    code = code_from_http_status(response.status_code)
    message = f"HTTP {response.status_code}"
    try:
        parsed = json.loads(body)
        if isinstance(parsed, dict):
            code = str(parsed.get("code", code))
            message = str(parsed.get("message", message))
    except ValueError:
        if body:
            message = f"HTTP {response.status_code}: {body[:200].decode('utf-8', 'replace')}"
    retry_after = None
    if "retry-after" in response.headers:
        try:
            retry_after = float(response.headers["retry-after"])
        except ValueError:
            pass
    return error_from_code(code, message, retry_after=retry_after, http_status=response.status_code)


def _error_from_httpx(err: httpx.HTTPError, timeout: float | None) -> ModelMoraError:
    if isinstance(err, httpx.TimeoutException):
        if timeout is not None:
            return DeadlineExceededError(f"deadline of {timeout} s exceeded ({type(err).__name__})")
        return UnavailableError(f"the server sent nothing for {DEFAULT_IDLE_TIMEOUT:.0f} s ({type(err).__name__})")
    return UnavailableError(f"{type(err).__name__}: {err}" if str(err) else type(err).__name__)


def _deadline_passed(timeout: float) -> DeadlineExceededError:
    return DeadlineExceededError(f"deadline of {timeout} s exceeded")


def _parser_for(response: httpx.Response, model_id: str, batch_size: int) -> _Parser:
    request_id = response.headers.get("x-request-id", "")
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        boundary = None
        for param in content_type.split(";")[1:]:
            name, _, value = param.strip().partition("=")
            if name.lower() == "boundary":
                boundary = value.strip('"')
        if not boundary:
            raise error_from_code("unknown", f"multipart answer without a boundary: {content_type}")
        return MultipartImageParser(boundary, model_id, request_id, batch_size)
    if content_type.startswith("image/"):
        return SingleImageParser(response.headers, model_id, request_id)
    raise error_from_code("unknown", f"unexpected content-type {content_type!r} from /infer/stream")


def _model_list(body: bytes) -> ModelList:
    message = json_format.Parse(body, inference_pb2.ListModelsResponse(), ignore_unknown_fields=True)
    return model_list_from_proto(message)


class RestTransport:
    """An httpx.Client for a blocking client."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._http = httpx.Client(**_client_options(settings))

    def stream_images(
        self, model_id: str, prompt: str, batch_size: int, timeout: float | None
    ) -> Iterator[Image]:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            with self._http.stream(
                "POST",
                "/infer/stream",
                json=_request_json(model_id, prompt, batch_size),
                timeout=_timeout(self._settings, timeout),
            ) as response:
                if response.status_code != 200:
                    raise _error_from_response(response, response.read())
                parser = _parser_for(response, model_id, batch_size)
                for data in response.iter_bytes():
                    if deadline is not None and time.monotonic() > deadline:
                        raise _deadline_passed(timeout)  # type: ignore[arg-type]
                    yield from parser.feed(data)
                parser.finish()
        except httpx.HTTPError as err:
            raise _error_from_httpx(err, timeout) from err
        # Leaving the with block early (break, an exception, close()) closes
        # the response before its end, so httpx drops the connection and the
        # server stops drawing.

    def list_models(self, timeout: float | None) -> ModelList:
        try:
            response = self._http.get("/v1/models", timeout=_timeout(self._settings, timeout))
        except httpx.HTTPError as err:
            raise _error_from_httpx(err, timeout) from err
        if response.status_code != 200:
            raise _error_from_response(response, response.content)
        return _model_list(response.content)

    def close(self) -> None:
        self._http.close()


class AsyncRestTransport:
    """An httpx.AsyncClient for an asyncio client."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._http = httpx.AsyncClient(**_client_options(settings))

    async def stream_images(
        self, model_id: str, prompt: str, batch_size: int, timeout: float | None
    ) -> AsyncIterator[Image]:
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            async with self._http.stream(
                "POST",
                "/infer/stream",
                json=_request_json(model_id, prompt, batch_size),
                timeout=_timeout(self._settings, timeout),
            ) as response:
                if response.status_code != 200:
                    raise _error_from_response(response, await response.aread())
                parser = _parser_for(response, model_id, batch_size)
                async for data in response.aiter_bytes():
                    if deadline is not None and time.monotonic() > deadline:
                        raise _deadline_passed(timeout)  # type: ignore[arg-type]
                    for image in parser.feed(data):
                        yield image
                parser.finish()
        except httpx.HTTPError as err:
            raise _error_from_httpx(err, timeout) from err

    async def list_models(self, timeout: float | None) -> ModelList:
        try:
            response = await self._http.get("/v1/models", timeout=_timeout(self._settings, timeout))
        except httpx.HTTPError as err:
            raise _error_from_httpx(err, timeout) from err
        if response.status_code != 200:
            raise _error_from_response(response, response.content)
        return _model_list(response.content)

    async def aclose(self) -> None:
        await self._http.aclose()

