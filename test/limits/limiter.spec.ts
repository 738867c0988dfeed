/**
 * The limiter on a fake clock: token buckets, retry-after, daily byte quotas
 * and their UTC rollover, concurrent streams per key and per server.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createLimiter,
  type KeyLimits,
  keyLimitsFromJson,
  type LimiterOptions,
  retryAfterSeconds,
  unlimited,
} from "../../src/limits/index.js";

/** 2024-05-01 12:00:00 UTC, in ms. */
const noon = Date.UTC(2024, 4, 1, 12);
const midnight = Date.UTC(2024, 4, 2);

function setup(defaults: Partial<KeyLimits>, options: Partial<LimiterOptions> = {}) {
  const clock = { ms: noon };
  const limiter = createLimiter({
    defaults: { ...unlimited, ...defaults },
    maxServerStreams: 0,
    now: () => clock.ms,
    ...options,
  });
  return { clock, limiter };
}

/** Runs fn, expecting RESOURCE_EXHAUSTED; returns the error. */
function exhausted(fn: () => unknown, message: RegExp): ConnectError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConnectError, "expected a ConnectError");
  assert.equal(caught.code, Code.ResourceExhausted);
  assert.match(caught.rawMessage, message);
  return caught;
}

describe("token bucket", () => {
  it("admits a burst, then refills at the rate", () => {
    const { clock, limiter } = setup({ requestsPerSecond: 5 });
    for (let i = 0; i < 5; i++) {
      limiter.admitCall("ci");
    }
    const err = exhausted(
      () => limiter.admitCall("ci"),
      /^rate limit of 5 requests\/s for key 'ci' exceeded/,
    );
    assert.equal(retryAfterSeconds(err), 1);
    assert.equal(err.metadata.get("retry-after"), "1");
    clock.ms += 199;
    exhausted(() => limiter.admitCall("ci"), /rate limit/);
    clock.ms += 1;
    limiter.admitCall("ci");
    exhausted(() => limiter.admitCall("ci"), /rate limit/);
  });

  it("never refills past the burst", () => {
    const { clock, limiter } = setup({ requestsPerSecond: 2, burst: 3 });
    clock.ms += 3_600_000;
    for (let i = 0; i < 3; i++) {
      limiter.admitCall("ci");
    }
    exhausted(() => limiter.admitCall("ci"), /rate limit of 2 requests\/s/);
  });

  it("gives retry-after in whole seconds until a token is back", () => {
    const { clock, limiter } = setup({ requestsPerSecond: 0.25 });
    limiter.admitCall("slow");
    let err = exhausted(() => limiter.admitCall("slow"), /rate limit of 0.25 requests\/s/);
    assert.equal(retryAfterSeconds(err), 4);
    clock.ms += 2500;
    err = exhausted(() => limiter.admitCall("slow"), /rate limit/);
    assert.equal(retryAfterSeconds(err), 2, "1.5 s rounds up to 2");
    clock.ms += 1500;
    limiter.admitCall("slow");
  });

  it("keeps a bucket per key", () => {
    const { limiter } = setup({ requestsPerSecond: 1 });
    limiter.admitCall("a");
    limiter.admitCall("b");
    exhausted(() => limiter.admitCall("a"), /key 'a'/);
  });

  it("lets a key's limits override the defaults field by field", () => {
    const { limiter } = setup({ requestsPerSecond: 1, burst: 2 });
    // rps from the key, burst still the default 2.
    limiter.admitCall("fast", { requestsPerSecond: 100 });
    limiter.admitCall("fast", { requestsPerSecond: 100 });
    exhausted(
      () => limiter.admitCall("fast", { requestsPerSecond: 100 }),
      /rate limit of 100 requests\/s/,
    );
    // 0 in a key's limits means unlimited for that key, whatever the default.
    for (let i = 0; i < 50; i++) {
      limiter.admitCall("free", { requestsPerSecond: 0 });
    }
    // undefined fields fall back to the defaults.
    limiter.admitCall("plain", { requestsPerSecond: undefined });
    limiter.admitCall("plain");
    exhausted(() => limiter.admitCall("plain"), /rate limit of 1 requests\/s/);
  });

  it("limits nothing with the unlimited defaults", () => {
    const { limiter } = setup({});
    for (let i = 0; i < 1000; i++) {
      limiter.admitCall("any");
    }
  });
});

describe("daily byte quota", () => {
  it("stops a stream mid-way, counts what fit, refuses calls until UTC midnight", () => {
    const { clock, limiter } = setup({ bytesPerDay: 1000 });
    limiter.admitCall("ci");
    const ticket = limiter.openStream("ci");
    ticket.addBytes(600);
    const err = exhausted(
      () => ticket.addBytes(600),
      /^daily quota of 1000 bytes for key 'ci' is used up/,
    );
    assert.equal(retryAfterSeconds(err), 12 * 3600);
    ticket.release();

    clock.ms = midnight - 1500;
    const refused = exhausted(() => limiter.admitCall("ci"), /daily quota of 1000 bytes/);
    assert.equal(retryAfterSeconds(refused), 2, "1.5 s to midnight rounds up to 2");
    limiter.admitCall("other");

    clock.ms = midnight;
    limiter.admitCall("ci");
    const next = limiter.openStream("ci");
    next.addBytes(1000);
    exhausted(() => next.addBytes(1), /daily quota/);
    next.release();
  });

  it("allows exactly the quota, and shares it across a key's streams", () => {
    const { limiter } = setup({ bytesPerDay: 100 });
    const a = limiter.openStream("ci");
    const b = limiter.openStream("ci");
    a.addBytes(60);
    b.addBytes(40);
    exhausted(() => limiter.admitCall("ci"), /daily quota of 100 bytes/);
    exhausted(() => a.addBytes(1), /daily quota/);
    a.release();
    b.release();
  });

  it("rolls over while a stream is open", () => {
    const { clock, limiter } = setup({ bytesPerDay: 100 });
    const ticket = limiter.openStream("ci");
    clock.ms = midnight - 1;
    ticket.addBytes(100);
    clock.ms = midnight;
    ticket.addBytes(100);
    exhausted(() => ticket.addBytes(1), /daily quota/);
    ticket.release();
  });

  it("takes a key's own quota", () => {
    const { limiter } = setup({ bytesPerDay: 10 });
    const big = limiter.openStream("big", { bytesPerDay: 1_000_000 });
    big.addBytes(500_000);
    const none = limiter.openStream("none", { bytesPerDay: 0 });
    none.addBytes(Number.MAX_SAFE_INTEGER);
    big.release();
    none.release();
  });
});

describe("concurrent streams", () => {
  it("caps streams per key, with retry-after 1", () => {
    const { limiter } = setup({ maxConcurrentStreams: 2 });
    const a = limiter.openStream("ci");
    const b = limiter.openStream("ci");
    const err = exhausted(
      () => limiter.openStream("ci"),
      /^concurrent stream limit of 2 for key 'ci' reached/,
    );
    assert.equal(retryAfterSeconds(err), 1);
    const other = limiter.openStream("other");
    a.release();
    const c = limiter.openStream("ci");
    for (const ticket of [b, c, other]) {
      ticket.release();
    }
    assert.equal(limiter.activeStreams().total, 0);
  });

  it("caps streams across the server", () => {
    const { limiter } = setup({}, { maxServerStreams: 2 });
    const a = limiter.openStream("a");
    const b = limiter.openStream("b");
    const err = exhausted(
      () => limiter.openStream("c"),
      /^server is at its limit of 2 concurrent streams/,
    );
    assert.equal(retryAfterSeconds(err), 1);
    b.release();
    limiter.openStream("c").release();
    a.release();
  });

  it("lets a key raise its own stream limit", () => {
    const { limiter } = setup({ maxConcurrentStreams: 1 });
    const tickets = [1, 2, 3].map(() => limiter.openStream("batch", { maxConcurrentStreams: 3 }));
    exhausted(() => limiter.openStream("batch", { maxConcurrentStreams: 3 }), /limit of 3/);
    for (const ticket of tickets) {
      ticket.release();
    }
  });

  it("releases once however often release is called, and reports active streams", () => {
    const { limiter } = setup({ maxConcurrentStreams: 1 }, { maxServerStreams: 5 });
    const a = limiter.openStream("a");
    const b = limiter.openStream("b");
    assert.deepEqual(limiter.activeStreams(), {
      total: 2,
      byKey: new Map([
        ["a", 1],
        ["b", 1],
      ]),
    });
    a.release();
    a.release();
    a.release();
    assert.deepEqual(limiter.activeStreams(), { total: 1, byKey: new Map([["b", 1]]) });
    exhausted(() => limiter.openStream("b"), /key 'b'/);
    b.release();
    assert.deepEqual(limiter.activeStreams(), { total: 0, byKey: new Map() });
  });
});

describe("memory", () => {
  it("forgets idle keys, and keeps what still matters", () => {
    const { clock, limiter } = setup({ requestsPerSecond: 1, bytesPerDay: 100 });
    for (let i = 0; i < 1000; i++) {
      limiter.admitCall(`idle-${i}`);
    }
    limiter.admitCall("spent");
    const spent = limiter.openStream("spent");
    spent.addBytes(100);
    spent.release();
    const open = limiter.openStream("open");
    // One call per 100 s: its bucket is still refilling after the sweep.
    limiter.admitCall("slow", { requestsPerSecond: 0.01 });
    assert.equal(limiter.trackedKeys, 1003);

    clock.ms += 61_000;
    limiter.admitCall("trigger");
    assert.equal(limiter.trackedKeys, 4, "spent, open, slow and trigger");
    exhausted(() => limiter.admitCall("slow", { requestsPerSecond: 0.01 }), /0.01 requests\/s/);
    // Forgotten keys start over with a full bucket, as new ones do; a key
    // that used its quota today is still refused.
    exhausted(() => limiter.admitCall("spent"), /daily quota/);
    assert.deepEqual(limiter.activeStreams().byKey, new Map([["open", 1]]));
    open.release();
  });
});

describe("settings", () => {
  it("rejects negative or non-finite limits", () => {
    assert.throws(
      () => createLimiter({ defaults: { ...unlimited, burst: -1 }, maxServerStreams: 0 }),
      /defaults.burst must be a number ≥ 0/,
    );
    assert.throws(
      () => createLimiter({ defaults: unlimited, maxServerStreams: 1.5 }),
      /maxServerStreams must be a whole number/,
    );
  });

  it("reads limits from snake_case JSON, naming the bad field", () => {
    assert.deepEqual(
      keyLimitsFromJson({ requests_per_second: 0.5, burst: 3, bytes_per_day: 1e9 }, "limits"),
      { requestsPerSecond: 0.5, burst: 3, bytesPerDay: 1e9 },
    );
    assert.throws(() => keyLimitsFromJson([], "limits"), /^Error: limits must be an object/);
    assert.throws(
      () => keyLimitsFromJson({ requestsPerSecond: 1 }, "limits"),
      /limits: unknown field 'requestsPerSecond' \(known: requests_per_second/,
    );
    assert.throws(
      () => keyLimitsFromJson({ bytes_per_day: "1GB" }, "limits"),
      /limits.bytes_per_day must be a number ≥ 0/,
    );
    assert.throws(
      () => keyLimitsFromJson({ max_concurrent_streams: 1.5 }, "limits"),
      /limits.max_concurrent_streams must be a whole number/,
    );
  });

  it("retryAfterSeconds is undefined for other errors", () => {
    assert.equal(retryAfterSeconds(new ConnectError("no", Code.Internal)), undefined);
  });
});
