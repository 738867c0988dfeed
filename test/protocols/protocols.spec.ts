/**
 * The same cases over every protocol the Connect clients speak: gRPC,
 * gRPC-Web and Connect (binary and JSON) over HTTP/1.1 and HTTP/2, against
 * a real server on port 0.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { createInferenceClient, type InferenceClient } from "../../src/index.js";
import {
  assertConnectError,
  clientCases,
  collect,
  inspectPng,
  reassemble,
  startServer,
  type TestServer,
} from "../support/index.js";

describe("every protocol through the Connect clients", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  for (const clientCase of clientCases) {
    describe(clientCase.name, () => {
      let inference: InferenceClient;
      before(() => {
        inference = createInferenceClient({
          baseUrl: srv.url,
          protocol: clientCase.protocol,
          httpVersion: clientCase.httpVersion,
        });
      });
      after(() => {
        inference.close();
      });

      it("lists the nine models, the limits and the renderer", async () => {
        const res = await inference.client.listModels({});
        assert.deepEqual(
          res.models.map((m) => [m.id, m.width, m.height]),
          [
            ["noise-1000", 1000, 1000],
            ["test-model", 1024, 1024],
            ["scene-1024", 1024, 1024],
            ["thumb-64", 64, 64],
            ["noise-1k", 17, 17],
            ["noise-10k", 57, 57],
            ["noise-100k", 182, 182],
            ["noise-1m", 576, 576],
            ["noise-10m", 1824, 1824],
          ],
        );
        for (const model of res.models) {
          assert.ok(model.description.length > 0, `${model.id} has no description`);
          assert.ok(model.typicalImageBytes > 0n, `${model.id} has no typical size`);
        }
        assert.equal(res.maxBatchSize, 32);
        assert.equal(res.chunkBytes, 1_000_000);
        assert.equal(res.renderer, srv.server.rendererName);
      });

      it("streams a batch of thumb-64 images that rebuild into valid PNGs", async () => {
        const chunks = await collect(
          inference.client.streamInference({ modelId: "thumb-64", prompt: "a fox", batchSize: 3 }),
        );
        const images = reassemble(chunks);
        assert.deepEqual(
          images.map((image) => image.index),
          [0, 1, 2],
        );
        for (const image of images) {
          const png = inspectPng(image.png);
          assert.deepEqual([png.widthPx, png.heightPx], [64, 64]);
          assert.equal(image.metadata.content_type, "image/png");
          assert.equal(image.metadata.model_id, "thumb-64");
          assert.equal(image.metadata.image_count, "3");
        }
        assert.equal(new Set(images.map((image) => image.sha256)).size, 3, "images differ");
      });

      it("answers NOT_FOUND for an unknown model", async () => {
        await assertConnectError(
          collect(inference.client.streamInference({ modelId: "nope", prompt: "x", batchSize: 1 })),
          Code.NotFound,
          /model_id "nope".*noise-1000, test-model, scene-1024, thumb-64, noise-1k, noise-10k, noise-100k, noise-1m, noise-10m/,
        );
      });

      it("answers INVALID_ARGUMENT for a missing model_id", async () => {
        await assertConnectError(
          collect(inference.client.streamInference({ prompt: "x", batchSize: 1 })),
          Code.InvalidArgument,
          /model_id is required/,
        );
      });

      for (const batchSize of [0, -1, 33]) {
        it(`answers INVALID_ARGUMENT for batch_size ${batchSize}`, async () => {
          await assertConnectError(
            collect(
              inference.client.streamInference({ modelId: "thumb-64", prompt: "x", batchSize }),
            ),
            Code.InvalidArgument,
            new RegExp(`batch_size must be from 1 to 32, got ${batchSize}`),
          );
        });
      }

      it("answers INVALID_ARGUMENT for a prompt over 4,096 bytes", async () => {
        await assertConnectError(
          collect(
            inference.client.streamInference({
              modelId: "thumb-64",
              prompt: "é".repeat(2049),
              batchSize: 1,
            }),
          ),
          Code.InvalidArgument,
          /prompt must be at most 4096 bytes of UTF-8, got 4098/,
        );
      });

      it("answers INVALID_ARGUMENT for a 100 KB request body", async () => {
        await assertConnectError(
          collect(
            inference.client.streamInference({
              modelId: "thumb-64",
              prompt: "x".repeat(100_000),
              batchSize: 1,
            }),
          ),
          Code.InvalidArgument,
          /request body is \d+ bytes or more; the limit is 65536/,
        );
      });

      it("still serves after the bad requests", async () => {
        const chunks = await collect(
          inference.client.streamInference({ modelId: "thumb-64", prompt: "after", batchSize: 1 }),
        );
        assert.equal(reassemble(chunks).length, 1);
        const res = await inference.client.listModels({});
        assert.equal(res.models.length, 9);
      });
    });
  }
});
