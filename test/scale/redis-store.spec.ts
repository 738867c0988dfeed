/**
 * The Redis limit store against a real redis-server (skipped with one line
 * where redis-server is missing, unless MODELMORA_REQUIRE_REDIS=1): bytes
 * reserved a batch at a time (few round trips, never past the quota),
 * stream leases that end when their instance stops renewing them, and what
 * happens when Redis is gone (limits fail open, said once in the log and
 * counted) or hangs (commands time out), and back (enforced again, and the
 * bytes it missed are counted).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, before, describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { Registry } from "prom-client";
import {
  createLimiter,
  createRedisLimitStore,
  type KeyLimits,
  type RedisLimitStoreOptions,
  unlimited,
} from "../../src/limits/index.js";
import {
  parseSamples,
  type RedisProcess,
  redisSkipReason,
  run,
  startRedis,
  sumOf,
  waitFor,
} from "../support/index.js";

const skip = await redisSkipReason();
const mb = 1_000_000;

/** Log lines the store wrote. */
function capturingLogger() {
  const lines: { level: string; message: string; fields?: Record<string, unknown> }[] = [];
  return {
    lines,
    info: (message: string, fields?: Record<string, unknown>) =>
      lines.push({ level: "info", message, fields }),
    warn: (message: string, fields?: Record<string, unknown>) =>
      lines.push({ level: "warn", message, fields }),
  };
}

/** Asks redis-server directly, with redis-cli. */
async function redisCli(redis: RedisProcess, ...args: string[]): Promise<string> {
  const result = await run("redis-cli", ["-p", String(redis.port), ...args]);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout.toString("utf8").trim();
}

/** How many times Redis ran our scripts (EVALSHA and EVAL) since the last CONFIG RESETSTAT. */
async function scriptCalls(redis: RedisProcess): Promise<number> {
  const stats = await redisCli(redis, "INFO", "commandstats");
  let calls = 0;
  for (const match of stats.matchAll(/^cmdstat_(?:evalsha|eval):calls=(\d+)/gm)) {
    calls += Number(match[1]);
  }
  return calls;
}

async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ConnectError, `a ConnectError, got ${err}`);
    return err;
  }
  assert.fail("expected a refusal");
}

describe("the Redis limit store", { skip }, () => {
  let redis: RedisProcess;
  const closers: (() => Promise<void>)[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const close of closers) await close();
    await redis?.stop();
  });

  function limiterOver(limits: Partial<KeyLimits>, extra: Partial<RedisLimitStoreOptions> = {}) {
    const options = { ...extra, keyPrefix: `test-${randomBytes(6).toString("hex")}:` };
    const logger = capturingLogger();
    const registry = new Registry();
    const store = createRedisLimitStore({
      url: redis.url,
      logger,
      registry,
      ...options,
      keyPrefix: options.keyPrefix,
    });
    closers.push(() => store.close());
    const limiter = createLimiter({
      defaults: { ...unlimited, ...limits },
      maxServerStreams: 0,
      store,
    });
    return { store, limiter, logger, registry, prefix: options.keyPrefix };
  }

  it("reserves quota bytes 4 MiB at a time, and never lets a byte past the quota", async () => {
    const { store, limiter } = limiterOver({ bytesPerDay: 10 * mb });
    assert.ok(await store.ready(10_000));
    await redisCli(redis, "CONFIG", "RESETSTAT");
    const ticket = await limiter.openStream("ci");
    let sent = 0;
    let refusal: ConnectError | undefined;
    for (let i = 0; i < 20 && refusal === undefined; i++) {
      try {
        await ticket.addBytes(mb);
        sent += mb;
      } catch (err) {
        refusal = ConnectError.from(err);
      }
    }
    await ticket.release();
    assert.equal(sent, 10 * mb, "exactly the quota was sent");
    assert.equal(refusal?.code, Code.ResourceExhausted);
    assert.match(refusal?.rawMessage ?? "", /daily quota of 10000000 bytes for key 'ci'/);
    // One script for the slot, one to close it, and for the bytes three
    // reservations (4 MiB, 4 MiB, the last 1.6 MB) and the refused one:
    // not one per chunk.
    assert.equal(await scriptCalls(redis), 6, "script calls for 11 chunks of 1 MB");
    await rejection(limiter.admitCall("ci"));
  });

  it("gives back what a stream reserved and did not send", async () => {
    const { store, limiter } = limiterOver({ bytesPerDay: 10 * mb });
    assert.ok(await store.ready(10_000));
    const first = await limiter.openStream("ci");
    await first.addBytes(mb);
    // Two streams hold reservations; the quota is not used up.
    const second = await limiter.openStream("ci");
    await second.addBytes(mb);
    await first.release();
    await second.release();
    // Now the other 8 MB are free again: one stream may send them.
    const third = await limiter.openStream("ci");
    for (let i = 0; i < 8; i++) {
      await third.addBytes(mb);
    }
    await rejection(third.addBytes(1));
    await third.release();
  });

  it("counts a stream while its instance renews the lease, and not after", async () => {
    // Both instances and their limiters on one fake clock; only the renewal
    // timer runs on real time (every third of the lease).
    const leaseMs = 600;
    const clock = { ms: Date.now() };
    const now = () => clock.ms;
    const prefix = `test-${randomBytes(6).toString("hex")}:`;
    const instance = () => {
      const store = createRedisLimitStore({
        url: redis.url,
        keyPrefix: prefix,
        streamLeaseMs: leaseMs,
        now,
      });
      closers.push(() => store.close());
      const limiter = createLimiter({
        defaults: { ...unlimited, maxConcurrentStreams: 1 },
        maxServerStreams: 0,
        now,
        store,
      });
      return { store, limiter };
    };
    const a = instance();
    const b = instance();
    assert.ok((await a.store.ready(10_000)) && (await b.store.ready(10_000)));
    const openedAt = clock.ms;
    await a.limiter.openStream("ci");
    const leaseEnd = async () =>
      Number(
        (await redisCli(redis, "ZRANGE", `${prefix}streams:key:ci`, "0", "0", "WITHSCORES")).split(
          "\n",
        )[1],
      );
    assert.equal(await leaseEnd(), openedAt + leaseMs);

    clock.ms = openedAt + 500;
    await waitFor(
      async () => (await leaseEnd()) === openedAt + 500 + leaseMs,
      "A to renew its lease",
    );
    // Past the first lease, within the renewed one: still counted.
    clock.ms = openedAt + leaseMs + 100;
    const refused = await rejection(b.limiter.openStream("ci"));
    assert.match(refused.rawMessage, /concurrent stream limit of 1 for key 'ci'/);

    // A stops without closing its stream, as a process that dies does.
    await a.store.close();
    const lastEnd = await leaseEnd();
    clock.ms = lastEnd - 1;
    await rejection(b.limiter.openStream("ci"));
    clock.ms = lastEnd;
    const ticket = await b.limiter.openStream("ci");
    await ticket.release();
  });

  it("fails open when Redis is gone, says so once, and enforces again once it is back", async () => {
    const { store, limiter, logger, registry } = limiterOver({
      requestsPerSecond: 1,
      maxConcurrentStreams: 1,
    });
    assert.ok(await store.ready(10_000));
    const held = await limiter.openStream("ci");
    await limiter.admitCall("ci");
    await rejection(limiter.admitCall("ci"));
    await rejection(limiter.openStream("ci"));

    await redis.kill();
    await waitFor(() => !store.reachable, "the store to notice");
    // Every limit fails open: calls and streams go ahead, none waits.
    for (let i = 0; i < 3; i++) {
      await limiter.admitCall("ci");
      const ticket = await limiter.openStream("ci");
      await ticket.addBytes(mb);
      await ticket.release();
    }
    const warnings = logger.lines.filter((line) => line.level === "warn");
    assert.equal(warnings.length, 1, "one warning for the outage");
    assert.match(warnings[0]?.message ?? "", /limit store unreachable: limits are not enforced/);
    assert.doesNotMatch(JSON.stringify(warnings), /password/);
    let samples = parseSamples(await registry.metrics());
    assert.equal(sumOf(samples, "modelmora_limit_store_up"), 0);
    assert.ok(sumOf(samples, "modelmora_limit_store_failures_total", { operation: "admit" }) >= 3);
    assert.ok(
      sumOf(samples, "modelmora_limit_store_failures_total", { operation: "open_stream" }) >= 3,
    );

    await redis.restart();
    await waitFor(() => store.reachable, "the store to reconnect by itself");
    assert.ok(logger.lines.some((line) => /limit store reachable again/.test(line.message)));
    samples = parseSamples(await registry.metrics());
    assert.equal(sumOf(samples, "modelmora_limit_store_up"), 1);
    // A fresh Redis (no persistence here) knows no streams: the cap holds again from now.
    const again = await limiter.openStream("ci");
    await rejection(limiter.openStream("ci"));
    await again.release();
    await held.release();
  });

  it("never hangs on a Redis that stops answering, and counts the bytes it missed", async () => {
    const { store, limiter, prefix } = limiterOver(
      { bytesPerDay: 100 * mb },
      { commandTimeoutMs: 200, batchBytes: 0 },
    );
    assert.ok(await store.ready(10_000));
    const ticket = await limiter.openStream("ci");
    redis.pause();
    try {
      // Each resolves (fails open) after the command timeout at most, not never.
      await limiter.admitCall("ci");
      await ticket.addBytes(3 * mb);
      await ticket.addBytes(2 * mb);
    } finally {
      redis.resume();
    }
    await waitFor(async () => {
      await limiter.admitCall("ci");
      return store.reachable;
    }, "the store to answer again");
    const day = Math.floor(Date.now() / 86_400_000);
    const keys = (await redisCli(redis, "--scan", "--pattern", `${prefix}bytes:${day}:ci`)).split(
      "\n",
    );
    assert.equal(keys.length, 1, `one byte counter: ${keys}`);
    await waitFor(
      async () => Number(await redisCli(redis, "GET", keys[0] as string)) === 5 * mb,
      "the 5 MB sent while Redis hung to be counted",
    );
    await ticket.release();
  });

  it("rejects a URL that is not redis:// or rediss://", () => {
    assert.throws(
      () => createRedisLimitStore({ url: "http://localhost:6379" }),
      /must start with redis:\/\/ or rediss:\/\//,
    );
  });
});
