#!/usr/bin/env python3
"""The proof of concept's own stack as a baseline: modelmora.InferenceService on Python grpcio.

    /usr/bin/python3 bench/baselines/grpcio-server.py --proto proto/modelmora/inference.proto \
        --source http://127.0.0.1:PORT --prompt "fixed prompt" --images noise-1000:10,thumb-64:10

Started by `npm run bench` in its own process (needs grpcio and grpcio-tools,
Debian's python3-grpcio and python3-grpc-tools); stops on SIGTERM. Reads only
its flags:

  --port N          port, 0 picks a free one (default 0)
  --host H          address (default 127.0.0.1)
  --proto PATH      inference.proto; Python stubs are generated from it at
                    start-up with grpc_tools.protoc into a temporary folder
  --chunk-bytes N   chunk size (default 1000000, the proof of concept's "1MB")
  --workers N       thread-pool size, as the proof of concept's grpc.server(ThreadPoolExecutor)
  --source URL      a bare baseline to fetch the transport-only images from
                    (GET /image?model=&prompt=&index=), so this server serves
                    byte-for-byte the PNG files the server under test serves
  --prompt P        the prompt of those images
  --images LIST     model:count pairs to fetch, e.g. noise-1000:10,thumb-64:10

A request for those (model, prompt, index) is served from memory
(transport-only). Any other request is generated the way the proof of concept generated
it: random RGB noise at the model's size, encoded to PNG at zlib level 6
(PIL's default; Pillow and numpy are not installed here, so the PNG is
written with the standard library's zlib). Those bytes differ from the
server's but have its size and cost profile for noise-1000.

Prints "grpcio listening on URL (...)" on stdout when ready.
"""

import argparse
import hashlib
import os
import shutil
import signal
import struct
import sys
import tempfile
import threading
import urllib.parse
import urllib.request
import uuid
import zlib
from concurrent import futures

import grpc
from grpc_tools import protoc

# The server's models (src/imaging/models.ts), width and height in pixels.
MODEL_SIZES = {
    "noise-1000": (1000, 1000),
    "test-model": (1024, 1024),
    "scene-1024": (1024, 1024),
    "thumb-64": (64, 64),
    "noise-1k": (17, 17),
    "noise-10k": (57, 57),
    "noise-100k": (182, 182),
    "noise-1m": (576, 576),
    "noise-10m": (1824, 1824),
}


def generate_stubs(proto_path):
    """Compiles inference.proto into a temporary folder and imports the stubs."""
    out = tempfile.mkdtemp(prefix="modelmora-grpcio-")
    include = os.path.dirname(os.path.dirname(os.path.abspath(proto_path)))
    rel = os.path.relpath(os.path.abspath(proto_path), include)
    code = protoc.main(
        ["grpc_tools.protoc", f"-I{include}", f"--python_out={out}", f"--grpc_python_out={out}", rel]
    )
    if code != 0:
        raise SystemExit(f"grpcio-server: protoc failed on {proto_path}")
    sys.path.insert(0, out)
    try:
        from modelmora import inference_pb2, inference_pb2_grpc  # noqa: E402
    finally:
        # Loaded: the folder is no longer needed, even if this process is killed later.
        shutil.rmtree(out, ignore_errors=True)
    return inference_pb2, inference_pb2_grpc


def png_rgb(width, height, rgb, level):
    """A PNG file of 8-bit RGB pixels, filter 0 on each row, zlib at `level`."""
    stride = width * 3
    rows = b"".join(b"\x00" + rgb[y * stride:(y + 1) * stride] for y in range(height))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows, level))
        + chunk(b"IEND", b"")
    )


def fetch_images(source, prompt, spec):
    """Fetches the transport-only images from a bare baseline, checking their hashes."""
    images = {}
    for item in filter(None, spec.split(",")):
        model, count = item.split(":")
        for index in range(int(count)):
            query = urllib.parse.urlencode({"model": model, "prompt": prompt, "index": index})
            with urllib.request.urlopen(f"{source}/image?{query}") as response:
                png = response.read()
                sha = response.headers["x-image-sha256"]
            if hashlib.sha256(png).hexdigest() != sha:
                raise SystemExit(f"grpcio-server: image {model}/{index} arrived damaged")
            images[(model, prompt, index)] = (png, sha)
    return images


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--proto", required=True)
    parser.add_argument("--chunk-bytes", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--source")
    parser.add_argument("--prompt", default="")
    parser.add_argument("--images", default="")
    args = parser.parse_args()

    pb2, pb2_grpc = generate_stubs(args.proto)
    stored = fetch_images(args.source, args.prompt, args.images) if args.source else {}

    class InferenceService(pb2_grpc.InferenceServiceServicer):
        def StreamInference(self, request, context):
            size = MODEL_SIZES.get(request.model_id)
            if size is None:
                context.abort(grpc.StatusCode.NOT_FOUND, f"unknown model {request.model_id}")
            if not 1 <= request.batch_size <= 32:
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, "batch_size must be from 1 to 32")
            request_id = str(uuid.uuid4())
            for index in range(request.batch_size):
                hit = stored.get((request.model_id, request.prompt, index))
                if hit is None:
                    width, height = size
                    png = png_rgb(width, height, os.urandom(width * height * 3), 6)
                    sha = hashlib.sha256(png).hexdigest()
                else:
                    png, sha = hit
                total = max(1, -(-len(png) // args.chunk_bytes))
                metadata = {
                    "image_index": str(index),
                    "image_count": str(request.batch_size),
                    "image_bytes": str(len(png)),
                    "image_sha256": sha,
                    "content_type": "image/png",
                    "width": str(size[0]),
                    "height": str(size[1]),
                    "model_id": request.model_id,
                }
                for chunk_index in range(total):
                    offset = chunk_index * args.chunk_bytes
                    yield pb2.InferenceResponse(
                        request_id=request_id,
                        chunk_index=chunk_index,
                        total_chunks=total,
                        data=png[offset:offset + args.chunk_bytes],
                        metadata={**metadata, "chunk_offset": str(offset)},
                    )

        def ListModels(self, request, context):
            return pb2.ListModelsResponse(
                models=[
                    pb2.ModelInfo(id=model, width=w, height=h)
                    for model, (w, h) in MODEL_SIZES.items()
                ],
                max_batch_size=32,
                chunk_bytes=args.chunk_bytes,
                renderer="python",
            )

    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=args.workers),
        options=[("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)],
    )
    pb2_grpc.add_InferenceServiceServicer_to_server(InferenceService(), server)
    port = server.add_insecure_port(f"{args.host}:{args.port}")
    server.start()
    print(
        f"grpcio listening on http://{args.host}:{port} "
        f"(Python {sys.version.split()[0]}, grpcio {grpc.__version__}, {len(stored)} stored images)",
        flush=True,
    )
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    server.stop(0)


if __name__ == "__main__":
    main()
