#!/usr/bin/env python3
"""The proof of concept's kind of Python gRPC client, against a ModelMora server.

It generates its stubs from the proof of concept's inference.proto
(test/fixtures/proof-of-concept.proto) with grpc_tools.protoc into a
temporary directory at run time, exactly as the proof of concept's README
does by hand, then streams StreamInference and prints one JSON line on
stdout:

    {"chunks": 40, "bytes": 30059280, "request_ids": 1, "images": [...]}

Usage:
    /usr/bin/python3 test/python/proof_of_concept_client.py 127.0.0.1:8080 \
        [--model noise-1000] [--prompt TEXT] [--batch-size 10]

Needs grpcio, grpcio-tools and protobuf (Debian: python3-grpcio,
python3-grpc-tools, python3-protobuf).
"""

import argparse
import hashlib
import json
import os
import sys
import tempfile

import grpc
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
POC_PROTO = os.path.join(HERE, "..", "fixtures", "proof-of-concept.proto")


def load_stubs(out_dir):
    """Generates inference_pb2 and inference_pb2_grpc into out_dir and imports them."""
    proto_dir = os.path.dirname(os.path.abspath(POC_PROTO))
    # grpc_tools.protoc names its output after the proto file, so copy it
    # under the proof of concept's own name, inference.proto.
    with open(POC_PROTO, "rb") as src, open(os.path.join(out_dir, "inference.proto"), "wb") as dst:
        dst.write(src.read())
    include = os.path.join(os.path.dirname(protoc.__file__), "_proto")
    status = protoc.main(
        [
            "grpc_tools.protoc",
            f"-I{out_dir}",
            f"-I{include}",
            f"--python_out={out_dir}",
            f"--grpc_python_out={out_dir}",
            os.path.join(out_dir, "inference.proto"),
        ]
    )
    if status != 0:
        raise SystemExit(f"grpc_tools.protoc failed on {proto_dir}: exit {status}")
    sys.path.insert(0, out_dir)
    import inference_pb2  # noqa: E402  (generated just above)
    import inference_pb2_grpc  # noqa: E402

    return inference_pb2, inference_pb2_grpc


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="host:port of the server")
    parser.add_argument("--model", default="noise-1000")
    parser.add_argument("--prompt", default="a photo of a cat")
    parser.add_argument("--batch-size", type=int, default=10)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="modelmora-poc-") as out_dir:
        pb2, pb2_grpc = load_stubs(out_dir)
        # The proof of concept's client raises the receive limit for its 1 MB chunks.
        options = [("grpc.max_receive_message_length", 16 * 1024 * 1024)]
        with grpc.insecure_channel(args.target, options=options) as channel:
            stub = pb2_grpc.InferenceServiceStub(channel)
            request = pb2.InferenceRequest(
                model_id=args.model, prompt=args.prompt, batch_size=args.batch_size
            )
            chunks = 0
            total_bytes = 0
            request_ids = set()
            images = {}
            try:
                for response in stub.StreamInference(request):
                    chunks += 1
                    total_bytes += len(response.data)
                    request_ids.add(response.request_id)
                    index = int(response.metadata["image_index"])
                    image = images.setdefault(
                        index,
                        {
                            "index": index,
                            "total_chunks": response.total_chunks,
                            "chunks": 0,
                            "image_bytes": int(response.metadata["image_bytes"]),
                            "image_sha256": response.metadata["image_sha256"],
                            "hash": hashlib.sha256(),
                        },
                    )
                    if response.chunk_index != image["chunks"]:
                        raise SystemExit(f"image {index}: chunk_index {response.chunk_index} out of order")
                    image["chunks"] += 1
                    image["hash"].update(response.data)
            except grpc.RpcError as err:
                print(json.dumps({"error": err.code().name, "message": err.details()}))
                return 1

    result = {
        "chunks": chunks,
        "bytes": total_bytes,
        "request_ids": len(request_ids),
        "images": [
            {
                "index": image["index"],
                "chunks": image["chunks"],
                "total_chunks": image["total_chunks"],
                "image_bytes": image["image_bytes"],
                "sha256_ok": image["hash"].hexdigest() == image["image_sha256"],
            }
            for image in sorted(images.values(), key=lambda i: i["index"])
        ],
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
