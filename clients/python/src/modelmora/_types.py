"""What calls return: whole images and model descriptions."""

from __future__ import annotations

import dataclasses
from typing import Iterator, Literal

__all__ = ["Image", "Model", "ModelList", "Transport"]

Transport = Literal["grpc", "rest"]
"""How a client talks to the server: ``"grpc"`` (HTTP/2, the default) or ``"rest"`` (HTTP/1.1)."""


@dataclasses.dataclass(frozen=True)
class Image:
    """One generated image, whole and checked.

    Attributes:
        index: position of the image in the batch, from 0.
        data: the whole PNG file. It is the one buffer the image was
            reassembled in (a ``bytearray``, allocated once at the image's
            full size), usable wherever bytes are: ``open(...).write()``,
            ``hashlib``, ``io.BytesIO``. ``bytes(image.data)`` copies it.
        sha256: hex SHA-256 of ``data``, as the server announced it; the
            client has checked that ``data`` hashes to it.
        width: image width in pixels.
        height: image height in pixels.
        model_id: the model that drew it.
        request_id: the server's id for the call (the same for every image of
            one stream); empty over REST for a server that sends none.
        content_type: ``"image/png"``.
    """

    index: int
    data: bytearray = dataclasses.field(repr=False)
    sha256: str
    width: int
    height: int
    model_id: str
    request_id: str = ""
    content_type: str = "image/png"

    @property
    def size(self) -> int:
        """Size of the PNG file in bytes."""
        return len(self.data)


@dataclasses.dataclass(frozen=True)
class Model:
    """One model the server runs.

    Attributes:
        id: the name to pass as ``model_id``, for example ``"noise-1000"``.
        description: what it draws, in a sentence.
        width: image width in pixels.
        height: image height in pixels.
        typical_image_bytes: typical size of one PNG image, in bytes.
    """

    id: str
    description: str
    width: int
    height: int
    typical_image_bytes: int


@dataclasses.dataclass(frozen=True)
class ModelList:
    """What ``list_models()`` answers: the models and the server's limits.

    Iterating over it gives the models.

    Attributes:
        models: every model, in the server's order.
        max_batch_size: the largest ``batch_size`` the server accepts.
        chunk_bytes: size in bytes of the chunks images are streamed in.
        renderer: the Canvas implementation that draws the images.
    """

    models: tuple[Model, ...]
    max_batch_size: int
    chunk_bytes: int
    renderer: str

    def __iter__(self) -> Iterator[Model]:
        return iter(self.models)

    def __len__(self) -> int:
        return len(self.models)

    def get(self, model_id: str) -> Model | None:
        """The model named model_id, or None."""
        for model in self.models:
            if model.id == model_id:
                return model
        return None
