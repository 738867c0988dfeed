"""Whole, verified images from what the transports receive.

gRPC sends each image as chunks whose metadata says where they go
(``chunk_offset``), how big the image is (``image_bytes``) and its SHA-256
(``image_sha256``). REST sends one ``multipart/mixed`` part per image with
``content-length`` and ``x-image-*`` headers (or, for a batch of one, the PNG
itself with those headers on the response). Either way each image is
written into one ``bytearray`` allocated at its full size when its first
bytes arrive, and checked against its SHA-256 when its last bytes do. No
per-chunk list, no join: one allocation per image.
"""

from __future__ import annotations

import hashlib
from typing import Mapping

from ._exceptions import DataLossError
from ._types import Image

__all__ = ["ImageBuffer", "ChunkAssembler", "MultipartImageParser", "SingleImageParser"]

# A part's headers are a few hundred bytes; more than this before the blank
# line means the body is not the multipart stream the server sends.
_MAX_PART_HEAD_BYTES = 16 * 1024


class ImageBuffer:
    """One image being filled: its final size is known, its bytes arrive in order."""

    __slots__ = ("index", "data", "filled", "sha256", "width", "height", "model_id", "request_id")

    def __init__(
        self,
        *,
        index: int,
        size: int,
        sha256: str,
        width: int,
        height: int,
        model_id: str,
        request_id: str,
    ) -> None:
        if size <= 0:
            raise DataLossError(f"image {index}: announced size {size} bytes")
        self.index = index
        self.data = bytearray(size)
        self.filled = 0
        self.sha256 = sha256.lower()
        self.width = width
        self.height = height
        self.model_id = model_id
        self.request_id = request_id

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def full(self) -> bool:
        return self.filled == len(self.data)

    def write_at(self, offset: int, data: bytes | memoryview) -> None:
        """Puts data at offset, which must be where the bytes so far end."""
        end = offset + len(data)
        if offset != self.filled or end > len(self.data):
            raise DataLossError(
                f"image {self.index}: a chunk of {len(data)} bytes at offset {offset}, "
                f"expected offset {self.filled} of {len(self.data)} bytes"
            )
        self.data[offset:end] = data
        self.filled = end

    def fill(self, view: memoryview) -> int:
        """Copies as much of view as the image still needs; returns how many bytes."""
        count = min(len(view), len(self.data) - self.filled)
        self.data[self.filled : self.filled + count] = view[:count]
        self.filled += count
        return count

    def finish(self) -> Image:
        """The whole image, once its SHA-256 matches; DataLossError otherwise."""
        if not self.full:
            raise DataLossError(
                f"image {self.index}: the stream ended after {self.filled} of {len(self.data)} bytes"
            )
        actual = hashlib.sha256(self.data).hexdigest()
        if actual != self.sha256:
            raise DataLossError(
                f"image {self.index}: SHA-256 of the {len(self.data)} bytes received is {actual}, "
                f"the server announced {self.sha256}"
            )
        return Image(
            index=self.index,
            data=self.data,
            sha256=actual,
            width=self.width,
            height=self.height,
            model_id=self.model_id,
            request_id=self.request_id,
        )


def _int(value: str | None, what: str) -> int:
    try:
        return int(value)  # type: ignore[arg-type]  # None raises TypeError, caught
    except (TypeError, ValueError):
        raise DataLossError(f"{what} is {value!r}, not a whole number") from None


class ChunkAssembler:
    """Rebuilds images from StreamInference chunks (``InferenceResponse`` messages).

    Feed every chunk to :meth:`add`; it returns the image a chunk completes.
    :meth:`finish` checks, once the stream has ended, that every image of
    the batch arrived whole.
    """

    def __init__(self, model_id: str, expected_images: int) -> None:
        self._model_id = model_id
        self._expected = expected_images
        self._next_index = 0
        self._current: ImageBuffer | None = None

    def add(self, chunk) -> Image | None:  # chunk: inference_pb2.InferenceResponse
        meta = chunk.metadata
        index = _int(meta.get("image_index"), "metadata image_index")
        current = self._current
        if current is None:
            if index != self._next_index:
                raise DataLossError(f"image {index} arrived where image {self._next_index} was expected")
            current = self._current = ImageBuffer(
                index=index,
                size=_int(meta.get("image_bytes"), f"image {index}: metadata image_bytes"),
                sha256=meta.get("image_sha256", ""),
                width=_int(meta.get("width"), f"image {index}: metadata width"),
                height=_int(meta.get("height"), f"image {index}: metadata height"),
                model_id=meta.get("model_id", self._model_id),
                request_id=chunk.request_id,
            )
        elif index != current.index:
            raise DataLossError(
                f"image {current.index}: image {index} began after {current.filled} "
                f"of {current.size} bytes"
            )
        current.write_at(_int(meta.get("chunk_offset"), f"image {index}: metadata chunk_offset"), chunk.data)
        if not current.full:
            return None
        self._current = None
        self._next_index += 1
        return current.finish()

    def finish(self) -> None:
        """Raises DataLossError when the stream ended before the batch did."""
        if self._current is not None:
            self._current.finish()  # raises: the image is not full
        if self._next_index != self._expected:
            raise DataLossError(
                f"the stream ended after {self._next_index} of {self._expected} images"
            )


class SingleImageParser:
    """A REST answer to a batch of one: the PNG itself, described by x-image-* headers."""

    def __init__(self, headers: Mapping[str, str], model_id: str, request_id: str) -> None:
        self._image: ImageBuffer | None = ImageBuffer(
            index=_int(headers.get("x-image-index"), "header x-image-index"),
            size=_int(headers.get("x-image-bytes"), "header x-image-bytes"),
            sha256=headers.get("x-image-sha256", ""),
            width=_int(headers.get("x-image-width"), "header x-image-width"),
            height=_int(headers.get("x-image-height"), "header x-image-height"),
            model_id=model_id,
            request_id=request_id,
        )

    def feed(self, data: bytes) -> list[Image]:
        image = self._image
        if image is None:
            if data:
                raise DataLossError(f"{len(data)} bytes after the end of the image")
            return []
        view = memoryview(data)
        if image.fill(view) != len(view):
            raise DataLossError(f"image {image.index}: more than its {image.size} bytes arrived")
        if not image.full:
            return []
        self._image = None
        return [image.finish()]

    def finish(self) -> None:
        if self._image is not None:
            self._image.finish()  # raises: the image is not full


class MultipartImageParser:
    """A REST answer to a larger batch: ``multipart/mixed``, one ``image/png`` part per image.

    Each part has ``content-length`` and ``x-image-index``,
    ``x-image-sha256``, ``x-image-width`` and ``x-image-height`` headers. The
    body of a part goes straight into its image's buffer as it arrives.
    """

    def __init__(self, boundary: str, model_id: str, request_id: str, expected_images: int) -> None:
        self._delimiter = b"--" + boundary.encode("ascii")
        self._model_id = model_id
        self._request_id = request_id
        self._expected = expected_images
        self._head = bytearray()
        self._image: ImageBuffer | None = None
        self._images = 0
        self._closed = False

    def feed(self, data: bytes) -> list[Image]:
        """Takes the next bytes of the body; returns the images they complete."""
        done: list[Image] = []
        view = memoryview(data)
        while len(view):
            image = self._image
            if image is not None:
                view = view[image.fill(view) :]
                if image.full:
                    self._image = None
                    self._images += 1
                    done.append(image.finish())
                continue
            if self._closed:
                break  # the epilogue after the close delimiter: nothing of ours
            self._head += view
            view = memoryview(self._take_head())
        return done

    def _take_head(self) -> bytes:
        """Parses a delimiter and part headers from self._head; returns the bytes after them."""
        head = self._head
        start = 2 if head.startswith(b"\r\n") else 0
        if len(head) < start + len(self._delimiter) + 2:
            return b""  # too short to tell: wait for more
        if not head.startswith(self._delimiter, start):
            raise DataLossError("the multipart body has bytes where a part boundary belongs")
        after = start + len(self._delimiter)
        if head.startswith(b"--", after):
            self._closed = True
            self._head = bytearray()
            return b""
        end = head.find(b"\r\n\r\n", after)
        if end < 0:
            if len(head) > _MAX_PART_HEAD_BYTES:
                raise DataLossError("a multipart part's headers do not end")
            return b""
        headers: dict[str, str] = {}
        for line in bytes(head[after:end]).decode("latin-1").split("\r\n"):
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        index = _int(headers.get("x-image-index"), "part header x-image-index")
        if index != self._images:
            raise DataLossError(f"image {index} arrived where image {self._images} was expected")
        self._image = ImageBuffer(
            index=index,
            size=_int(headers.get("content-length"), f"image {index}: part header content-length"),
            sha256=headers.get("x-image-sha256", ""),
            width=_int(headers.get("x-image-width"), f"image {index}: part header x-image-width"),
            height=_int(headers.get("x-image-height"), f"image {index}: part header x-image-height"),
            model_id=self._model_id,
            request_id=self._request_id,
        )
        rest = bytes(head[end + 4 :])
        self._head = bytearray()
        return rest

    def finish(self) -> None:
        """Raises DataLossError when the body ended before the batch did."""
        if self._image is not None:
            self._image.finish()  # raises: the image is not full
        if self._images != self._expected or not self._closed:
            raise DataLossError(f"the stream ended after {self._images} of {self._expected} images")
