/**
 * Backpressure and cancellation: the server draws images only a little
 * ahead of what the client has read, and a client that hangs up stops the
 * work for its request. Work is counted with modelmora_images_total
 * (images drawn, not from the cache), never with a clock.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { createInferenceClient } from "../src/client/index.js";
import { InferenceService } from "../src/gen/modelmora/inference_pb.js";
import {
  type ChunkLike,
  curl,
  reassemble,
  startServer,
  type TestServer,
  waitFor,
  waitForNoConnections,
} from "./helpers.js";

const batchSize = 32;
/**
 * How many images may be drawn for a client that read one chunk: the one
 * being read, the generator's lookahead, and what socket buffers and flow
 * control windows hold. Far below the 32 of the batch.
 */
const maxDrawnAhead = 12;

/** Images of noise-1000 drawn so far. */
async function drawn(srv: TestServer): Promise<number> {
  const res = await curl([`${srv.url}/metrics`]);
  const line = res.stdout
    .toString("utf8")
    .split("\n")
    .find(
      (l) =>
        l.startsWith("modelmora_images_total{") &&
        l.includes('model="noise-1000"') &&
        l.includes('cached="false"'),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(" ") + 1));
}

/**
 * Reads the count until it stops changing: five equal readings in a row.
 * Renders already started finish; the point is that no more start.
 */
async function settledDrawn(srv: TestServer): Promise<number> {
  let last = await drawn(srv);
  let same = 0;
  while (same < 5) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    const now = await drawn(srv);
    same = now === last ? same + 1 : 0;
    last = now;
  }
  return last;
}

describe("backpressure and cancellation", () => {
  let srv: TestServer;
  before(async () => {
    // A cache big enough for every image, so an image drawn once is never
    // drawn again and the count means work done for this test.
    srv = await startServer({ cacheBytes: 512 * 1024 * 1024 });
  });
  after(async () => {
    await srv.close();
  });

  async function afterHangUp(baseline: number, name: string) {
    await waitForNoConnections(srv.server);
    await waitFor(() => srv.server.activeCallCount === 0, "the call to end");
    const count = (await settledDrawn(srv)) - baseline;
    assert.ok(count >= 1, `${name}: drew nothing`);
    assert.ok(count <= maxDrawnAhead, `${name}: drew ${count} of ${batchSize} images`);
    const health = await curl([`${srv.url}/healthz`]);
    assert.equal(JSON.parse(health.stdout.toString("utf8")).active_calls, 1, "only /healthz");
    return `${name}: drew ${count} of ${batchSize} images`;
  }

  it("stops drawing when a gRPC client (connect-node transport) cancels after the first chunk", async (t) => {
    const baseline = await drawn(srv);
    const sessionManager = new Http2SessionManager(srv.url);
    const client = createClient(
      InferenceService,
      createGrpcTransport({ baseUrl: srv.url, sessionManager }),
    );
    const abort = new AbortController();
    let first: ChunkLike | undefined;
    try {
      for await (const chunk of client.streamInference(
        { modelId: "noise-1000", prompt: "cancel over grpc", batchSize },
        { signal: abort.signal },
      )) {
        first = chunk;
        abort.abort();
        break;
      }
    } catch {
      // Cancelled: expected.
    } finally {
      sessionManager.abort();
    }
    assert.equal(first?.chunkIndex, 0);
    t.diagnostic(await afterHangUp(baseline, "grpc"));
  });

  it("stops drawing when a Connect client over HTTP/1.1 closes after the first chunk", async (t) => {
    const baseline = await drawn(srv);
    const inference = createInferenceClient({
      baseUrl: srv.url,
      protocol: "connect",
      httpVersion: "1.1",
    });
    try {
      for await (const chunk of inference.client.streamInference({
        modelId: "noise-1000",
        prompt: "cancel over connect",
        batchSize,
      })) {
        assert.equal(chunk.chunkIndex, 0);
        break;
      }
    } finally {
      inference.close();
    }
    t.diagnostic(await afterHangUp(baseline, "connect"));
  });

  it("stops drawing when a REST client hangs up after the first bytes", async (t) => {
    const baseline = await drawn(srv);
    await new Promise<void>((resolve, reject) => {
      const req = http.request(
        `${srv.url}/infer/stream`,
        { method: "POST", agent: false },
        (res) => {
          assert.equal(res.statusCode, 200);
          res.once("data", () => {
            req.destroy();
            resolve();
          });
        },
      );
      req.on("error", (err) => {
        if (!req.destroyed) reject(err);
      });
      req.end(
        JSON.stringify({
          model_id: "noise-1000",
          prompt: "cancel over rest",
          batch_size: batchSize,
        }),
      );
    });
    t.diagnostic(await afterHangUp(baseline, "rest"));
  });

  it("draws only a little ahead of a client that stops reading, and finishes when it reads on", async (t) => {
    const baseline = await drawn(srv);
    const inference = createInferenceClient({
      baseUrl: srv.url,
      protocol: "grpc",
      // The client's receive window bounds what the server can send unread.
      windowBytes: 1024 * 1024,
    });
    try {
      const stream = inference.client
        .streamInference({
          modelId: "noise-1000",
          prompt: "a slow reader",
          batchSize,
        })
        [Symbol.asyncIterator]();
      const chunks: ChunkLike[] = [];
      const first = await stream.next();
      assert.ok(!first.done);
      chunks.push(first.value);
      // The client reads nothing more for now.
      const ahead = (await settledDrawn(srv)) - baseline;
      assert.ok(ahead <= maxDrawnAhead, `drew ${ahead} images for a client that read one chunk`);
      t.diagnostic(`drew ${ahead} images for a client that read one chunk`);
      for (;;) {
        const next = await stream.next();
        if (next.done) break;
        chunks.push(next.value);
      }
      assert.equal(chunks.length, batchSize * 4);
      assert.equal(reassemble(chunks).length, batchSize);
      assert.equal((await drawn(srv)) - baseline, batchSize);
    } finally {
      inference.close();
    }
  });
});
