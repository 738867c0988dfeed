"""Reassembly and verification, fed by hand: the one place without a server.

A ModelMora server never sends a wrong SHA-256, a gap or a short image, so
these cases can't come from a real one; the chunks and multipart bodies
below are built the way the server builds them, then damaged.
"""

from __future__ import annotations

import hashlib

import pytest

from modelmora import DataLossError, inference_pb2
from modelmora._assembly import ChunkAssembler, MultipartImageParser, SingleImageParser

PNG_A = bytes(range(256)) * 40  # 10,240 bytes; any bytes do
PNG_B = bytes(reversed(range(256))) * 30


def chunks_of(images: list[bytes], chunk_bytes: int = 4000) -> list[inference_pb2.InferenceResponse]:
    """StreamInference responses for images, as the server cuts them."""
    out = []
    for index, png in enumerate(images):
        total = -(-len(png) // chunk_bytes)
        for n, offset in enumerate(range(0, len(png), chunk_bytes)):
            out.append(
                inference_pb2.InferenceResponse(
                    request_id="r-1",
                    chunk_index=n,
                    total_chunks=total,
                    data=png[offset : offset + chunk_bytes],
                    metadata={
                        "image_index": str(index),
                        "image_count": str(len(images)),
                        "image_bytes": str(len(png)),
                        "image_sha256": hashlib.sha256(png).hexdigest(),
                        "chunk_offset": str(offset),
                        "width": "64",
                        "height": "32",
                        "model_id": "m",
                    },
                )
            )
    return out


def assemble(chunks, expected: int):
    assembler = ChunkAssembler("m", expected)
    images = [image for image in map(assembler.add, chunks) if image is not None]
    assembler.finish()
    return images


def test_chunks_make_whole_images_in_one_buffer_each():
    images = assemble(chunks_of([PNG_A, PNG_B]), 2)
    assert [bytes(image.data) for image in images] == [PNG_A, PNG_B]
    assert [(image.index, image.width, image.height, image.request_id) for image in images] == [
        (0, 64, 32, "r-1"),
        (1, 64, 32, "r-1"),
    ]


def test_a_wrong_sha256_raises_data_loss():
    chunks = chunks_of([PNG_A])
    chunks[1].data = b"\x00" + chunks[1].data[1:]
    with pytest.raises(DataLossError, match="image 0: SHA-256 of the 10240 bytes received is"):
        assemble(chunks, 1)


def test_a_gap_raises_data_loss():
    chunks = chunks_of([PNG_A])
    del chunks[1]
    with pytest.raises(DataLossError, match="at offset 8000, expected offset 4000"):
        assemble(chunks, 1)


def test_a_chunk_past_the_end_raises_data_loss():
    chunks = chunks_of([PNG_A])
    chunks[-1].data = chunks[-1].data + b"extra"
    with pytest.raises(DataLossError, match="expected offset"):
        assemble(chunks, 1)


def test_a_stream_that_ends_mid_image_raises_data_loss():
    with pytest.raises(DataLossError, match="image 0: the stream ended after 8000 of 10240 bytes"):
        assemble(chunks_of([PNG_A])[:2], 1)


def test_a_missing_image_raises_data_loss():
    with pytest.raises(DataLossError, match="the stream ended after 1 of 2 images"):
        assemble(chunks_of([PNG_A]), 2)


def test_an_image_out_of_order_raises_data_loss():
    chunks = chunks_of([PNG_A, PNG_B])
    with pytest.raises(DataLossError, match="image 1 arrived where image 0 was expected"):
        assemble(chunks[3:], 2)


def test_metadata_that_is_not_a_number_raises_data_loss():
    chunks = chunks_of([PNG_A])
    chunks[0].metadata["image_bytes"] = "lots"
    with pytest.raises(DataLossError, match="image_bytes is 'lots'"):
        assemble(chunks, 1)


def multipart(images: list[bytes], boundary: str = "modelmora-b") -> bytes:
    """A REST answer to a batch, as the server writes it."""
    body = b""
    for index, png in enumerate(images):
        body += (
            f"--{boundary}\r\ncontent-type: image/png\r\ncontent-length: {len(png)}\r\n"
            f"x-image-index: {index}\r\nx-image-sha256: {hashlib.sha256(png).hexdigest()}\r\n"
            "x-image-width: 64\r\nx-image-height: 32\r\n\r\n"
        ).encode() + png + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


def parse(body: bytes, expected: int, step: int):
    parser = MultipartImageParser("modelmora-b", "m", "r-2", expected)
    images = []
    for offset in range(0, len(body), step):
        images += parser.feed(body[offset : offset + step])
    parser.finish()
    return images


@pytest.mark.parametrize("step", [1, 7, 100, 4096, 1 << 20])
def test_multipart_in_pieces_of_any_size(step):
    images = parse(multipart([PNG_A, PNG_B]), 2, step)
    assert [bytes(image.data) for image in images] == [PNG_A, PNG_B]
    assert [(image.index, image.width, image.height, image.request_id) for image in images] == [
        (0, 64, 32, "r-2"),
        (1, 64, 32, "r-2"),
    ]


def test_multipart_with_a_wrong_sha256_raises_data_loss():
    body = multipart([PNG_A]).replace(PNG_A[:10], b"\xff" * 10, 1)
    with pytest.raises(DataLossError, match="SHA-256"):
        parse(body, 1, 4096)


def test_multipart_cut_short_raises_data_loss():
    body = multipart([PNG_A, PNG_B])
    with pytest.raises(DataLossError, match="image 1: the stream ended after"):
        parse(body[: len(body) - 100], 2, 4096)
    with pytest.raises(DataLossError, match="the stream ended after 2 of 2 images"):
        parse(body[: len(body) - 5], 2, 4096)  # no close delimiter


def test_multipart_with_garbage_between_parts_raises_data_loss():
    body = multipart([PNG_A]).replace(b"--modelmora-b\r\n", b"--something-else\r\n", 1)
    with pytest.raises(DataLossError, match="part boundary"):
        parse(body, 1, 4096)


def test_a_single_png_answer():
    headers = {
        "x-image-index": "0",
        "x-image-bytes": str(len(PNG_A)),
        "x-image-sha256": hashlib.sha256(PNG_A).hexdigest(),
        "x-image-width": "64",
        "x-image-height": "32",
    }
    parser = SingleImageParser(headers, "m", "r-3")
    images = parser.feed(PNG_A[:5000]) + parser.feed(PNG_A[5000:])
    parser.finish()
    assert [bytes(image.data) for image in images] == [PNG_A]
    short = SingleImageParser(headers, "m", "r-3")
    short.feed(PNG_A[:5000])
    with pytest.raises(DataLossError, match="ended after 5000 of 10240 bytes"):
        short.finish()
