/**
 * Work follows demand: a render nobody waits for any more is dropped
 * before it starts. Streams reset straight after they open (one h2c
 * connection, 300 of them), ordinary cancels after the first chunk, and
 * client deadlines must leave no render queued once the calls are gone;
 * meanwhile an ordinary request is served whole.
 *
 * How "nothing left" is checked without timing: once the server has no
 * stream in flight, the renders it still draws are read from
 * modelmora_renders_in_progress and modelmora_images_total. A render that
 * is running then cannot be stopped (canvas encoding runs to its end), so
 * at most the renders running at that moment may still be drawn; every
 * queued one must be dropped. Before the fix the queue held two to three
 * renders per cancelled stream and drew them all. And what the memory
 * budget counted for those streams (images, write-ahead buffers) must be
 * released, or the budget fills with streams that are gone.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createInferenceClient } from "../../src/client/index.js";
import { InferenceRequestSchema } from "../../src/gen/modelmora/inference_pb.js";
import {
  collect,
  envelope,
  inspectPng,
  parseSamples,
  reassemble,
  startServer,
  sumOf,
  type TestServer,
  waitFor,
} from "../support/index.js";
import {
  connectH2,
  dataFrame,
  encodeHeaderBlock,
  headersFrame,
  rstStreamFrame,
} from "./h2/index.js";
import { hasMetric, scrape } from "./support.js";

const streamPath = "/modelmora.InferenceService/StreamInference";
const model = "noise-1000";

/** The drawn-image count and the render gauges, read in one scrape. */
async function renderState(srv: TestServer) {
  const samples = await scrape(srv.url);
  return {
    // NaN (never 0) when the server has no such gauge.
    held: hasMetric(samples, "modelmora_memory_bytes")
      ? sumOf(samples, "modelmora_memory_bytes", { part: "images" }) +
        sumOf(samples, "modelmora_memory_bytes", { part: "write_ahead" })
      : Number.NaN,
    drawn: sumOf(samples, "modelmora_images_total", { model, cached: "false" }),
    running: sumOf(samples, "modelmora_renders_in_progress", { state: "running" }),
    queued: sumOf(samples, "modelmora_renders_in_progress", { state: "queued" }),
    activeStreams: sumOf(samples, "modelmora_active_streams"),
  };
}

/**
 * Waits until no stream is in flight, then until nothing is drawn or
 * queued; asserts that no render queued at the first moment was drawn.
 * Returns the renders drawn after the calls were gone.
 */
async function assertNoWorkLeft(srv: TestServer, what: string): Promise<number> {
  await waitFor(
    async () => (await renderState(srv)).activeStreams === 0 && srv.server.activeCallCount === 0,
    `${what}: no stream in flight`,
  );
  const gone = await renderState(srv);
  await waitFor(
    async () => {
      const now = await renderState(srv);
      return now.running + now.queued === 0;
    },
    `${what}: modelmora_renders_in_progress running + queued to reach 0 (at the moment the calls were gone: ${gone.running} running, ${gone.queued} queued)`,
    120_000,
  );
  const settled = await renderState(srv);
  const drawnAfter = settled.drawn - gone.drawn;
  // Nothing is held for streams that are gone: the memory budget's share
  // of images and write-ahead buffers is back to zero.
  let held = -1;
  await waitFor(
    async () => {
      held = (await renderState(srv)).held;
      return held === 0;
    },
    () =>
      `${what}: modelmora_memory_bytes{part="images"} + {part="write_ahead"} to return to 0 (it is ${held})`,
  );
  assert.ok(
    drawnAfter <= gone.running,
    `${what}: ${drawnAfter} images were drawn after every call had gone, when ${gone.running} renders were running and ${gone.queued} queued: queued renders nobody waits for were drawn`,
  );
  return drawnAfter;
}

/** A gRPC StreamInference request body: one envelope. */
function grpcRequest(prompt: string, batchSize: number): Buffer {
  return envelope(
    toBinary(
      InferenceRequestSchema,
      create(InferenceRequestSchema, { modelId: model, prompt, batchSize }),
    ),
  );
}

/** An ordinary small request, read whole and checked image by image. */
async function ordinaryRequest(srv: TestServer): Promise<number> {
  const started = performance.now();
  const inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
  try {
    const images = reassemble(
      await collect(
        inference.client.streamInference({
          modelId: "thumb-64",
          prompt: `ordinary ${started}`,
          batchSize: 2,
        }),
      ),
    );
    assert.equal(images.length, 2);
    for (const image of images) inspectPng(image.png);
  } finally {
    inference.close();
  }
  return performance.now() - started;
}

describe("work follows demand", () => {
  let srv: TestServer;
  before(async () => {
    srv = await startServer({
      // This suite is about renders nobody waits for, not about the limits
      // that would otherwise refuse streams or end the connection first
      // (h2-limits.spec.ts, memory-budget.spec.ts): they are set out of reach.
      maxResetStreams: 100_000,
      maxConcurrentStreams: 1000,
      maxQueuedRenders: 100_000,
      memoryBudgetBytes: 64 * 1024 * 1024 * 1024,
    });
  });
  after(async () => {
    await srv.close();
  });

  it("300 gRPC streams opened and reset at once on one h2c connection leave the server idle; an ordinary request meanwhile is served", async (t) => {
    const h2 = await connectH2({ url: srv.url });
    await h2.settings();
    const frames: Buffer[] = [];
    const runId = Date.now();
    for (let i = 0; i < 300; i++) {
      const id = h2.nextStreamId();
      const block = encodeHeaderBlock({
        ":method": "POST",
        ":scheme": "http",
        ":path": streamPath,
        ":authority": "robustness",
        "content-type": "application/grpc",
        te: "trailers",
      });
      frames.push(
        headersFrame(id, block),
        dataFrame(id, grpcRequest(`reset storm ${runId} ${i}`, 10), true),
        rstStreamFrame(id),
      );
    }
    h2.send(Buffer.concat(frames));
    const ordinary = ordinaryRequest(srv);
    // The client leaves.
    h2.end();
    await h2.closed;
    const ordinaryMs = await ordinary;
    t.diagnostic(
      `an ordinary request during the reset storm took ${Math.round(ordinaryMs)} ms (not asserted)`,
    );
    await assertNoWorkLeft(srv, "300 reset streams");
  });

  it("50 gRPC streams cancelled after their first chunk leave no queued renders", async () => {
    const inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
    const runId = Date.now();
    try {
      const outcomes = await Promise.all(
        Array.from({ length: 50 }, async (_, i) => {
          const abort = new AbortController();
          let chunks = 0;
          try {
            for await (const _chunk of inference.client.streamInference(
              { modelId: model, prompt: `cancel ${runId} ${i}`, batchSize: 10 },
              { signal: abort.signal },
            )) {
              chunks++;
              abort.abort();
            }
            return "finished";
          } catch (err) {
            return chunks > 0
              ? Code[ConnectError.from(err).code]
              : `no chunk: ${(err as Error).message}`;
          }
        }),
      );
      assert.deepEqual(
        new Set(outcomes),
        new Set(["Canceled"]),
        "every stream was cancelled after its first chunk",
      );
    } finally {
      inference.close();
    }
    await assertNoWorkLeft(srv, "50 cancelled streams");
  });

  it("20 gRPC calls with grpc-timeout 300m leave no queued renders", async () => {
    const inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
    const runId = Date.now();
    try {
      const codes = await Promise.all(
        Array.from({ length: 20 }, async (_, i) => {
          try {
            await collect(
              inference.client.streamInference(
                { modelId: model, prompt: `deadline ${runId} ${i}`, batchSize: 10 },
                // Sent as grpc-timeout: 300m.
                { timeoutMs: 300 },
              ),
            );
            return "OK";
          } catch (err) {
            return Code[ConnectError.from(err).code];
          }
        }),
      );
      assert.deepEqual(new Set(codes), new Set(["DeadlineExceeded"]));
    } finally {
      inference.close();
    }
    await assertNoWorkLeft(srv, "20 calls past their deadline");
  });

  it("is idle at the end: nothing running, queued or streaming", async () => {
    const samples = parseSamples((await srv.server.metrics.render()).body);
    assert.equal(sumOf(samples, "modelmora_renders_in_progress"), 0);
    assert.equal(sumOf(samples, "modelmora_active_streams"), 0);
  });
});
