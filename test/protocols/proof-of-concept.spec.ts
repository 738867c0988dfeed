/**
 * The proof of concept's workload: noise-1000 with batch_size 10 is 40
 * chunks and about 30.1 MB. Checked through the Connect gRPC client,
 * grpc-js built from the proof of concept's proto, and the REST route (its
 * Python client is in test/python/).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createInferenceClient } from "../../src/index.js";
import {
  type ChunkLike,
  collect,
  createGrpcJsClient,
  curlRest,
  inspectPng,
  multipartOf,
  type ReassembledImage,
  reassemble,
  sha256Hex,
  startServer,
  streamGrpcJs,
  type TestServer,
} from "../support/index.js";

/** The proof of concept's request. */
const pocRequest = { model_id: "noise-1000", prompt: "a photo of a cat", batch_size: 10 };
/** The proof of concept's "30.1MB": 10 PNG files of 3,005,928 bytes. */
const minBytes = 30_000_000;
const maxBytes = 30_200_000;

describe("the proof of concept's workload: noise-1000, batch_size 10", () => {
  let srv: TestServer;
  let chunks: ChunkLike[];
  let images: ReassembledImage[];

  before(async () => {
    srv = await startServer();
    const inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
    try {
      chunks = await collect(
        inference.client.streamInference({
          modelId: pocRequest.model_id,
          prompt: pocRequest.prompt,
          batchSize: pocRequest.batch_size,
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

  it("gives the same 40 chunks to grpc-js built from the proof of concept's proto", async () => {
    const client = createGrpcJsClient(`127.0.0.1:${srv.port}`);
    try {
      const grpcJsChunks = await streamGrpcJs(client, pocRequest);
      assert.equal(grpcJsChunks.length, 40);
      assert.deepEqual(
        reassemble(grpcJsChunks).map((image) => image.sha256),
        images.map((image) => image.sha256),
      );
    } finally {
      client.close();
    }
  });

  it("sends the same 10 images over REST as multipart/mixed", async () => {
    const res = await curlRest(srv.url, JSON.stringify(pocRequest));
    assert.equal(res.status, 200);
    const parts = multipartOf(res);
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
