import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createRenderQueue } from "../../src/imaging/index.js";

/** A task that runs until finish() is called, and says when it started. */
function gate() {
  let finish: () => void = () => {};
  let started = false;
  const task = () => {
    started = true;
    return new Promise<string>((resolve) => {
      finish = () => resolve("done");
    });
  };
  return {
    task,
    finish: () => finish(),
    get started() {
      return started;
    },
  };
}

describe("render queue", () => {
  it("runs at most `concurrency` tasks and starts the next as one ends", async () => {
    const queue = createRenderQueue({ concurrency: 2, maxQueued: 10 });
    const [a, b, c] = [gate(), gate(), gate()];
    const never = new AbortController().signal;
    const results = [a, b, c].map((g) => queue.run(g.task, never));
    assert.deepEqual([a.started, b.started, c.started], [true, true, false]);
    assert.deepEqual([queue.running, queue.queued], [2, 1]);
    a.finish();
    assert.equal(await results[0], "done");
    await new Promise((resolve) => setImmediate(resolve)); // the queue's finally runs
    assert.equal(c.started, true);
    b.finish();
    c.finish();
    assert.deepEqual(await Promise.all(results), ["done", "done", "done"]);
    assert.deepEqual([queue.running, queue.queued], [0, 0]);
  });

  it("drops a waiting task whose signal aborts: it never runs and rejects with the reason", async () => {
    const queue = createRenderQueue({ concurrency: 1, maxQueued: 10 });
    const first = gate();
    const dropped = gate();
    const never = new AbortController().signal;
    const running = queue.run(first.task, never);
    const abort = new AbortController();
    const waiting = queue.run(dropped.task, abort.signal);
    const reason = new ConnectError("client went away", Code.Canceled);
    abort.abort(reason);
    await assert.rejects(waiting, (err) => err === reason);
    assert.equal(queue.queued, 0);
    first.finish();
    await running;
    assert.equal(dropped.started, false, "the dropped task ran");
  });

  it("refuses with RESOURCE_EXHAUSTED once maxQueued tasks wait, and says so in hasRoom", async () => {
    const queue = createRenderQueue({ concurrency: 1, maxQueued: 1 });
    const never = new AbortController().signal;
    const [a, b] = [gate(), gate()];
    const pending = [queue.run(a.task, never), queue.run(b.task, never)];
    assert.equal(queue.hasRoom(), false);
    await assert.rejects(queue.run(gate().task, never), (err) => {
      assert.equal(ConnectError.from(err).code, Code.ResourceExhausted);
      assert.equal(ConnectError.from(err).metadata.get("retry-after"), "1");
      return true;
    });
    a.finish();
    await pending[0];
    await new Promise((resolve) => setImmediate(resolve)); // the queue's finally runs
    assert.equal(b.started, true);
    b.finish();
    await Promise.all(pending);
    assert.equal(queue.hasRoom(), true);
  });
});
