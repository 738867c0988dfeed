/**
 * The proof of concept's workload: noise-1000 with batch_size 10 is 40
 * chunks and about 30.1 MB. Checked through the Connect gRPC client, grpc-js
 * and the seed's own kind of Python client, both built from the seed's
 * proto, and the REST route.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createInferenceClient } from "../src/client/index.js";
import {
  boundaryOf,
  type ChunkLike,
  collect,
  curlRest,
  inspectPng,
  parseMultipart,
  type ReassembledImage,
  reassemble,
  run,
  sha256Hex,
  startServer,
  type TestServer,
} from "./helpers.js";
import { createSeedClient, streamSeed } from "./seed-client.js";

const seedRequest = { model_id: "noise-1000", prompt: "a photo of a cat", batch_size: 10 };
/** The seed's "30.1MB": 10 PNG files of 3,005,928 bytes. */
const minBytes = 30_000_000;
const maxBytes = 30_200_000;

/**
 * Debian's /usr/bin/python3, not whatever python3 is first on PATH: the
 * python3-grpcio packages are its. MODELMORA_PYTHON names another.
 */
const python = process.env.MODELMORA_PYTHON ?? "/usr/bin/python3";
const pythonRequired = process.env.MODELMORA_REQUIRE_PYTHON === "1";

describe("the seed workload: noise-1000, batch_size 10", () => {
  let srv: TestServer;
  let chunks: ChunkLike[];
  let images: ReassembledImage[];

  before(async () => {
    srv = await startServer();
    const inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
    try {
      chunks = await collect(
        inference.client.streamInference({
          modelId: seedRequest.model_id,
          prompt: seedRequest.prompt,
          batchSize: seedRequest.batch_size,
        }),
      );
    } finally {
      inference.close();
    }
    images = reassemble(chunks);
  });
  after(async () => {
    await srv.close();
  });

  it("is 40 chunks of at most 1,000,000 bytes, about 30.1 MB in all", () => {
    assert.equal(chunks.length, 40);
    const total = chunks.reduce((sum, chunk) => sum + chunk.data.byteLength, 0);
    assert.ok(total > minBytes && total < maxBytes, `${total} bytes`);
    for (const chunk of chunks) {
      assert.ok(chunk.data.byteLength <= 1_000_000, `a chunk of ${chunk.data.byteLength} bytes`);
      assert.ok(chunk.data.byteLength > 0, "an empty chunk");
    }
  });

  it("puts request_id, chunk_index, total_chunks and the image's facts in every chunk", () => {
    const requestIds = new Set(chunks.map((chunk) => chunk.requestId));
    assert.equal(requestIds.size, 1);
    assert.match([...requestIds][0] as string, /^[0-9a-f-]{36}$/);
    chunks.forEach((chunk, i) => {
      // Four chunks per image: total_chunks is per image (see the proto).
      assert.equal(chunk.totalChunks, 4, `chunk ${i}: total_chunks`);
      assert.equal(chunk.chunkIndex, i % 4, `chunk ${i}: chunk_index`);
      assert.equal(chunk.metadata.image_index, String(Math.floor(i / 4)), `chunk ${i}`);
      assert.equal(chunk.metadata.content_type, "image/png");
      assert.equal(chunk.metadata.width, "1000");
      assert.equal(chunk.metadata.height, "1000");
      assert.equal(chunk.metadata.image_count, "10");
      assert.match(chunk.metadata.image_bytes ?? "", /^\d+$/);
      assert.match(chunk.metadata.image_sha256 ?? "", /^[0-9a-f]{64}$/);
    });
  });

  it("rebuilds into 10 different, valid 1000×1000 RGB PNG files", () => {
    assert.equal(images.length, 10);
    for (const image of images) {
      const png = inspectPng(image.png);
      assert.deepEqual([png.widthPx, png.heightPx], [1000, 1000]);
      assert.equal(png.colorType, 2, "RGB without alpha");
      assert.equal(image.png.byteLength, Number(image.metadata.image_bytes));
    }
    assert.equal(new Set(images.map((image) => image.sha256)).size, 10);
  });

  it("gives the same 40 chunks to grpc-js built from the seed's proto", async () => {
    const client = createSeedClient(`127.0.0.1:${srv.port}`);
    try {
      const seedChunks = await streamSeed(client, seedRequest);
      assert.equal(seedChunks.length, 40);
      assert.deepEqual(
        reassemble(seedChunks).map((image) => image.sha256),
        images.map((image) => image.sha256),
      );
    } finally {
      client.close();
    }
  });

  it("gives 40 chunks and about 30.1 MB to the seed's Python client", async (t) => {
    const probe = await run(python, ["-c", "import grpc, grpc_tools, google.protobuf"]).catch(
      (err: Error) => ({ code: -1, stderr: err.message }),
    );
    if (probe.code !== 0) {
      const reason = `${python} cannot import grpc, grpc_tools and google.protobuf (apt-get install python3-grpcio python3-grpc-tools python3-protobuf): ${probe.stderr.trim().split("\n").pop()}`;
      if (pythonRequired) {
        assert.fail(`MODELMORA_REQUIRE_PYTHON=1 but ${reason}`);
      }
      t.skip(reason);
      return;
    }
    const result = await run(python, [
      "test/python/proof_of_concept_client.py",
      `127.0.0.1:${srv.port}`,
      "--model",
      seedRequest.model_id,
      "--prompt",
      seedRequest.prompt,
      "--batch-size",
      String(seedRequest.batch_size),
    ]);
    assert.equal(result.code, 0, `seed_client.py failed: ${result.stderr}${result.stdout}`);
    const summary = JSON.parse(result.stdout.toString("utf8")) as {
      chunks: number;
      bytes: number;
      request_ids: number;
      images: { index: number; chunks: number; total_chunks: number; sha256_ok: boolean }[];
    };
    assert.equal(summary.chunks, 40);
    assert.ok(summary.bytes > minBytes && summary.bytes < maxBytes, `${summary.bytes} bytes`);
    assert.equal(summary.request_ids, 1);
    assert.equal(summary.images.length, 10);
    for (const image of summary.images) {
      assert.equal(image.chunks, image.total_chunks, `image ${image.index}`);
      assert.ok(image.sha256_ok, `image ${image.index}: SHA-256 does not match image_sha256`);
    }
  });

  it("sends the same 10 images over REST as multipart/mixed", async () => {
    const res = await curlRest(srv.url, JSON.stringify(seedRequest));
    assert.equal(res.status, 200);
    const parts = parseMultipart(res.body, boundaryOf(res.headers["content-type"] ?? ""));
    assert.deepEqual(
      parts.map((part) => sha256Hex(part.body)),
      images.map((image) => image.sha256),
    );
    assert.deepEqual(
      parts.map((part) => part.headers["x-image-index"]),
      images.map((image) => String(image.index)),
    );
  });
});
