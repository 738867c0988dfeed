import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import type { Registry } from "prom-client";
import {
  type ActiveStreams,
  type AdmitResult,
  dayMs,
  dayOf,
  type LimitStore,
  type OpenStreamResult,
} from "./limit-store.js";
import {
  admitScript,
  chargeBytesScript,
  closeStreamScript,
  countStreamsScript,
  openStreamScript,
  type RedisScript,
  renewStreamsScript,
  reserveBytesScript,
  returnBytesScript,
} from "./redis-scripts.js";
import { createStoreHealth, type LimitStoreLogger } from "./store-health.js";

/** Options for createRedisLimitStore. */
export interface RedisLimitStoreOptions {
  /**
   * The Redis server: `redis://[[user]:password@]host[:port][/db]`, or
   * `rediss://…` for TLS.
   */
  url: string;
  /**
   * How long a command may take before it counts as a failure, in ms.
   * Default 500. Also bounds the wait for a connection.
   */
  commandTimeoutMs?: number;
  /**
   * How long an open stream counts without being renewed, in ms. Default
   * 30,000. The store renews its streams every third of it, so the streams
   * of an instance that died stop counting within this time.
   */
  streamLeaseMs?: number;
  /**
   * Bytes a stream reserves from its key's quota per round trip. Default
   * 4 MiB (four 1 MB chunks); 0 reserves each chunk as it is sent.
   */
  batchBytes?: number;
  /**
   * The server instance this store counts streams for: the server-wide
   * stream cap (--max-streams) is per instance, shared by its workers.
   * Default: host name, process id and a random part.
   */
  instanceId?: string;
  /** Prefix of every key the store writes. Default "modelmora:". */
  keyPrefix?: string;
  /**
   * After a command times out, how long to answer every operation with a
   * failure at once rather than wait again, in ms. Default 1000.
   */
  retryAfterTimeoutMs?: number;
  /** The clock of stream leases, in ms since the epoch. Default Date.now. */
  now?: () => number;
  /** Where it says that Redis is unreachable, and back. Default: nowhere. */
  logger?: LimitStoreLogger;
  /**
   * Where to register modelmora_limit_store_up (1 while Redis answers, else
   * 0) and modelmora_limit_store_failures_total{operation} (each failure is
   * a limit check let through). Default: none.
   */
  registry?: Registry;
}

/** A LimitStore in Redis. */
export interface RedisLimitStore extends LimitStore {
  /** True while the connection is up and the last command did not fail. */
  readonly reachable: boolean;
  /**
   * Resolves true once connected, or false after timeoutMs (default: the
   * command timeout, at least 1 s). Calls before then fail open.
   */
  ready(timeoutMs?: number): Promise<boolean>;
  /** Closes the connection. Streams still open stop counting when their leases end. */
  close(): Promise<void>;
}

type ScriptRunner = (...args: (string | number)[]) => Promise<unknown>;

/**
 * Creates a limit store in Redis, for instances (and workers) that must
 * enforce one key's limits once. Every operation is one Lua script
 * (redis-scripts.ts), atomic in Redis.
 *
 * Failures never hang a call: commands are not queued while disconnected
 * (they fail at once), each has a timeout (commandTimeoutMs), and after a
 * timeout the store fails at once for retryAfterTimeoutMs. The limiter
 * then fails open. The store logs a warning when Redis stops answering and
 * a line when it answers again, and counts the failures. It reconnects by
 * itself, with back-off up to 2 s. Bytes a stream sent uncounted while Redis
 * was unreachable are counted once it is back (same UTC day only).
 */
export function createRedisLimitStore(options: RedisLimitStoreOptions): RedisLimitStore {
  const commandTimeoutMs = options.commandTimeoutMs ?? 500;
  const leaseMs = options.streamLeaseMs ?? 30_000;
  const retryAfterTimeoutMs = options.retryAfterTimeoutMs ?? 1000;
  const prefix = options.keyPrefix ?? "modelmora:";
  const instanceId =
    options.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const now = options.now ?? Date.now;
  const shownUrl = redactedUrl(options.url);
  checkPositive(commandTimeoutMs, "commandTimeoutMs");
  checkPositive(leaseMs, "streamLeaseMs");
  checkRedisUrl(options.url);

  const redis = new Redis(options.url, {
    // No queue while disconnected: a command fails at once instead of
    // waiting for a connection that may not come.
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(1000, commandTimeoutMs),
    // A command that timed out may still have run: never send it twice.
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
  });

  const health = createStoreHealth({
    store: shownUrl,
    logger: options.logger,
    registry: options.registry,
  });
  let suspendedUntilMs = 0;

  redis.on("error", (error) => health.lost(error));
  redis.on("close", () => health.lost(new Error("connection closed")));
  redis.on("ready", () => {
    suspendedUntilMs = 0;
    health.succeeded();
    chargeDebts();
  });

  function script(name: string, definition: RedisScript): ScriptRunner {
    redis.defineCommand(name, {
      lua: definition.lua,
      numberOfKeys: definition.numberOfKeys,
    });
    const commands = redis as unknown as Record<string, ScriptRunner>;
    return (...args) => (commands[name] as ScriptRunner).call(redis, ...args);
  }
  const scripts = {
    admit: script("modelmoraAdmit", admitScript),
    reserveBytes: script("modelmoraReserveBytes", reserveBytesScript),
    returnBytes: script("modelmoraReturnBytes", returnBytesScript),
    chargeBytes: script("modelmoraChargeBytes", chargeBytesScript),
    openStream: script("modelmoraOpenStream", openStreamScript),
    renewStreams: script("modelmoraRenewStreams", renewStreamsScript),
    closeStream: script("modelmoraCloseStream", closeStreamScript),
    countStreams: script("modelmoraCountStreams", countStreamsScript),
  };

  /** Runs one operation, or fails at once while Redis is known to be away. */
  async function attempt<T>(operation: string, run: () => Promise<T>): Promise<T> {
    if (redis.status !== "ready" || performance.now() < suspendedUntilMs) {
      const error = new Error(`Redis is unreachable (connection ${redis.status})`);
      health.failed(operation, error);
      throw error;
    }
    try {
      const result = await run();
      if (!health.reachable) {
        health.succeeded();
        chargeDebts();
      }
      return result;
    } catch (error) {
      if (error instanceof Error && /timed out/i.test(error.message)) {
        suspendedUntilMs = performance.now() + retryAfterTimeoutMs;
      }
      health.failed(operation, error);
      throw error;
    }
  }

  const keys = {
    bucket: (keyId: string) => `${prefix}bucket:${keyId}`,
    bytes: (keyId: string, day: number) => `${prefix}bytes:${day}:${keyId}`,
    keyStreams: (keyId: string) => `${prefix}streams:key:${keyId}`,
    serverStreams: `${prefix}streams:instance:${instanceId}`,
  };
  /**
   * A day's byte counter lives until an hour after the day ends, on the
   * store's clock (relative, so that a test's fake clock works too).
   */
  const bytesTtlMs = (day: number) => Math.max(1000, (day + 1) * dayMs + 3_600_000 - now());

  // Bytes sent uncounted while Redis was unreachable, by day and key.
  const debts = new Map<string, { keyId: string; day: number; bytes: number }>();
  const maxDebts = 10_000;
  let charging = false;

  function chargeDebts(): void {
    if (charging || debts.size === 0) return;
    charging = true;
    const today = dayOf(now());
    const pending = [...debts.values()];
    debts.clear();
    void (async () => {
      try {
        for (const debt of pending) {
          if (debt.day < today) continue;
          try {
            await scripts.chargeBytes(
              keys.bytes(debt.keyId, debt.day),
              debt.bytes,
              bytesTtlMs(debt.day),
            );
          } catch {
            addDebt(debt.keyId, debt.day, debt.bytes);
          }
        }
      } finally {
        charging = false;
      }
    })();
  }

  function addDebt(keyId: string, day: number, bytes: number): void {
    const id = `${day}:${keyId}`;
    const debt = debts.get(id);
    if (debt !== undefined) {
      debt.bytes += bytes;
    } else if (debts.size < maxDebts) {
      debts.set(id, { keyId, day, bytes });
    }
  }

  // This instance's open streams (id → key), renewed while any is open.
  const open = new Map<string, string>();
  let renewTimer: NodeJS.Timeout | undefined;

  function renew(): void {
    if (open.size === 0) return;
    const ids = [...open.keys()];
    const keyIds = [...open.values()];
    attempt("renew_streams", () =>
      scripts.renewStreams(
        1 + ids.length,
        keys.serverStreams,
        ...keyIds.map(keys.keyStreams),
        now(),
        leaseMs,
        ...ids,
      ),
    ).catch(() => {});
  }

  function watchLeases(): void {
    if (open.size > 0 && renewTimer === undefined) {
      renewTimer = setInterval(renew, Math.max(1, Math.floor(leaseMs / 3)));
      renewTimer.unref();
    } else if (open.size === 0 && renewTimer !== undefined) {
      clearInterval(renewTimer);
      renewTimer = undefined;
    }
  }

  return {
    batchBytes: options.batchBytes ?? 4 * 1024 * 1024,

    get reachable() {
      return health.reachable && performance.now() >= suspendedUntilMs;
    },

    async admit(request) {
      const day = dayOf(request.nowMs);
      const reply = (await attempt("admit", () =>
        scripts.admit(
          keys.bytes(request.keyId, day),
          keys.bucket(request.keyId),
          request.nowMs,
          request.requestsPerSecond,
          request.burst,
          request.bytesPerDay,
        ),
      )) as [string, string?];
      const [verdict, waitMs] = reply;
      if (verdict === "ok") return { admitted: true };
      if (verdict === "quota") return { admitted: false, limit: "quota" };
      return { admitted: false, limit: "rate", waitMs: Number(waitMs) } satisfies AdmitResult;
    },

    async openStream(request) {
      const verdict = (await attempt("open_stream", () =>
        scripts.openStream(
          keys.keyStreams(request.keyId),
          keys.serverStreams,
          request.nowMs,
          leaseMs,
          request.maxKeyStreams,
          request.maxServerStreams,
          request.streamId,
        ),
      )) as OpenStreamResult;
      if (verdict === "ok") {
        open.set(request.streamId, request.keyId);
        watchLeases();
      }
      return verdict;
    },

    async closeStream(keyId, streamId) {
      if (!open.delete(streamId)) return;
      watchLeases();
      await attempt("close_stream", () =>
        scripts.closeStream(keys.keyStreams(keyId), keys.serverStreams, streamId),
      );
    },

    async reserveBytes(request) {
      try {
        return Number(
          await attempt("reserve_bytes", () =>
            scripts.reserveBytes(
              keys.bytes(request.keyId, request.day),
              request.minBytes,
              request.maxBytes,
              request.bytesPerDay,
              bytesTtlMs(request.day),
            ),
          ),
        );
      } catch (error) {
        // The limiter lets these bytes go: count them once Redis is back.
        if (request.minBytes > 0) {
          addDebt(request.keyId, request.day, request.minBytes);
        }
        throw error;
      }
    },

    async returnBytes(keyId, day, bytes) {
      if (bytes <= 0) return;
      await attempt("return_bytes", () => scripts.returnBytes(keys.bytes(keyId, day), bytes));
    },

    async activeStreams(): Promise<ActiveStreams> {
      const keyIds = [...new Set(open.values())];
      const counts = (await attempt("count_streams", () =>
        scripts.countStreams(
          1 + keyIds.length,
          keys.serverStreams,
          ...keyIds.map(keys.keyStreams),
          now(),
        ),
      )) as number[];
      const byKey = new Map<string, number>();
      keyIds.forEach((keyId, i) => {
        const count = counts[i + 1] ?? 0;
        if (count > 0) byKey.set(keyId, count);
      });
      return { total: counts[0] ?? 0, byKey };
    },

    ready(timeoutMs = Math.max(1000, commandTimeoutMs)) {
      if (redis.status === "ready") return Promise.resolve(true);
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          redis.off("ready", onReady);
          resolve(false);
        }, timeoutMs);
        const onReady = () => {
          clearTimeout(timer);
          resolve(true);
        };
        redis.once("ready", onReady);
      });
    },

    async close() {
      health.mute();
      open.clear();
      watchLeases();
      try {
        await Promise.race([
          redis.quit(),
          new Promise((_, reject) => setTimeout(reject, commandTimeoutMs).unref()),
        ]);
      } catch {
        // Not connected, or no answer: drop the connection.
      }
      redis.disconnect();
    },
  };
}

/**
 * Throws an Error saying what is wrong unless url is a redis:// or
 * rediss:// URL (the message never shows a password).
 */
export function checkRedisUrl(url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error("must be a URL such as redis://localhost:6379 or rediss://host:6380");
  }
  if (parsed.protocol !== "redis:" && parsed.protocol !== "rediss:") {
    throw new Error(
      `must start with redis:// or rediss://, got ${parsed.protocol}// (for example redis://localhost:6379)`,
    );
  }
  if (parsed.hostname === "") {
    throw new Error("names no host (for example redis://localhost:6379)");
  }
}

/** The URL with its password (if any) replaced, for logs. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "redacted";
    return parsed.toString();
  } catch {
    return "(not a valid URL)";
  }
}

function checkPositive(value: number, name: string): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a number > 0, got ${value}`);
  }
}
