"""One exception hierarchy for every failure of a call, whatever the transport.

Every error a call raises is a :class:`ModelMoraError`. Its ``code`` is the
status code's name in snake_case (``"not_found"``, ``"invalid_argument"``,
...), the same names the server writes in its REST and Connect error bodies
and its logs, and its ``message`` is the server's message, unchanged. Each
code also has its own subclass (``NotFoundError``, ...), so callers may
catch the one they handle::

    try:
        images = list(client.stream_images("nope", "a red fox"))
    except modelmora.NotFoundError as err:
        print(err.code, err.message)
"""

from __future__ import annotations

__all__ = [
    "ModelMoraError",
    "CanceledError",
    "UnknownError",
    "InvalidArgumentError",
    "DeadlineExceededError",
    "NotFoundError",
    "AlreadyExistsError",
    "PermissionDeniedError",
    "ResourceExhaustedError",
    "FailedPreconditionError",
    "AbortedError",
    "OutOfRangeError",
    "UnimplementedError",
    "InternalError",
    "UnavailableError",
    "DataLossError",
    "UnauthenticatedError",
    "error_from_code",
    "code_from_http_status",
]


class ModelMoraError(Exception):
    """A call failed. The base of every error this SDK raises for a call.

    Attributes:
        code: the status code's name in snake_case, for example
            ``"resource_exhausted"``; the gRPC status names in lower case.
        message: what went wrong, as the server (or this client) said it.
        retry_after: for ``resource_exhausted``, how many seconds the server
            asks the client to wait before trying again; ``None`` otherwise.
        http_status: the HTTP status of a REST answer; ``None`` for gRPC.
    """

    code: str = "unknown"

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        http_status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after = retry_after
        self.http_status = http_status

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r})"


class CanceledError(ModelMoraError):
    """The call was canceled, normally by the client."""

    code = "canceled"


class UnknownError(ModelMoraError):
    """An error the server or the transport did not classify."""

    code = "unknown"


class InvalidArgumentError(ModelMoraError):
    """The request was wrong: a missing model_id, a batch_size out of range, a prompt too long."""

    code = "invalid_argument"


class DeadlineExceededError(ModelMoraError):
    """The call's deadline (``timeout=``) passed before it finished."""

    code = "deadline_exceeded"


class NotFoundError(ModelMoraError):
    """No such model on this server (``list_models()`` names them)."""

    code = "not_found"


class AlreadyExistsError(ModelMoraError):
    code = "already_exists"


class PermissionDeniedError(ModelMoraError):
    """The API key is valid but lacks the scope the call needs."""

    code = "permission_denied"


class ResourceExhaustedError(ModelMoraError):
    """A rate limit, daily quota or stream limit; ``retry_after`` says how long to wait."""

    code = "resource_exhausted"


class FailedPreconditionError(ModelMoraError):
    code = "failed_precondition"


class AbortedError(ModelMoraError):
    code = "aborted"


class OutOfRangeError(ModelMoraError):
    code = "out_of_range"


class UnimplementedError(ModelMoraError):
    """The server does not have this method or route."""

    code = "unimplemented"


class InternalError(ModelMoraError):
    code = "internal"


class UnavailableError(ModelMoraError):
    """The server could not be reached, is shutting down, or cut the connection."""

    code = "unavailable"


class DataLossError(ModelMoraError):
    """What arrived is not what the server sent: a SHA-256 mismatch or a truncated image."""

    code = "data_loss"


class UnauthenticatedError(ModelMoraError):
    """Authentication is on and the API key is missing or unknown."""

    code = "unauthenticated"


_by_code: dict[str, type[ModelMoraError]] = {
    cls.code: cls
    for cls in (
        CanceledError,
        UnknownError,
        InvalidArgumentError,
        DeadlineExceededError,
        NotFoundError,
        AlreadyExistsError,
        PermissionDeniedError,
        ResourceExhaustedError,
        FailedPreconditionError,
        AbortedError,
        OutOfRangeError,
        UnimplementedError,
        InternalError,
        UnavailableError,
        DataLossError,
        UnauthenticatedError,
    )
}

# The Connect protocol's HTTP status for each code, which the server's REST
# routes answer with; used only when a REST error body has no code.
_code_by_http_status: dict[int, str] = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "unimplemented",
    409: "aborted",
    429: "resource_exhausted",
    499: "canceled",
    501: "unimplemented",
    503: "unavailable",
    504: "deadline_exceeded",
}


def error_from_code(
    code: str,
    message: str,
    *,
    retry_after: float | None = None,
    http_status: int | None = None,
) -> ModelMoraError:
    """The error for a code name such as ``"not_found"``; an unknown name gives UnknownError."""
    cls = _by_code.get(code.lower(), UnknownError)
    return cls(message, retry_after=retry_after, http_status=http_status)


def code_from_http_status(status: int) -> str:
    """The code an HTTP status stands for, as the Connect protocol maps them."""
    return _code_by_http_status.get(status, "unknown")
