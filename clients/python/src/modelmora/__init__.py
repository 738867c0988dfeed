"""ModelMora's Python SDK: stream generated images from a ModelMora server.

::

    from modelmora import ModelMoraClient

    with ModelMoraClient("localhost:8080") as client:
        for image in client.stream_images("noise-1000", "a red fox", batch_size=10):
            with open(f"fox-{image.index}.png", "wb") as out:
                out.write(image.data)

:class:`ModelMoraClient` blocks; :class:`AsyncModelMoraClient` is its asyncio
twin. Both speak gRPC (grpcio) or REST (httpx). Every failure of a call is a
:class:`ModelMoraError`. The generated protobuf and gRPC modules are
``modelmora.inference_pb2`` and ``modelmora.inference_pb2_grpc``.
"""

from ._async_client import AsyncImageStream, AsyncModelMoraClient
from ._client import ImageStream, ModelMoraClient
from ._exceptions import (
    AbortedError,
    AlreadyExistsError,
    CanceledError,
    DataLossError,
    DeadlineExceededError,
    FailedPreconditionError,
    InternalError,
    InvalidArgumentError,
    ModelMoraError,
    NotFoundError,
    OutOfRangeError,
    PermissionDeniedError,
    ResourceExhaustedError,
    UnauthenticatedError,
    UnavailableError,
    UnimplementedError,
    UnknownError,
)
from ._types import Image, Model, ModelList, Transport
from ._version import __version__

__all__ = [
    "__version__",
    "ModelMoraClient",
    "AsyncModelMoraClient",
    "ImageStream",
    "AsyncImageStream",
    "Image",
    "Model",
    "ModelList",
    "Transport",
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
]
