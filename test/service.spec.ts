/**
 * The lower two test levels: the service on connect's in-memory transport
 * (createRouterTransport, no sockets), and plain unit tests of request
 * validation, chunking, the byte-bounded cache and batch lookahead.
 */
import "../src/base64-polyfill.js";
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import { InferenceService } from "../src/gen/modelmora/inference_pb.js";
import {
  createImageGenerator,
  type GeneratedImage,
  generateBatch,
  type ImageGenerator,
  loadRenderer,
  type ModelProfile,
  modelProfiles,
} from "../src/imaging/index.js";
import { chunksOf } from "../src/server/image-chunks.js";
import {
  defaultInferenceLimits,
  validateInferenceRequest,
} from "../src/server/inference-request.js";
import { createInferenceService } from "../src/server/inference-service.js";
import { assertConnectError, collect, reassemble } from "./helpers.js";

const thumb = modelProfiles.find((model) => model.id === "thumb-64") as ModelProfile;

describe("InferenceService on the in-memory transport", () => {
  const generator = createImageGenerator({ renderer: loadRenderer(), cacheBytes: 0 });
  const service = createInferenceService({
    generator,
    limits: { ...defaultInferenceLimits, chunkBytes: 500 },
  });
  const transport = createRouterTransport(({ service: register }) => {
    register(InferenceService, service);
  });
  const client = createClient(InferenceService, transport);

  it("streams images in chunks of chunkBytes that rebuild whole", async () => {
    const chunks = await collect(
      client.streamInference({ modelId: "thumb-64", prompt: "in memory", batchSize: 2 }),
    );
    for (const chunk of chunks) {
      assert.ok(chunk.data.byteLength <= 500);
    }
    const images = reassemble(chunks);
    assert.equal(images.length, 2);
    assert.ok(chunks.length > 2, "a thumb-64 image is more than 500 bytes");
  });

  it("lists the models in order with their typical sizes", async () => {
    const res = await client.listModels({});
    assert.deepEqual(
      res.models.map((model) => model.id),
      modelProfiles.map((model) => model.id),
    );
    assert.equal(res.chunkBytes, 500);
    assert.equal(res.renderer, generator.rendererName);
  });

  it("refuses bad requests with the codes of the error table", async () => {
    await assertConnectError(
      collect(client.streamInference({ modelId: "x", prompt: "", batchSize: 1 })),
      Code.NotFound,
    );
    await assertConnectError(
      collect(client.streamInference({ modelId: "thumb-64", prompt: "", batchSize: 0 })),
      Code.InvalidArgument,
    );
  });
});

describe("validateInferenceRequest", () => {
  const limits = defaultInferenceLimits;
  it("returns the model of a good request", () => {
    for (const batchSize of [1, 32]) {
      assert.equal(
        validateInferenceRequest({ modelId: "thumb-64", prompt: "x", batchSize }, limits),
        thumb,
      );
    }
  });

  for (const [name, request, code, pattern] of [
    [
      "an empty model_id",
      { modelId: "", prompt: "", batchSize: 1 },
      Code.InvalidArgument,
      /model_id is required; one of: noise-1000, test-model, scene-1024, thumb-64, noise-1k, noise-10k, noise-100k, noise-1m, noise-10m/,
    ],
    [
      "an unknown model_id",
      { modelId: "dall-e", prompt: "", batchSize: 1 },
      Code.NotFound,
      /model_id "dall-e" is not a model/,
    ],
    [
      "a very long unknown model_id, shortened",
      { modelId: "m".repeat(500), prompt: "", batchSize: 1 },
      Code.NotFound,
      /^model_id "m{64}…"/,
    ],
    [
      "batch_size 0",
      { modelId: "thumb-64", prompt: "", batchSize: 0 },
      Code.InvalidArgument,
      /got 0/,
    ],
    [
      "batch_size 33",
      { modelId: "thumb-64", prompt: "", batchSize: 33 },
      Code.InvalidArgument,
      /from 1 to 32, got 33/,
    ],
    [
      "a 4,097-byte prompt",
      { modelId: "thumb-64", prompt: "x".repeat(4097), batchSize: 1 },
      Code.InvalidArgument,
      /at most 4096 bytes/,
    ],
  ] as const) {
    it(`refuses ${name}`, () => {
      assert.throws(
        () => validateInferenceRequest(request, limits),
        (err: { code: Code; rawMessage: string }) =>
          err.code === code && pattern.test(err.rawMessage),
      );
    });
  }

  it("accepts a prompt of exactly 4,096 bytes", () => {
    validateInferenceRequest(
      { modelId: "thumb-64", prompt: "x".repeat(4096), batchSize: 1 },
      limits,
    );
  });
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

describe("generateBatch", () => {
  /** A generator that counts the images asked of it. */
  function countingGenerator(): ImageGenerator & { started: number } {
    const counter = {
      started: 0,
      rendererName: "fake",
      generate(_model: ModelProfile, _prompt: string, index: number) {
        counter.started++;
        return Promise.resolve({ ...fakeImage(10), index });
      },
      cacheStats: () => ({ entries: 0, bytes: 0 }),
      renderStats: () => ({ running: 0, queued: 0 }),
      hasRenderRoom: () => true,
    };
    return counter;
  }

  // The bound is lookahead + 1: image k + lookahead + 1 is started as image
  // k is handed over, so while the consumer holds image k, the next two (for
  // lookahead 1) may be drawing. generateBatch's comment says "at most
  // lookahead ahead"; the extra one keeps both cores drawing.
  it("starts at most lookahead + 1 images ahead of the one the consumer holds", async () => {
    const generator = countingGenerator();
    const lookahead = 1;
    const batch = generateBatch(generator, thumb, "p", 32, new AbortController().signal, {
      lookahead,
    });
    assert.equal(generator.started, 0, "started before the first read");
    const first = await batch.next();
    assert.equal(first.value?.index, 0);
    assert.equal(generator.started, 1 + lookahead + 1);
    let held = 1;
    for await (const image of batch) {
      held++;
      assert.ok(
        generator.started <= held + lookahead + 1,
        `${generator.started} started, ${held} handed over`,
      );
      assert.equal(image.index, held - 1);
    }
    assert.deepEqual([held, generator.started], [32, 32]);
  });

  it("starts nothing more once the signal aborts", async () => {
    const generator = countingGenerator();
    const abort = new AbortController();
    const batch = generateBatch(generator, thumb, "p", 32, abort.signal, { lookahead: 1 });
    await batch.next();
    const started = generator.started;
    abort.abort();
    await assert.rejects(batch.next());
    assert.equal(generator.started, started);
  });
});
