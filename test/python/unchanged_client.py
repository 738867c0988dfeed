#!/usr/bin/env python3
"""The proof of concept's own client, unchanged, against one ModelMora port.

What the proof of concept's client does (its document's "Client" and
"Test Results" sections), written out step by step:

1. gRPC: a grpc.aio channel with grpc.max_receive_message_length 50 MiB;
   StreamInference(InferenceRequest(model_id="test-model",
   prompt="Generate images", batch_size=10)); it counts chunks and
   len(data), and prints response.total_chunks every 10th chunk.
2. REST: probes GET /health first and skips REST when that fails; then
   httpx.AsyncClient().stream("POST", "/infer/stream", json={...}) with the
   same request, counting the bytes of aiter_bytes().
3. Load: 10 of those gRPC clients at once, each with batch_size=5.

The stubs come from the proof of concept's inference.proto
(test/fixtures/proof-of-concept.proto), generated at run time with
grpc_tools.protoc, as its README does by hand. Where the proof of concept
used two ports (gRPC 50051, REST 8000), this server answers both on one.

Usage:
    /usr/bin/python3 test/python/unchanged_client.py 127.0.0.1:8080 [--json]

It prints the proof of concept's report; --json adds one JSON line at the
end with every count, for tests. Exit code 0 when every part ran, 1 when a
gRPC call failed. Needs Debian's python3-grpcio, python3-grpc-tools,
python3-protobuf and python3-httpx.
"""

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time

import grpc
import httpx

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from proof_of_concept_client import load_stubs  # noqa: E402  (this folder, just above)

MB = 1_000_000
REQUEST = {"model_id": "test-model", "prompt": "Generate images", "batch_size": 10}


async def test_grpc_streaming(pb2, pb2_grpc, target, batch_size=10, quiet=False):
    """One gRPC client: streams the batch and counts chunks and bytes."""
    options = [("grpc.max_receive_message_length", 50 * 1024 * 1024)]
    async with grpc.aio.insecure_channel(target, options=options) as channel:
        stub = pb2_grpc.InferenceServiceStub(channel)
        request = pb2.InferenceRequest(
            model_id=REQUEST["model_id"], prompt=REQUEST["prompt"], batch_size=batch_size
        )
        start = time.perf_counter()
        chunks = 0
        total_bytes = 0
        async for response in stub.StreamInference(request):
            chunks += 1
            total_bytes += len(response.data)
            if chunks % 10 == 0 and not quiet:
                print(f"  chunk {chunks}: total_chunks={response.total_chunks}")
        elapsed = time.perf_counter() - start
    return {"chunks": chunks, "bytes": total_bytes, "seconds": elapsed}


async def rest_available(base_url):
    """The proof of concept's probe: GET /health, and REST only if it answers."""
    try:
        async with httpx.AsyncClient() as client:
            response = await client.get(f"{base_url}/health", timeout=5.0)
            return response.status_code == 200
    except httpx.HTTPError:
        return False


async def test_rest_streaming(base_url):
    """The REST half: POST /infer/stream and count the bytes as they come."""
    start = time.perf_counter()
    chunks = 0
    total_bytes = 0
    async with httpx.AsyncClient(timeout=60.0) as client:
        async with client.stream("POST", f"{base_url}/infer/stream", json=REQUEST) as response:
            response.raise_for_status()
            async for chunk in response.aiter_bytes():
                chunks += 1
                total_bytes += len(chunk)
    elapsed = time.perf_counter() - start
    return {"chunks": chunks, "bytes": total_bytes, "seconds": elapsed}


async def test_concurrent_load(pb2, pb2_grpc, target, clients=10):
    """10 gRPC clients at once, each asking for batch_size=5."""
    start = time.perf_counter()
    results = await asyncio.gather(
        *(test_grpc_streaming(pb2, pb2_grpc, target, batch_size=5, quiet=True) for _ in range(clients)),
        return_exceptions=True,
    )
    elapsed = time.perf_counter() - start
    done = [r for r in results if not isinstance(r, BaseException)]
    errors = [f"{type(r).__name__}: {r}" for r in results if isinstance(r, BaseException)]
    return {
        "clients": clients,
        "completed": len(done),
        "bytes": sum(r["bytes"] for r in done),
        "chunks": [r["chunks"] for r in done],
        "seconds": elapsed,
        "errors": errors,
    }


def report(name, result):
    mb = result["bytes"] / MB
    print(f"{name}:")
    print(f"  Total time: {result['seconds'] * 1000:.1f}ms")
    print(f"  Data transferred: {mb:.1f}MB")
    print(f"  Throughput: {mb / result['seconds']:.2f} MB/s")
    print(f"  Avg latency/chunk: {result['seconds'] * 1000 / max(result['chunks'], 1):.2f}ms")
    print(f"  Chunks: {result['chunks']}")


async def main_async(args):
    host_port = args.target
    base_url = f"http://{host_port}"
    summary = {}
    with tempfile.TemporaryDirectory(prefix="modelmora-unchanged-") as out_dir:
        pb2, pb2_grpc = load_stubs(out_dir)

        print("Single request performance")
        try:
            grpc_result = await test_grpc_streaming(pb2, pb2_grpc, host_port)
        except grpc.aio.AioRpcError as err:
            print(f"gRPC failed: {err.code().name}: {err.details()}")
            summary["grpc_error"] = f"{err.code().name}: {err.details()}"
            grpc_result = None
        if grpc_result is not None:
            report("gRPC", grpc_result)
            summary["grpc"] = grpc_result

        if await rest_available(base_url):
            rest_result = await test_rest_streaming(base_url)
            report("REST", rest_result)
            summary["rest"] = rest_result
            if grpc_result is not None:
                speedup = rest_result["seconds"] / grpc_result["seconds"]
                print(f"gRPC vs REST: {speedup:.2f}x (REST time / gRPC time)")
        else:
            print("⚠️  REST server not running (expected if not started separately)")
            summary["rest"] = None

        print("Concurrent load (10 clients)")
        load = await test_concurrent_load(pb2, pb2_grpc, host_port)
        mark = "✅" if load["completed"] == load["clients"] else "❌"
        print(f"{mark} {load['completed']}/{load['clients']} clients completed successfully")
        print(f"   Total time: {load['seconds'] * 1000:.1f}ms")
        print(f"   Total data: {load['bytes'] / MB:.1f}MB")
        aggregate = load["bytes"] / MB / load["seconds"]
        print(f"   Avg throughput/client: {aggregate / load['clients']:.2f} MB/s")
        print(f"   Aggregate throughput: {aggregate:.2f} MB/s")
        for error in load["errors"]:
            print(f"   error: {error}")
        summary["load"] = load

    if args.json:
        print(json.dumps(summary))
    return 0 if grpc_result is not None and not load["errors"] else 1


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", help="host:port of the server, for gRPC and REST alike")
    parser.add_argument("--json", action="store_true", help="end with one JSON line of counts")
    return asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
