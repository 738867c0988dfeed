/**
 * Render slots: ServerOptions.maxConcurrentRenders bounds the images a
 * server draws at once, read on modelmora_renders_in_progress{state} while
 * three streams compete for one slot; and each of N cluster workers gets
 * its share of the cores (rendersPerWorker), so N workers don't each draw
 * as many images at once as the machine has cores. (The cluster spec
 * checks that each worker says its share in its "listening" log line.)
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { rendersPerWorker } from "../../src/cluster/index.js";
import {
  assertCode,
  callStream,
  protocolCases,
  samplesOf,
  sampleValue,
  startServer,
  waitFor,
} from "../support/index.js";

describe("render slots", () => {
  it("shares the cores out among workers, at least one each", () => {
    const cases: [workers: number, cores: number, slots: number][] = [
      [1, 8, 8],
      [2, 8, 4],
      [3, 8, 2],
      [2, 2, 1],
      [3, 2, 1],
      [4, 1, 1],
    ];
    for (const [workers, cores, slots] of cases) {
      assert.equal(rendersPerWorker(workers, cores), slots, `${workers} workers on ${cores} cores`);
    }
  });

  it("draws at most maxConcurrentRenders images at once; the others wait their turn", async () => {
    // No cache, so every image is drawn; three streams of four large images.
    const srv = await startServer({ maxConcurrentRenders: 1, cacheBytes: 0 });
    try {
      const grpc = protocolCases.find((c) => c.protocol === "grpc");
      assert.ok(grpc);
      let done = false;
      const calls = Promise.all(
        [1, 2, 3].map((n) =>
          callStream(srv, grpc, { modelId: "noise-1000", prompt: `slot ${n}`, batchSize: 4 }),
        ),
      ).finally(() => {
        done = true;
      });
      let mostRunning = 0;
      let mostQueued = 0;
      await waitFor(async () => {
        const samples = await samplesOf(srv.server);
        const state = (s: string) =>
          sampleValue(samples, "modelmora_renders_in_progress", { state: s }) ?? 0;
        mostRunning = Math.max(mostRunning, state("running"));
        mostQueued = Math.max(mostQueued, state("queued"));
        return done;
      }, "three streams of noise-1000 to end");
      for (const outcome of await calls) {
        assertCode(outcome, undefined);
        assert.equal(outcome.chunks.length > 0, true);
      }
      assert.equal(mostRunning, 1, "one render slot");
      assert.ok(mostQueued >= 1, "renders waited for the slot");
    } finally {
      await srv.close();
    }
  });
});
