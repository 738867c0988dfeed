/**
 * curl as the client, over HTTP/1.1 and HTTP/2 with prior knowledge:
 * Connect JSON unary by POST and by GET, Connect streaming with an
 * enveloped JSON body, and the REST routes.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import {
  curl,
  curlConnectStream,
  curlRest,
  inspectPng,
  multipartOf,
  parseHeaderDump,
  reassemble,
  sha256Hex,
  startServer,
  type TestServer,
} from "../support/index.js";

const listModels = "/modelmora.InferenceService/ListModels";

describe("curl", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer();
  });
  after(async () => {
    await srv.close();
  });

  for (const [name, args] of [
    ["HTTP/1.1", ["--http1.1"]],
    ["HTTP/2 with prior knowledge", ["--http2-prior-knowledge"]],
  ] as const) {
    describe(name, () => {
      async function json(
        curlArgs: string[],
      ): Promise<{ status: number; body: unknown; version: string }> {
        const res = await curl([...args, "-w", "\n%{http_code} %{http_version}", ...curlArgs]);
        const text = res.stdout.toString("utf8");
        const cut = text.lastIndexOf("\n");
        const [status, version] = text.slice(cut + 1).split(" ");
        return {
          status: Number(status),
          body: JSON.parse(text.slice(0, cut)),
          version: version as string,
        };
      }

      it("calls ListModels with Connect JSON by POST and by GET, with the same answer", async () => {
        const post = await json([
          "-H",
          "content-type: application/json",
          "-d",
          "{}",
          `${srv.url}${listModels}`,
        ]);
        assert.equal(post.status, 200);
        assert.equal(post.version, name === "HTTP/1.1" ? "1.1" : "2");
        const get = await json([
          `${srv.url}${listModels}?connect=v1&encoding=json&message=${encodeURIComponent("{}")}`,
        ]);
        assert.equal(get.status, 200);
        assert.deepEqual(get.body, post.body);
        // Connect GET also takes a binary message, base64url in the query:
        // an empty ListModelsRequest is zero bytes.
        const binary = await curl([
          ...args,
          "-o",
          "/dev/null",
          "-w",
          "%{http_code} %{content_type}",
          `${srv.url}${listModels}?connect=v1&encoding=proto&base64=1&message=`,
        ]);
        assert.equal(binary.stdout.toString("utf8"), "200 application/proto");
        const models = (post.body as { models: { id: string }[]; renderer: string }).models;
        assert.deepEqual(
          models.map((model) => model.id),
          [
            "noise-1000",
            "test-model",
            "scene-1024",
            "thumb-64",
            "noise-1k",
            "noise-10k",
            "noise-100k",
            "noise-1m",
            "noise-10m",
          ],
        );
      });

      it("streams with Connect: an enveloped JSON body in, envelopes and an end-of-stream out", async () => {
        const { chunks, endStream } = await curlConnectStream(
          srv.url,
          { modelId: "thumb-64", prompt: "curl", batchSize: 3 },
          args,
        );
        assert.deepEqual(endStream, {});
        assert.equal(reassemble(chunks).length, 3);
      });

      it("gets Connect's error in the end-of-stream envelope for an unknown model", async () => {
        const { chunks, endStream } = await curlConnectStream(
          srv.url,
          { model_id: "nope", prompt: "curl", batch_size: 1 },
          args,
        );
        assert.equal(chunks.length, 0);
        assert.equal(endStream.error?.code, "not_found");
      });

      it("gets a PNG from REST for batch_size 1 and multipart/mixed for more", async () => {
        const single = await curlRest(
          srv.url,
          '{"model_id":"thumb-64","prompt":"curl","batch_size":1}',
          args,
        );
        assert.equal(single.status, 200);
        assert.equal(single.headers["content-type"], "image/png");
        assert.equal(single.headers["x-image-sha256"], sha256Hex(single.body));
        assert.equal(single.headers["x-image-width"], "64");
        inspectPng(single.body);

        const batch = await curlRest(
          srv.url,
          '{"modelId":"thumb-64","prompt":"curl","batchSize":3}',
          args,
        );
        assert.equal(batch.status, 200);
        const parts = multipartOf(batch);
        assert.equal(parts.length, 3);
        assert.ok(parts[0]?.body.equals(single.body), "image 0 differs from the single image");
        for (const part of parts) {
          inspectPng(part.body);
        }
      });

      it("gets health and the models from REST", async () => {
        const health = await json([`${srv.url}/healthz`]);
        assert.equal(health.status, 200);
        const body = health.body as { status: string; renderer: string; cache: object };
        assert.equal(body.status, "SERVING");
        assert.equal(body.renderer, srv.server.rendererName);
        assert.ok("entries" in body.cache && "bytes" in body.cache);
        const models = await json([`${srv.url}/v1/models`]);
        assert.equal(models.status, 200);
        assert.equal((models.body as { models: unknown[] }).models.length, 9);
        const head = await curl([...args, "-I", `${srv.url}/healthz`]);
        assert.equal(parseHeaderDump(head.stdout.toString("utf8")).status, 200);
      });
    });
  }
});
