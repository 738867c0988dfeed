/**
 * What the images are and where they come from: determinism, the image
 * cache (on by default, off with cacheBytes 0), the small-payload model,
 * how an image is cut into chunks, and the Canvas implementations
 * (node-canvas first, @napi-rs/canvas as the fallback).
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { GeneratedImage } from "../../src/imaging/index.js";
import { createInferenceClient, type InferenceClient } from "../../src/index.js";
// Not exported by src/server/index.ts: chunking tested without a server.
import { chunksOf } from "../../src/server/index.js";
import {
  collect,
  curl,
  httpRequest,
  imagesServed,
  inspectPng,
  type ReassembledImage,
  reassemble,
  startServer,
  type TestServer,
} from "../support/index.js";

/** The cache facts GET /healthz reports. */
async function health(srv: TestServer): Promise<{ entries: number; bytes: number }> {
  const res = await httpRequest(srv, { method: "GET", path: "/healthz" });
  return JSON.parse(res.body.toString("utf8")).cache;
}

async function images(
  inference: InferenceClient,
  modelId: string,
  prompt: string,
  batchSize: number,
): Promise<ReassembledImage[]> {
  return reassemble(
    await collect(inference.client.streamInference({ modelId, prompt, batchSize })),
  );
}

describe("determinism, without a cache", () => {
  let srv: TestServer;
  let inference: InferenceClient;
  before(async () => {
    srv = await startServer({ cacheBytes: 0 });
    inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
  });
  after(async () => {
    inference.close();
    await srv.close();
  });

  for (const [model, batchSize] of [
    ["thumb-64", 3],
    ["scene-1024", 1],
    ["noise-1000", 1],
  ] as const) {
    it(`draws the same ${model} bytes for the same request, other bytes for another prompt`, async () => {
      const first = await images(inference, model, "a lighthouse at dusk", batchSize);
      const again = await images(inference, model, "a lighthouse at dusk", batchSize);
      const other = await images(inference, model, "a lighthouse at dawn", batchSize);
      assert.deepEqual(
        again.map((image) => image.sha256),
        first.map((image) => image.sha256),
      );
      for (const [i, image] of first.entries()) {
        assert.ok(image.png.equals((again[i] as ReassembledImage).png));
        assert.notEqual(image.sha256, other[i]?.sha256, `image ${i} ignores the prompt`);
      }
    });
  }

  it("keeps nothing in the cache and draws every image", async () => {
    assert.deepEqual(await health(srv), { entries: 0, bytes: 0 });
    const drawn = await imagesServed(srv.server, "thumb-64", false);
    await images(inference, "thumb-64", "a lighthouse at dusk", 3);
    assert.equal(await imagesServed(srv.server, "thumb-64", false), drawn + 3);
    assert.equal(await imagesServed(srv.server, "thumb-64", true), 0);
    assert.deepEqual(await health(srv), { entries: 0, bytes: 0 });
  });
});

describe("the image cache, on by default", () => {
  let srv: TestServer;
  let inference: InferenceClient;
  before(async () => {
    srv = await startServer();
    inference = createInferenceClient({
      baseUrl: srv.url,
      protocol: "connect",
      httpVersion: "1.1",
    });
  });
  after(async () => {
    inference.close();
    await srv.close();
  });

  it("serves a repeated request from the cache without drawing again", async () => {
    const before = await health(srv);
    const drawn = await imagesServed(srv.server, "thumb-64", false);
    const first = await images(inference, "thumb-64", "cache me", 4);
    const afterFirst = await health(srv);
    assert.equal(afterFirst.entries, before.entries + 4);
    assert.equal(
      afterFirst.bytes - before.bytes,
      first.reduce((sum, image) => sum + image.png.byteLength, 0),
    );
    assert.equal(await imagesServed(srv.server, "thumb-64", false), drawn + 4);

    const hits = await imagesServed(srv.server, "thumb-64", true);
    const second = await images(inference, "thumb-64", "cache me", 4);
    assert.deepEqual(await health(srv), afterFirst);
    assert.equal(await imagesServed(srv.server, "thumb-64", false), drawn + 4, "drew again");
    assert.equal(await imagesServed(srv.server, "thumb-64", true), hits + 4);
    assert.deepEqual(
      second.map((image) => image.sha256),
      first.map((image) => image.sha256),
    );
  });

  it("stays within its byte budget", async () => {
    const small = await startServer({ cacheBytes: 8_000_000 });
    const client = createInferenceClient({ baseUrl: small.url, protocol: "grpc" });
    try {
      await images(client, "noise-1000", "budget", 4);
      const cache = await health(small);
      // Two noise images of about 3.0 MB fit in 8 MB; four do not.
      assert.equal(cache.entries, 2);
      assert.ok(cache.bytes <= 8_000_000);
    } finally {
      client.close();
      await small.close();
    }
  });
});

describe("thumb-64, the small-payload model", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  for (const batchSize of [1, 10]) {
    it(`answers a batch of ${batchSize} in under 100 KB on the wire`, async () => {
      const body = JSON.stringify({ model_id: "thumb-64", prompt: "small", batch_size: batchSize });
      const rest = await curl([
        "-o",
        "/dev/null",
        "-w",
        "%{size_download} %{size_header}",
        "-H",
        "content-type: application/json",
        "-d",
        body,
        `${srv.url}/infer/stream`,
      ]);
      const [bodyBytes, headerBytes] = rest.stdout.toString("utf8").split(" ").map(Number);
      assert.ok((bodyBytes as number) > 0);
      assert.ok((bodyBytes as number) + (headerBytes as number) < 100_000, rest.stdout.toString());

      const inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
      try {
        const got = await images(inference, "thumb-64", "small", batchSize);
        const total = got.reduce((sum, image) => sum + image.png.byteLength, 0);
        assert.ok(total < 100_000, `${total} bytes of PNG`);
        for (const image of got) {
          assert.equal(image.chunkCount, 1);
          assert.deepEqual(
            [inspectPng(image.png).widthPx, inspectPng(image.png).heightPx],
            [64, 64],
          );
        }
      } finally {
        inference.close();
      }
    });
  }
});

function fakeImage(bytes: number): GeneratedImage {
  return {
    modelId: "noise-1000",
    index: 0,
    widthPx: 1000,
    heightPx: 1000,
    png: Buffer.alloc(bytes, 7),
    sha256: "",
    renderMs: 0,
    cached: false,
  };
}

describe("chunksOf", () => {
  it("cuts a noise-1000 PNG into 4 chunks of at most 1,000,000 bytes, without copying", () => {
    const image = fakeImage(3_005_928);
    const chunks = [...chunksOf(image, 1_000_000)];
    assert.deepEqual(
      chunks.map((chunk) => [
        chunk.chunkIndex,
        chunk.totalChunks,
        chunk.offset,
        chunk.data.byteLength,
      ]),
      [
        [0, 4, 0, 1_000_000],
        [1, 4, 1_000_000, 1_000_000],
        [2, 4, 2_000_000, 1_000_000],
        [3, 4, 3_000_000, 5_928],
      ],
    );
    for (const chunk of chunks) {
      assert.equal(chunk.data.buffer, image.png.buffer, "a copy");
    }
  });

  it("gives one chunk for an image of exactly chunkBytes, and for an empty one", () => {
    assert.equal([...chunksOf(fakeImage(1000), 1000)].length, 1);
    assert.deepEqual(
      [...chunksOf(fakeImage(0), 1000)].map((chunk) => chunk.data.byteLength),
      [0],
    );
  });
});

describe("renderers", () => {
  it("falls back to @napi-rs/canvas when asked, serves valid PNGs and says so", async () => {
    const srv = await startServer({ renderer: "@napi-rs/canvas" });
    const inference = createInferenceClient({ baseUrl: srv.url, protocol: "connect-json" });
    try {
      assert.equal(srv.server.rendererName, "@napi-rs/canvas");
      const models = await inference.client.listModels({});
      assert.equal(models.renderer, "@napi-rs/canvas");
      const health = await curl([`${srv.url}/healthz`]);
      assert.equal(JSON.parse(health.stdout.toString("utf8")).renderer, "@napi-rs/canvas");
      for (const [model, size] of [
        ["thumb-64", 64],
        ["scene-1024", 1024],
        ["noise-1000", 1000],
      ] as const) {
        const [image] = await images(inference, model, "napi", 1);
        const png = inspectPng((image as ReassembledImage).png);
        assert.deepEqual([png.widthPx, png.heightPx], [size, size], model);
      }
    } finally {
      inference.close();
      await srv.close();
    }
  });

  it('picks node-canvas ("canvas") for "auto" when it is installed', async (t) => {
    const srv = await startServer();
    try {
      const name = srv.server.rendererName;
      if (process.env.MODELMORA_REQUIRE_NODE_CANVAS === "1") {
        // CI installs Cairo's development packages, so node-canvas must build and load.
        assert.equal(
          name,
          "canvas",
          "MODELMORA_REQUIRE_NODE_CANVAS=1 but auto did not load node-canvas",
        );
      } else {
        assert.ok(name === "canvas" || name === "@napi-rs/canvas", name);
        t.diagnostic(`auto picked ${name}`);
      }
      const inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
      try {
        const [image] = await images(inference, "scene-1024", "auto", 1);
        inspectPng((image as ReassembledImage).png);
        assert.equal((await inference.client.listModels({})).renderer, name);
      } finally {
        inference.close();
      }
    } finally {
      await srv.close();
    }
  });

  it("serves valid PNGs with node-canvas when it is installed", async (t) => {
    let srv: TestServer;
    try {
      srv = await startServer({ renderer: "canvas" });
    } catch (err) {
      if (process.env.MODELMORA_REQUIRE_NODE_CANVAS === "1") {
        throw err;
      }
      t.skip(`node-canvas is not installed here: ${(err as Error).message}`);
      return;
    }
    const inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
    try {
      const [image] = await images(inference, "noise-1000", "cairo", 1);
      const png = inspectPng((image as ReassembledImage).png);
      assert.deepEqual([png.widthPx, png.heightPx, png.colorType], [1000, 1000, 2]);
    } finally {
      inference.close();
      await srv.close();
    }
  });
});
