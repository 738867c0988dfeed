/**
 * Backpressure and cancellation: the server draws images only a little
 * ahead of what the client has read, and a client that hangs up stops the
 * work for its request. Work is counted with modelmora_images_total (images
 * drawn, not from the cache), read once modelmora_renders_in_progress
 * (running and queued) is 0, never with a clock. Then generateBatch, the
 * lookahead that bounds it, without a server.
 */
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import {
  generateBatch,
  type ImageGenerator,
  type ModelProfile,
  modelProfiles,
} from "../../src/imaging/index.js";
import { createInferenceClient, InferenceService } from "../../src/index.js";
import {
  type ChunkLike,
  httpRequest,
  imagesDrawnWhenIdle,
  imagesServed,
  reassemble,
  startServer,
  type TestServer,
  waitForNoCalls,
  waitForNoConnections,
} from "../support/index.js";

const batchSize = 32;
/**
 * How many images may be drawn for a client that read one chunk: the one
 * being read, the generator's lookahead, and what socket buffers and flow
 * control windows hold. Far below the 32 of the batch.
 */
const maxDrawnAhead = 12;

/** Images of noise-1000 drawn so far, once nothing is drawing. */
function drawn(srv: TestServer): Promise<number> {
  return imagesDrawnWhenIdle(srv.server, "noise-1000");
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
    // The call has ended, so no render can start for it: once none is
    // running or queued, the count is final.
    await waitForNoCalls(srv.server);
    const count = (await drawn(srv)) - baseline;
    assert.ok(count >= 1, `${name}: drew nothing`);
    assert.ok(count <= maxDrawnAhead, `${name}: drew ${count} of ${batchSize} images`);
    const health = await httpRequest(srv, { method: "GET", path: "/healthz" });
    assert.equal(JSON.parse(health.body.toString("utf8")).active_calls, 1, "only /healthz");
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
      // The client reads nothing more for now. Once the server waits on the
      // full window, nothing is drawing; were it drawing ahead regardless,
      // renders would run back to back and the gauge stay above 0 until
      // the whole batch was drawn.
      const ahead = (await drawn(srv)) - baseline;
      assert.ok(ahead <= maxDrawnAhead, `drew ${ahead} images for a client that read one chunk`);
      t.diagnostic(`drew ${ahead} images for a client that read one chunk`);
      for (;;) {
        const next = await stream.next();
        if (next.done) break;
        chunks.push(next.value);
      }
      assert.equal(chunks.length, batchSize * 4);
      assert.equal(reassemble(chunks).length, batchSize);
      assert.equal((await imagesServed(srv.server, "noise-1000")) - baseline, batchSize);
    } finally {
      inference.close();
    }
  });
});

const thumb = modelProfiles.find((model) => model.id === "thumb-64") as ModelProfile;

describe("generateBatch", () => {
  /** A generator that counts the images asked of it. */
  function countingGenerator(): ImageGenerator & { started: number } {
    const counter = {
      started: 0,
      rendererName: "fake",
      generate(_model: ModelProfile, _prompt: string, index: number) {
        counter.started++;
        return Promise.resolve({
          modelId: "thumb-64",
          index,
          widthPx: 64,
          heightPx: 64,
          png: Buffer.alloc(10),
          sha256: "",
          renderMs: 0,
          cached: false,
        });
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
