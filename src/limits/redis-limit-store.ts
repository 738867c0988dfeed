import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Registry } from "prom-client";
import {
  type ActiveStreams,
  type AdmitResult,
  dayOf,
  type LimitStore,
  type OpenStreamResult,
} from "./limit-store.js";
import { checkRedisUrl, createRedisConnection } from "./redis-connection.js";
import { createByteDebts } from "./redis-debts.js";
import { bytesTtlMs, redisKeys } from "./redis-keys.js";
import { createLeaseKeeper } from "./redis-leases.js";
import type { LimitStoreLogger } from "./store-health.js";

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

/**
 * Creates a limit store in Redis, for instances (and workers) that must
 * enforce one key's limits once. Every operation is one Lua script
 * (redis-scripts.ts), atomic in Redis.
 *
 * Failures never hang a call (redis-connection.ts): commands are not
 * queued while disconnected (they fail at once), each has a timeout
 * (commandTimeoutMs), and after a timeout the store fails at once for
 * retryAfterTimeoutMs. The limiter then fails open. The store logs a
 * warning when Redis stops answering and a line when it answers again, and
 * counts the failures. It reconnects by itself, with back-off up to 2 s.
 * Bytes a stream sent uncounted while Redis was unreachable are counted
 * once it is back (same UTC day only).
 */
export function createRedisLimitStore(options: RedisLimitStoreOptions): RedisLimitStore {
  const commandTimeoutMs = options.commandTimeoutMs ?? 500;
  const leaseMs = options.streamLeaseMs ?? 30_000;
  const now = options.now ?? Date.now;
  checkPositive(commandTimeoutMs, "commandTimeoutMs");
  checkPositive(leaseMs, "streamLeaseMs");
  checkRedisUrl(options.url);
  const keys = redisKeys(
    options.keyPrefix ?? "modelmora:",
    options.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`,
  );
  const connection = createRedisConnection({
    url: options.url,
    commandTimeoutMs,
    retryAfterTimeoutMs: options.retryAfterTimeoutMs ?? 1000,
    logger: options.logger,
    registry: options.registry,
    onBack: () => debts.charge(),
  });
  const { scripts, attempt } = connection;
  const debts = createByteDebts(connection, keys, now);
  const leases = createLeaseKeeper({ connection, keys, leaseMs, now });

  return {
    batchBytes: options.batchBytes ?? 4 * 1024 * 1024,
    get reachable() {
      return connection.reachable;
    },

    async admit(request) {
      const day = dayOf(request.nowMs);
      const [verdict, waitMs] = (await attempt("admit", () =>
        scripts.admit(
          keys.bytes(request.keyId, day),
          keys.bucket(request.keyId),
          request.nowMs,
          request.requestsPerSecond,
          request.burst,
          request.bytesPerDay,
        ),
      )) as [string, string?];
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
      if (verdict === "ok") leases.add(request.streamId, request.keyId);
      return verdict;
    },

    async closeStream(keyId, streamId) {
      if (!leases.remove(streamId)) return;
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
              bytesTtlMs(request.day, now()),
            ),
          ),
        );
      } catch (error) {
        // The limiter lets these bytes go: count them once Redis is back.
        if (request.minBytes > 0) debts.add(request.keyId, request.day, request.minBytes);
        throw error;
      }
    },

    async returnBytes(keyId, day, bytes) {
      if (bytes <= 0) return;
      await attempt("return_bytes", () => scripts.returnBytes(keys.bytes(keyId, day), bytes));
    },

    async activeStreams(): Promise<ActiveStreams> {
      const keyIds = leases.keyIds();
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

    ready: (timeoutMs = Math.max(1000, commandTimeoutMs)) => connection.ready(timeoutMs),

    async close() {
      leases.stop();
      await connection.close();
    },
  };
}

function checkPositive(value: number, name: string): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a number > 0, got ${value}`);
  }
}
