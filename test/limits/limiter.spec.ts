/**
 * The limiter on a fake clock: token buckets, retry-after, daily byte quotas
 * and their UTC rollover, concurrent streams per key and per server. Every
 * case runs over each store: in memory, and in a real redis-server (skipped
 * with one line where redis-server is missing, unless
 * MODELMORA_REQUIRE_REDIS=1), where the store reserves each chunk as the
 * memory store does (batchBytes 0; batching is tested in test/scale).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, afterEach, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  createLimiter,
  createMemoryLimitStore,
  createRedisLimitStore,
  type KeyLimits,
  keyLimitsFromJson,
  type LimiterOptions,
  type LimitStore,
  retryAfterSeconds,
  unlimited,
} from "../../src/limits/index.js";
import { type RedisProcess, redisSkipReason, startRedis } from "../support/index.js";

/** 2024-05-01 12:00:00 UTC, in ms. */
const noon = Date.UTC(2024, 4, 1, 12);
const midnight = Date.UTC(2024, 4, 2);

/** A store to run the cases over, made fresh for each case on the case's clock. */
interface StoreCase {
  name: string;
  skip?: string;
  make(now: () => number): Promise<LimitStore & { close?(): Promise<void> }>;
}

let redis: RedisProcess | undefined;
const redisSkip = await redisSkipReason();
const storeCases: StoreCase[] = [
  { name: "memory store", make: async () => createMemoryLimitStore() },
  {
    name: "redis store",
    skip: redisSkip,
    async make(now) {
      assert.ok(redis, "redis-server is running");
      const store = createRedisLimitStore({
        url: redis.url,
        // A namespace per case: cases share the one redis-server.
        keyPrefix: `test-${randomBytes(6).toString("hex")}:`,
        batchBytes: 0,
        now,
      });
      assert.ok(await store.ready(10_000), "connected to redis-server");
      return store;
    },
  },
];

before(async () => {
  if (redisSkip === undefined) {
    redis = await startRedis();
  }
});
after(async () => {
  await redis?.stop();
});

/** Runs fn, expecting RESOURCE_EXHAUSTED; returns the error. */
async function exhausted(fn: () => Promise<unknown>, message: RegExp): Promise<ConnectError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof ConnectError, "expected a ConnectError");
  assert.equal(caught.code, Code.ResourceExhausted);
  assert.match(caught.rawMessage, message);
  return caught;
}

for (const storeCase of storeCases) {
  describe(storeCase.name, { skip: storeCase.skip }, () => {
    const stores: (LimitStore & { close?(): Promise<void> })[] = [];
    afterEach(async () => {
      for (const store of stores.splice(0)) {
        await store.close?.();
      }
    });

    /** A limiter on a fake clock that starts at noon UTC, over a fresh store. */
    async function setup(defaults: Partial<KeyLimits>, options: Partial<LimiterOptions> = {}) {
      const clock = { ms: noon };
      const now = () => clock.ms;
      const store = await storeCase.make(now);
      stores.push(store);
      const limiter = createLimiter({
        defaults: { ...unlimited, ...defaults },
        maxServerStreams: 0,
        now,
        store,
        ...options,
      });
      return { clock, limiter };
    }

    describe("token bucket", () => {
      it("admits a burst, then refills at the rate", async () => {
        const { clock, limiter } = await setup({ requestsPerSecond: 5 });
        for (let i = 0; i < 5; i++) {
          await limiter.admitCall("ci");
        }
        const err = await exhausted(
          () => limiter.admitCall("ci"),
          /^rate limit of 5 requests\/s for key 'ci' exceeded/,
        );
        assert.equal(retryAfterSeconds(err), 1);
        assert.equal(err.metadata.get("retry-after"), "1");
        clock.ms += 199;
        await exhausted(() => limiter.admitCall("ci"), /rate limit/);
        clock.ms += 1;
        await limiter.admitCall("ci");
        await exhausted(() => limiter.admitCall("ci"), /rate limit/);
      });

      it("never refills past the burst", async () => {
        const { clock, limiter } = await setup({ requestsPerSecond: 2, burst: 3 });
        clock.ms += 3_600_000;
        for (let i = 0; i < 3; i++) {
          await limiter.admitCall("ci");
        }
        await exhausted(() => limiter.admitCall("ci"), /rate limit of 2 requests\/s/);
      });

      it("gives retry-after in whole seconds until a token is back", async () => {
        const { clock, limiter } = await setup({ requestsPerSecond: 0.25 });
        await limiter.admitCall("slow");
        let err = await exhausted(
          () => limiter.admitCall("slow"),
          /rate limit of 0.25 requests\/s/,
        );
        assert.equal(retryAfterSeconds(err), 4);
        clock.ms += 2500;
        err = await exhausted(() => limiter.admitCall("slow"), /rate limit/);
        assert.equal(retryAfterSeconds(err), 2, "1.5 s rounds up to 2");
        clock.ms += 1500;
        await limiter.admitCall("slow");
      });

      it("keeps a bucket per key", async () => {
        const { limiter } = await setup({ requestsPerSecond: 1 });
        await limiter.admitCall("a");
        await limiter.admitCall("b");
        await exhausted(() => limiter.admitCall("a"), /key 'a'/);
      });

      it("lets a key's limits override the defaults field by field", async () => {
        const { limiter } = await setup({ requestsPerSecond: 1, burst: 2 });
        // rps from the key, burst still the default 2.
        await limiter.admitCall("fast", { requestsPerSecond: 100 });
        await limiter.admitCall("fast", { requestsPerSecond: 100 });
        await exhausted(
          () => limiter.admitCall("fast", { requestsPerSecond: 100 }),
          /rate limit of 100 requests\/s/,
        );
        // 0 in a key's limits means unlimited for that key, whatever the default.
        for (let i = 0; i < 50; i++) {
          await limiter.admitCall("free", { requestsPerSecond: 0 });
        }
        // undefined fields fall back to the defaults.
        await limiter.admitCall("plain", { requestsPerSecond: undefined });
        await limiter.admitCall("plain");
        await exhausted(() => limiter.admitCall("plain"), /rate limit of 1 requests\/s/);
      });

      it("limits nothing with the unlimited defaults", async () => {
        const { limiter } = await setup({});
        for (let i = 0; i < 1000; i++) {
          await limiter.admitCall("any");
        }
      });
    });

    describe("daily byte quota", () => {
      it("stops a stream mid-way, counts what fit, refuses calls until UTC midnight", async () => {
        const { clock, limiter } = await setup({ bytesPerDay: 1000 });
        await limiter.admitCall("ci");
        const ticket = await limiter.openStream("ci");
        await ticket.addBytes(600);
        const err = await exhausted(
          () => ticket.addBytes(600),
          /^daily quota of 1000 bytes for key 'ci' is used up/,
        );
        assert.equal(retryAfterSeconds(err), 12 * 3600);
        await ticket.release();

        clock.ms = midnight - 1500;
        const refused = await exhausted(() => limiter.admitCall("ci"), /daily quota of 1000 bytes/);
        assert.equal(retryAfterSeconds(refused), 2, "1.5 s to midnight rounds up to 2");
        await limiter.admitCall("other");

        clock.ms = midnight;
        await limiter.admitCall("ci");
        const next = await limiter.openStream("ci");
        await next.addBytes(1000);
        await exhausted(() => next.addBytes(1), /daily quota/);
        await next.release();
      });

      it("allows exactly the quota, and shares it across a key's streams", async () => {
        const { limiter } = await setup({ bytesPerDay: 100 });
        const a = await limiter.openStream("ci");
        const b = await limiter.openStream("ci");
        await a.addBytes(60);
        await b.addBytes(40);
        await exhausted(() => limiter.admitCall("ci"), /daily quota of 100 bytes/);
        await exhausted(() => a.addBytes(1), /daily quota/);
        await a.release();
        await b.release();
      });

      it("rolls over while a stream is open", async () => {
        const { clock, limiter } = await setup({ bytesPerDay: 100 });
        const ticket = await limiter.openStream("ci");
        clock.ms = midnight - 1;
        await ticket.addBytes(100);
        clock.ms = midnight;
        await ticket.addBytes(100);
        await exhausted(() => ticket.addBytes(1), /daily quota/);
        await ticket.release();
      });

      it("takes a key's own quota", async () => {
        const { limiter } = await setup({ bytesPerDay: 10 });
        const big = await limiter.openStream("big", { bytesPerDay: 1_000_000 });
        await big.addBytes(500_000);
        const none = await limiter.openStream("none", { bytesPerDay: 0 });
        await none.addBytes(Number.MAX_SAFE_INTEGER);
        await big.release();
        await none.release();
      });
    });

    describe("concurrent streams", () => {
      it("caps streams per key, with retry-after 1", async () => {
        const { limiter } = await setup({ maxConcurrentStreams: 2 });
        const a = await limiter.openStream("ci");
        const b = await limiter.openStream("ci");
        const err = await exhausted(
          () => limiter.openStream("ci"),
          /^concurrent stream limit of 2 for key 'ci' reached/,
        );
        assert.equal(retryAfterSeconds(err), 1);
        const other = await limiter.openStream("other");
        await a.release();
        const c = await limiter.openStream("ci");
        for (const ticket of [b, c, other]) {
          await ticket.release();
        }
        assert.equal((await limiter.activeStreams()).total, 0);
      });

      it("caps streams across the server", async () => {
        const { limiter } = await setup({}, { maxServerStreams: 2 });
        const a = await limiter.openStream("a");
        const b = await limiter.openStream("b");
        const err = await exhausted(
          () => limiter.openStream("c"),
          /^server is at its limit of 2 concurrent streams/,
        );
        assert.equal(retryAfterSeconds(err), 1);
        await b.release();
        await (await limiter.openStream("c")).release();
        await a.release();
      });

      it("lets a key raise its own stream limit", async () => {
        const { limiter } = await setup({ maxConcurrentStreams: 1 });
        const tickets = [];
        for (let i = 0; i < 3; i++) {
          tickets.push(await limiter.openStream("batch", { maxConcurrentStreams: 3 }));
        }
        await exhausted(
          () => limiter.openStream("batch", { maxConcurrentStreams: 3 }),
          /limit of 3/,
        );
        for (const ticket of tickets) {
          await ticket.release();
        }
      });

      it("releases once however often release is called, and reports active streams", async () => {
        const { limiter } = await setup({ maxConcurrentStreams: 1 }, { maxServerStreams: 5 });
        const a = await limiter.openStream("a");
        const b = await limiter.openStream("b");
        assert.deepEqual(await limiter.activeStreams(), {
          total: 2,
          byKey: new Map([
            ["a", 1],
            ["b", 1],
          ]),
        });
        await a.release();
        await a.release();
        await a.release();
        assert.deepEqual(await limiter.activeStreams(), { total: 1, byKey: new Map([["b", 1]]) });
        await exhausted(() => limiter.openStream("b"), /key 'b'/);
        await b.release();
        assert.deepEqual(await limiter.activeStreams(), { total: 0, byKey: new Map() });
      });
    });
  });
}

describe("memory", () => {
  it("forgets idle keys, and keeps what still matters", async () => {
    const clock = { ms: noon };
    const store = createMemoryLimitStore();
    const limiter = createLimiter({
      defaults: { ...unlimited, requestsPerSecond: 1, bytesPerDay: 100 },
      maxServerStreams: 0,
      now: () => clock.ms,
      store,
    });
    for (let i = 0; i < 1000; i++) {
      await limiter.admitCall(`idle-${i}`);
    }
    await limiter.admitCall("spent");
    const spent = await limiter.openStream("spent");
    await spent.addBytes(100);
    await spent.release();
    const open = await limiter.openStream("open");
    // One call per 100 s: its bucket is still refilling after the sweep.
    await limiter.admitCall("slow", { requestsPerSecond: 0.01 });
    assert.equal(store.trackedKeys, 1003);

    clock.ms += 61_000;
    await limiter.admitCall("trigger");
    assert.equal(store.trackedKeys, 4, "spent, open, slow and trigger");
    await exhausted(
      () => limiter.admitCall("slow", { requestsPerSecond: 0.01 }),
      /0.01 requests\/s/,
    );
    // Forgotten keys start over with a full bucket, as new ones do; a key
    // that used its quota today is still refused.
    await exhausted(() => limiter.admitCall("spent"), /daily quota/);
    assert.deepEqual((await limiter.activeStreams()).byKey, new Map([["open", 1]]));
    await open.release();
  });
});

describe("settings", () => {
  it("rejects negative or non-finite limits", async () => {
    assert.throws(
      () => createLimiter({ defaults: { ...unlimited, burst: -1 }, maxServerStreams: 0 }),
      /defaults.burst must be a number ≥ 0/,
    );
    assert.throws(
      () => createLimiter({ defaults: unlimited, maxServerStreams: 1.5 }),
      /maxServerStreams must be a whole number/,
    );
  });

  it("reads limits from snake_case JSON, naming the bad field", async () => {
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

  it("retryAfterSeconds is undefined for other errors", async () => {
    assert.equal(retryAfterSeconds(new ConnectError("no", Code.Internal)), undefined);
  });
});
