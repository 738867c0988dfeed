/**
 * A memory budget bounds what streams may hold. 100 slow readers (clients
 * that never send WINDOW_UPDATE) of distinct noise-1000 prompts used to
 * hold about 10 MB each with no overall limit (RSS past 1 GB); with the
 * budget, the server holds at most the budget (modelmora_memory_bytes, its
 * parts summed, read on /metrics) and its resident memory grows by at most
 * the budget plus an allowance for what the garbage collector has not
 * returned yet (process_resident_memory_bytes, against a baseline taken
 * after a warm-up). Streams past the budget are refused or wait; none of
 * that is a failure here. Once the readers leave, the streams' share of
 * the budget goes back to zero.
 *
 * The server runs as the CLI in its own process, so its RSS is its own.
 * The budget is set through its environment variable.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { createInferenceClient } from "../../src/client/index.js";
import { InferenceRequestSchema } from "../../src/gen/modelmora/inference_pb.js";
import {
  type CliServer,
  collect,
  envelope,
  reassemble,
  type Sample,
  startCli,
  sumOf,
  waitFor,
} from "../support/index.js";
import { connectH2, type H2Connection } from "./h2/index.js";
import { hasMetric, scrape } from "./support.js";

const mib = 1024 * 1024;
const budgetBytes = 128 * mib;
const cacheBytes = 32 * mib;
/**
 * What RSS may grow past the budget: freed image buffers the allocator has
 * not handed back yet, and the connections' own buffers.
 */
const allowanceBytes = 256 * mib;
/** Slow readers, each on a connection of its own (so no connection window is shared). */
const readers = 100;

function memoryHeld(samples: readonly Sample[]): number {
  return sumOf(samples, "modelmora_memory_bytes");
}

function rss(samples: readonly Sample[]): number {
  return sumOf(samples, "process_resident_memory_bytes");
}

describe("the memory budget holds against 100 slow readers", () => {
  let cli: CliServer;
  before(async () => {
    cli = await startCli(["--log-level", "warn", "--cache-bytes", String(cacheBytes)], {
      env: { MODELMORA_MEMORY_BUDGET_BYTES: String(budgetBytes) },
    });
  });
  after(async () => {
    await cli.stop();
  });

  it(`keeps modelmora_memory_bytes under ${budgetBytes / mib} MiB and RSS growth under the budget + ${allowanceBytes / mib} MiB`, async (t) => {
    // Warm up: canvases and buffers a first noise-1000 render allocates.
    const warm = createInferenceClient({ baseUrl: cli.url, protocol: "grpc" });
    try {
      const images = reassemble(
        await collect(
          warm.client.streamInference({ modelId: "noise-1000", prompt: "warm up", batchSize: 2 }),
        ),
      );
      assert.equal(images.length, 2);
    } finally {
      warm.close();
    }
    const baseline = rss(await scrape(cli.url));

    const h2s: H2Connection[] = [];
    const streams: [H2Connection, number][] = [];
    const runId = Date.now();
    try {
      for (let c = 0; c < readers; c++) {
        const h2 = await connectH2({ url: cli.url });
        h2s.push(h2);
        const body = envelope(
          toBinary(
            InferenceRequestSchema,
            create(InferenceRequestSchema, {
              modelId: "noise-1000",
              prompt: `slow reader ${runId} ${c}`,
              batchSize: 10,
            }),
          ),
        );
        const id = h2.request(
          {
            ":method": "POST",
            ":scheme": "http",
            ":path": "/modelmora.InferenceService/StreamInference",
            ":authority": "robustness",
            "content-type": "application/grpc",
            te: "trailers",
          },
          { body },
        );
        streams.push([h2, id]);
      }

      let peakRss = baseline;
      let peakHeld = 0;
      let heldMetric = true;
      // Settled: every stream refused or ended, or sending (and now stuck on
      // the client's window), and nothing drawing or queued. Not settling is
      // reported after the memory checks, which say more.
      let settled = false;
      const deadline = Date.now() + 180_000;
      while (!settled && Date.now() < deadline) {
        const samples = await scrape(cli.url);
        peakRss = Math.max(peakRss, rss(samples));
        heldMetric &&= hasMetric(samples, "modelmora_memory_bytes");
        peakHeld = Math.max(peakHeld, memoryHeld(samples));
        const answered = streams.every(([h2, id]) => {
          const state = h2.stream(id);
          return state.ended || state.resetCode !== undefined || state.dataBytes > 0 || h2.isClosed;
        });
        settled = answered && sumOf(samples, "modelmora_renders_in_progress") === 0;
        if (!settled) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const served = streams.filter(([h2, id]) => h2.stream(id).dataBytes > 0).length;
      t.diagnostic(
        `${readers} slow readers: ${served} got data, ${readers - served} refused or waiting; RSS ${Math.round(baseline / mib)} MiB → peak ${Math.round(peakRss / mib)} MiB; modelmora_memory_bytes peak ${Math.round(peakHeld / mib)} MiB`,
      );
      assert.ok(
        peakRss - baseline <= budgetBytes + allowanceBytes,
        `RSS grew by ${Math.round((peakRss - baseline) / mib)} MiB (${Math.round(baseline / mib)} → ${Math.round(peakRss / mib)} MiB), past the ${budgetBytes / mib} MiB budget + ${allowanceBytes / mib} MiB allowance`,
      );
      assert.ok(heldMetric, "no modelmora_memory_bytes on /metrics");
      assert.ok(peakHeld > 0, "modelmora_memory_bytes stayed 0 while streams held images");
      assert.ok(
        peakHeld <= budgetBytes,
        `modelmora_memory_bytes reached ${Math.round(peakHeld / mib)} MiB, past the ${budgetBytes / mib} MiB budget`,
      );
      assert.equal(sumOf(await scrape(cli.url), "modelmora_memory_budget_bytes"), budgetBytes);
      assert.ok(
        settled,
        "the slow readers were not all answered, or the server kept drawing, for 180 s",
      );
    } finally {
      for (const h2 of h2s) h2.destroy();
    }

    // The readers are gone: what the streams held is released; the cache stays.
    await waitFor(async () => {
      const samples = await scrape(cli.url);
      return (
        sumOf(samples, "modelmora_memory_bytes", { part: "images" }) +
          sumOf(samples, "modelmora_memory_bytes", { part: "write_ahead" }) ===
        0
      );
    }, "the streams' images and write-ahead buffers to be released");
    assert.ok(
      sumOf(await scrape(cli.url), "modelmora_memory_bytes", { part: "cache" }) <= cacheBytes,
    );

    // And it serves.
    const after = createInferenceClient({ baseUrl: cli.url, protocol: "grpc" });
    try {
      assert.equal(
        reassemble(
          await collect(
            after.client.streamInference({ modelId: "thumb-64", prompt: "after", batchSize: 1 }),
          ),
        ).length,
        1,
      );
    } finally {
      after.close();
    }
  });

  it("releases what streams held when their clients leave while others still wait for room", async () => {
    const h2s: H2Connection[] = [];
    const streams: [H2Connection, number][] = [];
    const runId = Date.now();
    try {
      for (let c = 0; c < 60; c++) {
        const h2 = await connectH2({ url: cli.url });
        h2s.push(h2);
        const body = envelope(
          toBinary(
            InferenceRequestSchema,
            create(InferenceRequestSchema, {
              modelId: "noise-1000",
              prompt: `leaving reader ${runId} ${c}`,
              batchSize: 10,
            }),
          ),
        );
        streams.push([
          h2,
          h2.request(
            {
              ":method": "POST",
              ":scheme": "http",
              ":path": "/modelmora.InferenceService/StreamInference",
              ":authority": "robustness",
              "content-type": "application/grpc",
              te: "trailers",
            },
            { body },
          ),
        ]);
      }
      // The budget is full and streams still wait for room (or renders).
      await waitFor(async () => {
        const samples = await scrape(cli.url);
        return memoryHeld(samples) >= budgetBytes / 2;
      }, "the slow readers to fill half the budget");
    } finally {
      for (const h2 of h2s) h2.destroy();
    }
    let held = -1;
    await waitFor(
      async () => {
        const samples = await scrape(cli.url);
        held = hasMetric(samples, "modelmora_memory_bytes")
          ? sumOf(samples, "modelmora_memory_bytes", { part: "images" }) +
            sumOf(samples, "modelmora_memory_bytes", { part: "write_ahead" })
          : Number.NaN;
        return held === 0 && sumOf(samples, "modelmora_renders_in_progress") === 0;
      },
      () =>
        `modelmora_memory_bytes{part="images"} + {part="write_ahead"} to return to 0 once the clients left (it is ${held})`,
    );
  });
});
