#!/usr/bin/env python3
"""Python clients for the bench: grpcio, httpx and the project's SDK, timed from Python.

The bench's other clients run in its Node process; these run here, so the
figures are what a Python service (the proof of concept's stack) gets from
the server. Four client stacks (--client):

  grpcio    grpc.aio with the generated stub (clients/python/src/modelmora),
            grpc.max_receive_message_length 64 MiB, otherwise grpcio's
            defaults (it grows its HTTP/2 windows by BDP probing): the proof
            of concept's client.
  httpx     httpx.AsyncClient().stream("POST", "/infer/stream"), HTTP/1.1,
            the body read with aiter_raw(): the proof of concept's REST client.
  sdk-grpc  the SDK (AsyncModelMoraClient, transport="grpc").
  sdk-rest  the SDK (AsyncModelMoraClient, transport="rest").

The raw clients keep what arrives (by reference) and verify it after the
timed part, as the bench's Node clients do: every image must arrive whole,
at the offsets and with the size and SHA-256 the server declared. The SDK
verifies each image as it completes, inside the timed part, because that is
what its users pay; its "first chunk" is its first whole image.

Two ways to run it:

  Standalone: runs a scenario and prints one JSON line per measured sample,
  then a summary line ({"summary": ...}).

    /usr/bin/python3 bench/clients/python-client.py --url http://127.0.0.1:8080 \\
        --client grpcio --scenario single --mode transport --iterations 10

  Serve (--serve): the bench drives it. Reads one JSON command per line on
  stdin, answers one JSON line per command on stdout, in any order (each
  answer carries its command's id), running commands concurrently on one
  asyncio loop, as one Python service with several clients would:

    {"id": 1, "op": "open", "client": 0}
    {"id": 2, "op": "stream", "client": 0, "model_id": "noise-1000",
     "prompt": "...", "batch_size": 10, "hashing": "deferred"}
        -> {"id": 2, "ok": true, "firstChunkMs": .., "totalMs": ..,
            "payloadBytes": .., "chunks": .., "chunksNominal": false,
            "images": [{"index": 0, "bytes": .., "sha256": ".."}, ...]}
    {"id": 3, "op": "unary", "client": 0}   -> {"id": 3, "ok": true, "totalMs": ..}
    {"id": 4, "op": "cpu"}   -> {"id": 4, "ok": true, "cpuMs": ..}
        (this process's CPU so far, every thread, less the raw clients'
        verification after their timed parts)
    {"id": 5, "op": "close", "client": 0}
  A failed command answers {"id": N, "ok": false, "error": "..."}. The first
  line out is {"ready": true, "client": .., "versions": {...}}.

Flags: --url (required), --client, --api-key (sent as x-api-key), --ca-file
(TLS), --chunk-bytes (the server's, to count REST's nominal chunks;
1000000). Standalone also: --scenario single|small|load|unary, --mode
transport|e2e, --model, --batch, --clients, --iterations, --warmup.
Needs Debian's python3-grpcio, python3-protobuf and python3-httpx; nothing
else (the stubs and the SDK come from clients/python/src).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import platform
import ssl
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "clients", "python", "src"))

import grpc  # noqa: E402
import grpc.aio  # noqa: E402
import httpx  # noqa: E402

import modelmora  # noqa: E402
from modelmora import inference_pb2, inference_pb2_grpc  # noqa: E402
from modelmora._assembly import MultipartImageParser, SingleImageParser  # noqa: E402

FIXED_PROMPT = "modelmora bench: fixed prompt"
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class VerificationError(Exception):
    """What arrived is not what the server declared."""


# CPU this process spent verifying (hashing) after timed parts, ms: left
# out of the client CPU it reports, as the bench leaves its own out.
verify_cpu_ms = 0.0


def verified(check, *args):
    """Runs check(*args), counting its CPU time as verification."""
    global verify_cpu_ms
    before = time.process_time()
    try:
        return check(*args)
    finally:
        verify_cpu_ms += (time.process_time() - before) * 1000.0


def now_ms() -> float:
    return time.perf_counter() * 1000.0


# --------------------------------------------------------------------------
# Verification of what the raw clients received, after the timed part.


def verify_chunks(chunks: list, batch_size: int) -> list[dict]:
    """Checks StreamInference chunks: offsets, sizes and SHA-256 per image, images 0..n-1."""
    images: dict[int, dict] = {}
    for chunk in chunks:
        meta = chunk.metadata
        index = int(meta["image_index"])
        image = images.get(index)
        if image is None:
            image = images[index] = {
                "bytes": int(meta["image_bytes"]),
                "sha256": meta["image_sha256"],
                "hash": hashlib.sha256(),
                "received": 0,
            }
        elif meta["image_sha256"] != image["sha256"] or int(meta["image_bytes"]) != image["bytes"]:
            raise VerificationError(f"image {index}: its size or sha256 changed between chunks")
        if int(meta["chunk_offset"]) != image["received"]:
            raise VerificationError(
                f"image {index}: chunk at offset {meta['chunk_offset']}, expected {image['received']}"
            )
        image["hash"].update(chunk.data)
        image["received"] += len(chunk.data)
    return finish_images(images, batch_size)


def finish_images(images: dict[int, dict], batch_size: int) -> list[dict]:
    if sorted(images) != list(range(batch_size)):
        raise VerificationError(f"images {sorted(images)} arrived, expected 0..{batch_size - 1}")
    out = []
    for index in range(batch_size):
        image = images[index]
        if image["received"] != image["bytes"]:
            raise VerificationError(f"image {index}: {image['received']} of {image['bytes']} bytes")
        digest = image["hash"].hexdigest()
        if digest != image["sha256"]:
            raise VerificationError(f"image {index}: sha256 {digest}, declared {image['sha256']}")
        out.append({"index": index, "bytes": image["bytes"], "sha256": digest})
    return out


def verify_rest(headers: httpx.Headers, parts: list[bytes], batch_size: int) -> list[dict]:
    """Checks a REST body (the PNG, or multipart/mixed) with the SDK's parsers, after the timed part."""
    content_type = headers.get("content-type", "")
    if content_type.startswith("multipart/"):
        boundary = content_type.split("boundary=", 1)[1].strip('"')
        parser = MultipartImageParser(boundary, "", "", batch_size)
    else:
        parser = SingleImageParser(headers, "", "")
    images = []
    try:
        for part in parts:
            images += parser.feed(part)
        parser.finish()
    except modelmora.DataLossError as err:
        raise VerificationError(str(err)) from None
    return [{"index": i.index, "bytes": len(i.data), "sha256": i.sha256} for i in images]


def nominal_chunks(images: list[dict], chunk_bytes: int) -> int:
    return sum(max(1, -(-image["bytes"] // chunk_bytes)) for image in images)


# --------------------------------------------------------------------------
# The client stacks. Each has stream(), unary() and close().


class GrpcioClient:
    """grpc.aio and the generated stub: one channel (one HTTP/2 connection)."""

    library = "grpcio"

    def __init__(self, settings: argparse.Namespace) -> None:
        target = settings.url.split("://", 1)[1].rstrip("/")
        options = [("grpc.max_receive_message_length", MAX_MESSAGE_BYTES)]
        if settings.url.startswith("https://"):
            ca = open(settings.ca_file, "rb").read() if settings.ca_file else None
            self.channel = grpc.aio.secure_channel(target, grpc.ssl_channel_credentials(ca), options)
        else:
            self.channel = grpc.aio.insecure_channel(target, options)
        self.stub = inference_pb2_grpc.InferenceServiceStub(self.channel)
        self.metadata = [("x-api-key", settings.api_key)] if settings.api_key else []

    async def stream(self, model_id: str, prompt: str, batch_size: int, hashing: str) -> dict:
        request = inference_pb2.InferenceRequest(model_id=model_id, prompt=prompt, batch_size=batch_size)
        kept: list = []
        inline: dict[int, dict] = {}
        payload = 0
        count = 0
        first = None
        start = now_ms()
        async for chunk in self.stub.StreamInference(request, metadata=self.metadata):
            if first is None:
                first = now_ms()
            count += 1
            payload += len(chunk.data)
            if hashing == "inline":
                inline_chunk(inline, chunk)
            else:
                kept.append(chunk)
        end = now_ms()
        if hashing == "inline":
            images = verified(finish_images, inline, batch_size)
        else:
            images = verified(verify_chunks, kept, batch_size)
        return outcome(start, first, end, payload, count, False, images)

    async def unary(self) -> None:
        answer = await self.stub.ListModels(inference_pb2.ListModelsRequest(), metadata=self.metadata)
        if not answer.models:
            raise VerificationError("ListModels listed no models")

    async def close(self) -> None:
        await self.channel.close()


def inline_chunk(images: dict[int, dict], chunk) -> None:
    """verify_chunks, one chunk at a time, keeping no bytes."""
    meta = chunk.metadata
    index = int(meta["image_index"])
    image = images.setdefault(
        index,
        {"bytes": int(meta["image_bytes"]), "sha256": meta["image_sha256"], "hash": hashlib.sha256(), "received": 0},
    )
    if int(meta["chunk_offset"]) != image["received"]:
        raise VerificationError(f"image {index}: chunk at offset {meta['chunk_offset']}, expected {image['received']}")
    image["hash"].update(chunk.data)
    image["received"] += len(chunk.data)


def http_client(settings: argparse.Namespace) -> httpx.AsyncClient:
    verify: bool | ssl.SSLContext = True
    if settings.ca_file:
        verify = ssl.create_default_context(cafile=settings.ca_file)
    headers = {"x-api-key": settings.api_key} if settings.api_key else {}
    # One connection per client, kept alive between requests, as the bench's
    # Node HTTP/1.1 clients do with a keep-alive agent.
    return httpx.AsyncClient(
        base_url=settings.url,
        headers=headers,
        verify=verify,
        timeout=httpx.Timeout(300.0),
        trust_env=False,
        limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
    )


class HttpxClient:
    """httpx.AsyncClient, HTTP/1.1, POST /infer/stream read with aiter_raw()."""

    library = "httpx"

    def __init__(self, settings: argparse.Namespace) -> None:
        self.http = http_client(settings)
        self.chunk_bytes = settings.chunk_bytes

    async def stream(self, model_id: str, prompt: str, batch_size: int, hashing: str) -> dict:
        body = {"model_id": model_id, "prompt": prompt, "batch_size": batch_size}
        parts: list[bytes] = []
        first = None
        start = now_ms()
        async with self.http.stream("POST", "/infer/stream", json=body) as response:
            if response.status_code != 200:
                await response.aread()
                raise VerificationError(f"HTTP {response.status_code}: {response.text[:300]}")
            headers = response.headers
            async for data in response.aiter_raw():
                if first is None:
                    first = now_ms()
                parts.append(data)
        end = now_ms()
        images = verified(verify_rest, headers, parts, batch_size)
        payload = sum(image["bytes"] for image in images)
        return outcome(start, first, end, payload, nominal_chunks(images, self.chunk_bytes), True, images)

    async def unary(self) -> None:
        response = await self.http.get("/v1/models")
        if response.status_code != 200 or not response.json().get("models"):
            raise VerificationError(f"GET /v1/models: HTTP {response.status_code}")

    async def close(self) -> None:
        await self.http.aclose()


class SdkClient:
    """The project's SDK, AsyncModelMoraClient: it verifies every image itself, as it arrives."""

    def __init__(self, settings: argparse.Namespace, transport: str) -> None:
        self.library = f"modelmora-sdk-{transport}"
        self.client = modelmora.AsyncModelMoraClient(
            settings.url, api_key=settings.api_key, tls=settings.ca_file, transport=transport
        )
        self.chunk_bytes = settings.chunk_bytes

    async def stream(self, model_id: str, prompt: str, batch_size: int, hashing: str) -> dict:
        images = []
        first = None
        start = now_ms()
        async for image in self.client.stream_images(model_id, prompt, batch_size=batch_size):
            if first is None:
                first = now_ms()
            images.append({"index": image.index, "bytes": len(image.data), "sha256": image.sha256})
        end = now_ms()
        if [image["index"] for image in images] != list(range(batch_size)):
            raise VerificationError(f"images {[i['index'] for i in images]} arrived")
        payload = sum(image["bytes"] for image in images)
        return outcome(start, first, end, payload, nominal_chunks(images, self.chunk_bytes), True, images)

    async def unary(self) -> None:
        if not len(await self.client.list_models()):
            raise VerificationError("list_models() listed no models")

    async def close(self) -> None:
        await self.client.aclose()


def outcome(start, first, end, payload, chunks, nominal, images) -> dict:
    return {
        "firstChunkMs": (first if first is not None else end) - start,
        "totalMs": end - start,
        "payloadBytes": payload,
        "chunks": chunks,
        "chunksNominal": nominal,
        "images": images,
    }


def make_client(settings: argparse.Namespace):
    if settings.client == "grpcio":
        return GrpcioClient(settings)
    if settings.client == "httpx":
        return HttpxClient(settings)
    return SdkClient(settings, "grpc" if settings.client == "sdk-grpc" else "rest")


def versions() -> dict:
    return {
        "python": platform.python_version(),
        "grpcio": grpc.__version__,
        "httpx": httpx.__version__,
        "modelmora": modelmora.__version__,
    }


def error_text(err: BaseException) -> str:
    """One line for the bench: the status and message of an RPC error, else the exception."""
    if isinstance(err, grpc.aio.AioRpcError):
        return f"{err.code().name}: {err.details()}"
    return f"{type(err).__name__}: {err}"


def cpu_ms() -> float:
    """CPU time of this process, every thread (grpcio's included), ms, less verification's."""
    return time.process_time() * 1000.0 - verify_cpu_ms


# --------------------------------------------------------------------------
# Serve mode: commands from the bench on stdin.


async def serve(settings: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    clients: dict[int, object] = {}
    tasks: set[asyncio.Task] = set()

    def answer(message: dict) -> None:
        sys.stdout.write(json.dumps(message) + "\n")
        sys.stdout.flush()

    async def run(command: dict) -> None:
        ident = command.get("id")
        try:
            op = command["op"]
            if op == "open":
                clients[command["client"]] = make_client(settings)
                result: dict = {}
            elif op == "stream":
                result = await clients[command["client"]].stream(
                    command["model_id"], command["prompt"], command["batch_size"], command.get("hashing", "deferred")
                )
            elif op == "unary":
                start = now_ms()
                await clients[command["client"]].unary()
                result = {"totalMs": now_ms() - start}
            elif op == "close":
                client = clients.pop(command["client"], None)
                if client is not None:
                    await client.close()
                result = {}
            elif op == "cpu":
                result = {"cpuMs": cpu_ms()}
            else:
                raise ValueError(f"unknown op {op!r}")
            answer({"id": ident, "ok": True, **result})
        except Exception as err:  # noqa: BLE001  # every failure goes back to the bench
            answer({"id": ident, "ok": False, "error": error_text(err)})

    answer({"ready": True, "client": settings.client, "versions": versions()})
    while True:
        line = await reader.readline()
        if not line:
            break
        if not line.strip():
            continue
        task = asyncio.create_task(run(json.loads(line)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    if tasks:
        await asyncio.gather(*tasks, return_exceptions=True)
    for client in clients.values():
        await client.close()


# --------------------------------------------------------------------------
# Standalone mode: one scenario, JSON samples on stdout.


async def standalone(settings: argparse.Namespace) -> None:
    run_id = uuid.uuid4().hex[:8]
    counter = iter(range(1_000_000))

    def prompt() -> str:
        if settings.mode == "transport":
            return FIXED_PROMPT
        return f"modelmora bench {run_id} {settings.scenario} python-{settings.client} {next(counter)}"

    clients = [make_client(settings) for _ in range(settings.clients if settings.scenario == "load" else 1)]
    samples = []
    try:
        for client in clients:
            await client.unary()  # opens the connection
        if settings.mode == "transport" and settings.scenario != "unary":
            await clients[0].stream(settings.model, FIXED_PROMPT, settings.batch, "deferred")  # fills the cache
        total = settings.warmup + settings.iterations
        for n in range(total):
            measured = n >= settings.warmup
            cpu_before = cpu_ms()
            if settings.scenario == "unary":
                start = now_ms()
                await clients[0].unary()
                sample = {"totalMs": now_ms() - start}
            elif settings.scenario == "load":
                start = now_ms()
                results = await asyncio.gather(
                    *(c.stream(settings.model, prompt(), settings.batch, "deferred") for c in clients),
                    return_exceptions=True,
                )
                round_ms = now_ms() - start
                errors = [error_text(r) for r in results if isinstance(r, BaseException)]
                done = [r for r in results if not isinstance(r, BaseException)]
                sample = {
                    "roundMs": round_ms,
                    "completed": len(done),
                    "clients": len(clients),
                    "payloadBytes": sum(r["payloadBytes"] for r in done),
                    "clientMs": [r["totalMs"] for r in done],
                    "errors": errors,
                }
            else:
                result = await clients[0].stream(settings.model, prompt(), settings.batch, "deferred")
                sample = {k: v for k, v in result.items() if k != "images"}
                sample["images"] = len(result["images"])
            sample["cpuMs"] = cpu_ms() - cpu_before
            if measured:
                samples.append(sample)
                print(json.dumps({"sample": len(samples), **sample}), flush=True)
    finally:
        for client in clients:
            await client.close()
    print(json.dumps({"summary": summarize(settings, samples), "versions": versions()}), flush=True)


def summarize(settings: argparse.Namespace, samples: list[dict]) -> dict:
    if not samples:
        return {}
    key = "roundMs" if settings.scenario == "load" else "totalMs"
    times = sorted(s[key] for s in samples)
    mean = sum(times) / len(times)
    summary = {
        "client": settings.client,
        "scenario": settings.scenario,
        "mode": settings.mode,
        "iterations": len(samples),
        "meanMs": mean,
        "p50Ms": times[len(times) // 2],
        "cpuMsPerSample": sum(s["cpuMs"] for s in samples) / len(samples),
    }
    if settings.scenario != "unary":
        payload = samples[0]["payloadBytes"]
        summary["payloadBytes"] = payload
        summary["MBps"] = payload / 1e6 / (mean / 1000.0)
    if settings.scenario == "load":
        summary["completed"] = min(s["completed"] for s in samples)
        summary["clients"] = samples[0]["clients"]
    return summary


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True, help="the server, http://host:port or https://host:port")
    parser.add_argument("--client", choices=["grpcio", "httpx", "sdk-grpc", "sdk-rest"], default="grpcio")
    parser.add_argument("--api-key", default=None)
    parser.add_argument("--ca-file", default=None)
    parser.add_argument("--chunk-bytes", type=int, default=1_000_000)
    parser.add_argument("--serve", action="store_true", help="take commands on stdin (see above)")
    parser.add_argument("--scenario", choices=["single", "small", "load", "unary"], default="single")
    parser.add_argument("--mode", choices=["transport", "e2e"], default="transport")
    parser.add_argument("--model", default=None, help="noise-1000 (thumb-64 for small)")
    parser.add_argument("--batch", type=int, default=None, help="10 (5 for load)")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=None, help="2 transport-only, 0 end-to-end")
    settings = parser.parse_args()
    if settings.model is None:
        settings.model = "thumb-64" if settings.scenario == "small" else "noise-1000"
    if settings.batch is None:
        settings.batch = 5 if settings.scenario == "load" else 10
    if settings.warmup is None:
        settings.warmup = 2 if settings.mode == "transport" else 0
    asyncio.run(serve(settings) if settings.serve else standalone(settings))
    return 0


if __name__ == "__main__":
    sys.exit(main())
