/**
 * The service without sockets: InferenceService on connect's in-memory
 * transport (createRouterTransport), and request validation as a plain
 * function. The same service on a real port is in protocols.spec.ts.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, createClient, createRouterTransport } from "@connectrpc/connect";
import {
  createImageGenerator,
  loadRenderer,
  type ModelProfile,
  modelProfiles,
} from "../../src/imaging/index.js";
import { InferenceService } from "../../src/index.js";
// Not exported by src/server/index.ts: the service and its validation are
// internals of the server, tested here one level below the wire.
import {
  createInferenceService,
  defaultInferenceLimits,
  validateInferenceRequest,
} from "../../src/server/index.js";
import { assertConnectError, collect, reassemble } from "../support/index.js";

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
