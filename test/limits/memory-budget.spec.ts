import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createMemoryBudget } from "../../src/limits/index.js";

const never = new AbortController().signal;

describe("memory budget", () => {
  it("counts the cache at its budget, write-ahead per stream, and each held image once", () => {
    const budget = createMemoryBudget({ limitBytes: 1000, cacheBytes: 200, cacheSize: () => 50 });
    const stream = budget.tryReserveStream(100);
    assert.ok(stream);
    const a = budget.tryHoldImage("image-a", 100);
    const alsoA = budget.tryHoldImage("image-a", 100);
    assert.ok(a && alsoA);
    assert.deepEqual(budget.usage(), { cache: 50, images: 100, writeAhead: 100 });
    a.resize(80);
    assert.equal(budget.usage().images, 80);
    a.release();
    assert.equal(budget.usage().images, 80, "still held by the second stream");
    alsoA.release();
    stream.release();
    stream.release();
    assert.deepEqual(budget.usage(), { cache: 50, images: 0, writeAhead: 0 });
  });

  it("refuses a stream that does not fit, and one more once room is back", () => {
    const budget = createMemoryBudget({ limitBytes: 1000, cacheBytes: 200 });
    const streams = [budget.tryReserveStream(400), budget.tryReserveStream(400)];
    assert.ok(streams[0] && streams[1]);
    assert.equal(budget.tryReserveStream(1), undefined);
    streams[0]?.release();
    assert.ok(budget.tryReserveStream(400));
  });

  it("draws ahead only with a quarter of the streams' share to spare", () => {
    const budget = createMemoryBudget({ limitBytes: 1000, cacheBytes: 200 });
    // Streams share 800; images drawn ahead must leave 200 free.
    assert.ok(budget.tryHoldImage("a", 500));
    assert.equal(budget.tryHoldImage("b", 150), undefined);
    assert.ok(budget.tryHoldImage("c", 100));
  });

  it("makes a needed image wait for room, in order, and grants it when room is back", async () => {
    const budget = createMemoryBudget({ limitBytes: 1000, cacheBytes: 200 });
    const big = await budget.holdImage("big", 700, never, 60_000);
    const waiting = budget.holdImage("next", 300, never, 60_000);
    let granted = false;
    waiting.then(() => {
      granted = true;
    });
    await Promise.resolve();
    assert.equal(granted, false);
    assert.equal(budget.tryHoldImage("ahead", 10), undefined, "drawing ahead overtook a waiter");
    big.release();
    const hold = await waiting;
    assert.equal(budget.usage().images, 300);
    hold.release();
  });

  it("gives up a wait with RESOURCE_EXHAUSTED after waitMs, or with the signal's reason", async () => {
    const budget = createMemoryBudget({ limitBytes: 1000, cacheBytes: 200 });
    await budget.holdImage("big", 800, never, 60_000);
    await assert.rejects(budget.holdImage("late", 100, never, 1), (err) => {
      const error = ConnectError.from(err);
      assert.equal(error.code, Code.ResourceExhausted);
      assert.match(error.rawMessage, /server memory budget of 1000 bytes is in use/);
      return true;
    });
    const abort = new AbortController();
    const waiting = budget.holdImage("cancelled", 100, abort.signal, 60_000);
    const reason = new ConnectError("gone", Code.Canceled);
    abort.abort(reason);
    await assert.rejects(waiting, (err) => err === reason);
  });

  it("must be larger than the cache", () => {
    assert.throws(
      () => createMemoryBudget({ limitBytes: 100, cacheBytes: 100 }),
      /must be larger than the image cache/,
    );
  });
});
