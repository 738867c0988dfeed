/**
 * Unit tests of the open-loop scheduler (`npm run bench:test`), in virtual
 * time: a simulated server that answers one request at a time, so the
 * figures are exact and no test depends on the machine's speed.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type OpenLoopClock, runOpenLoop, scheduleOffsetsMs } from "./open-loop.js";

/** A clock whose time moves only when every promise has settled and a timer is due. */
function createVirtualClock() {
  let nowMs = 0;
  const timers: { atMs: number; resolve: () => void }[] = [];
  const clock: OpenLoopClock = {
    now: () => nowMs,
    sleepUntil(atMs) {
      if (atMs <= nowMs) return Promise.resolve();
      return new Promise((resolve) => timers.push({ atMs, resolve }));
    },
  };
  /** Advances time from timer to timer until `work` settles. */
  async function runUntil<T>(work: Promise<T>): Promise<T> {
    let done = false;
    const settled = work.finally(() => {
      done = true;
    });
    for (;;) {
      // Let every ready promise run before time moves.
      await new Promise((resolve) => setImmediate(resolve));
      if (done) return settled;
      timers.sort((a, b) => a.atMs - b.atMs);
      const next = timers.shift();
      if (next === undefined) throw new Error("no timer left and the work is not done");
      nowMs = next.atMs;
      next.resolve();
    }
  }
  return { clock, runUntil };
}

/** A server that serves one request at a time, each taking serviceMs, in arrival order. */
function createQueueServer(clock: OpenLoopClock, serviceMs: number) {
  let busyUntilMs = 0;
  return {
    call(): Promise<void> {
      const startMs = Math.max(clock.now(), busyUntilMs);
      busyUntilMs = startMs + serviceMs;
      return clock.sleepUntil(busyUntilMs);
    },
  };
}

describe("scheduleOffsetsMs", () => {
  it("spaces rate requests per second evenly over the duration", () => {
    assert.deepEqual(scheduleOffsetsMs(10, 1000), [0, 100, 200, 300, 400, 500, 600, 700, 800, 900]);
    assert.equal(scheduleOffsetsMs(100, 1500).length, 150);
    assert.equal(scheduleOffsetsMs(100, 1500)[1], 10);
  });

  it("schedules at least one request, and none for a zero rate", () => {
    assert.deepEqual(scheduleOffsetsMs(1, 10), [0]);
    assert.deepEqual(scheduleOffsetsMs(0, 1000), []);
  });
});

describe("runOpenLoop", () => {
  it("below capacity, every latency is the service time and starts keep the schedule", async () => {
    const { clock, runUntil } = createVirtualClock();
    const server = createQueueServer(clock, 30);
    const outcome = await runUntil(
      runOpenLoop({ rateRps: 10, durationMs: 1000, call: server.call, clock }),
    );
    assert.equal(outcome.scheduled, 10);
    assert.equal(outcome.completed, 10);
    assert.deepEqual(new Set(outcome.latenciesMs), new Set([30]));
    assert.equal(outcome.maxStartLagMs, 0);
    assert.equal(outcome.maxInFlight, 1);
    assert.equal(outcome.elapsedMs, 930);
  });

  it("above capacity, latency counts the time spent queued (no coordinated omission)", async () => {
    const { clock, runUntil } = createVirtualClock();
    // 50 requests per second offered to a server that serves 33 per second.
    const server = createQueueServer(clock, 30);
    const outcome = await runUntil(
      runOpenLoop({ rateRps: 50, durationMs: 1000, call: server.call, clock }),
    );
    assert.equal(outcome.completed, 50);
    // Requests keep starting on schedule while earlier ones wait.
    assert.equal(outcome.maxStartLagMs, 0);
    assert.ok(outcome.maxInFlight > 10, `max in flight ${outcome.maxInFlight}`);
    // Request i is scheduled at 20·i ms and done at 30·(i+1) ms: it waited 10·i ms more.
    const sorted = [...outcome.latenciesMs].sort((a, b) => a - b);
    assert.equal(sorted[0], 30);
    assert.equal(sorted.at(-1), 30 + 10 * 49);
    assert.deepEqual(
      outcome.latenciesMs,
      outcome.latenciesMs.map((_, i) => 30 + 10 * i),
    );
  });

  it("a closed loop on the same server would report the service time alone", async () => {
    const { clock, runUntil } = createVirtualClock();
    const server = createQueueServer(clock, 30);
    const closedLoopMs: number[] = [];
    await runUntil(
      (async () => {
        for (let i = 0; i < 50; i++) {
          const started = clock.now();
          await server.call();
          closedLoopMs.push(clock.now() - started);
        }
      })(),
    );
    // 50 requests took 1.5 s instead of 1 s, and none of them looks slow.
    assert.deepEqual(new Set(closedLoopMs), new Set([30]));
  });

  it("counts failures apart from latencies and keeps the first error", async () => {
    const { clock, runUntil } = createVirtualClock();
    let n = 0;
    const outcome = await runUntil(
      runOpenLoop({
        rateRps: 100,
        durationMs: 100,
        clock,
        async call() {
          n++;
          await clock.sleepUntil(clock.now() + 5);
          if (n % 2 === 0) throw new Error(`failure ${n}`);
        },
      }),
    );
    assert.equal(outcome.scheduled, 10);
    assert.equal(outcome.completed, 5);
    assert.equal(outcome.failed, 5);
    assert.equal(outcome.latenciesMs.length, 5);
    assert.equal((outcome.firstError as Error).message, "failure 2");
  });

  it("stops scheduling once maxInFlight requests are in flight, and says so", async () => {
    const { clock, runUntil } = createVirtualClock();
    const server = createQueueServer(clock, 1000);
    const outcome = await runUntil(
      runOpenLoop({ rateRps: 100, durationMs: 1000, call: server.call, clock, maxInFlight: 5 }),
    );
    assert.equal(outcome.overloaded, true);
    assert.equal(outcome.started, 5);
    assert.equal(outcome.completed, 5);
    assert.equal(outcome.scheduled, 100);
  });
});
