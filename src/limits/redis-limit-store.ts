import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Registry } from "prom-client";
import {
  type ActiveStreams,
  type AdmitRequest,
  type AdmitResult,
  dayOf,
  type LimitStore,
  type OpenStreamRequest,
  type OpenStreamResult,
  type ReserveBytesRequest,
  remoteBatchBytes,
} from "./limit-store.js";
import { createRedisConnection, type RedisConnection } from "./redis-connection.js";
import { type ByteDebts, createByteDebts } from "./redis-debts.js";
import { bytesTtlMs, type RedisKeys, redisKeys } from "./redis-keys.js";
import { createLeaseKeeper, type LeaseKeeper } from "./redis-leases.js";
import { checkRedisUrl } from "./redis-url.js";
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
  checkPositive(commandTimeoutMs, "commandTimeoutMs");
  checkPositive(leaseMs, "streamLeaseMs");
  checkRedisUrl(options.url);
  return new RedisStore({
    ...options,
    commandTimeoutMs,
    streamLeaseMs: leaseMs,
    batchBytes: options.batchBytes ?? remoteBatchBytes,
    instanceId:
      options.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`,
    keyPrefix: options.keyPrefix ?? "modelmora:",
    retryAfterTimeoutMs: options.retryAfterTimeoutMs ?? 1000,
    now: options.now ?? Date.now,
  });
}

/** RedisLimitStoreOptions with the defaults applied. */
type RedisStoreSettings = Required<Omit<RedisLimitStoreOptions, "logger" | "registry">> &
  Pick<RedisLimitStoreOptions, "logger" | "registry">;

class RedisStore implements RedisLimitStore {
  readonly batchBytes: number;
  readonly #settings: RedisStoreSettings;
  readonly #keys: RedisKeys;
  readonly #connection: RedisConnection;
  readonly #debts: ByteDebts;
  readonly #leases: LeaseKeeper;

  constructor(settings: RedisStoreSettings) {
    this.#settings = settings;
    this.batchBytes = settings.batchBytes;
    this.#keys = redisKeys(settings.keyPrefix, settings.instanceId);
    this.#connection = createRedisConnection({
      url: settings.url,
      commandTimeoutMs: settings.commandTimeoutMs,
      retryAfterTimeoutMs: settings.retryAfterTimeoutMs,
      logger: settings.logger,
      registry: settings.registry,
      onBack: () => this.#debts.charge(),
    });
    this.#debts = createByteDebts(this.#connection, this.#keys, settings.now);
    this.#leases = createLeaseKeeper({
      connection: this.#connection,
      keys: this.#keys,
      leaseMs: settings.streamLeaseMs,
      now: settings.now,
    });
  }

  get reachable(): boolean {
    return this.#connection.reachable;
  }

  async admit(request: AdmitRequest): Promise<AdmitResult> {
    const keys = this.#keys;
    const day = dayOf(request.nowMs);
    const [verdict, waitMs] = (await this.#connection.attempt("admit", () =>
      this.#connection.scripts.admit(
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
    return { admitted: false, limit: "rate", waitMs: Number(waitMs) };
  }

  async openStream(request: OpenStreamRequest): Promise<OpenStreamResult> {
    const keys = this.#keys;
    const verdict = (await this.#connection.attempt("open_stream", () =>
      this.#connection.scripts.openStream(
        keys.keyStreams(request.keyId),
        keys.serverStreams,
        request.nowMs,
        this.#settings.streamLeaseMs,
        request.maxKeyStreams,
        request.maxServerStreams,
        request.streamId,
      ),
    )) as OpenStreamResult;
    if (verdict === "ok") this.#leases.add(request.streamId, request.keyId);
    return verdict;
  }

  async closeStream(keyId: string, streamId: string): Promise<void> {
    if (!this.#leases.remove(streamId)) return;
    const keys = this.#keys;
    await this.#connection.attempt("close_stream", () =>
      this.#connection.scripts.closeStream(keys.keyStreams(keyId), keys.serverStreams, streamId),
    );
  }

  async reserveBytes(request: ReserveBytesRequest): Promise<number> {
    try {
      return Number(
        await this.#connection.attempt("reserve_bytes", () =>
          this.#connection.scripts.reserveBytes(
            this.#keys.bytes(request.keyId, request.day),
            request.minBytes,
            request.maxBytes,
            request.bytesPerDay,
            bytesTtlMs(request.day, this.#settings.now()),
          ),
        ),
      );
    } catch (error) {
      // The limiter lets these bytes go: count them once Redis is back.
      if (request.minBytes > 0) this.#debts.add(request.keyId, request.day, request.minBytes);
      throw error;
    }
  }

  async returnBytes(keyId: string, day: number, bytes: number): Promise<void> {
    if (bytes <= 0) return;
    await this.#connection.attempt("return_bytes", () =>
      this.#connection.scripts.returnBytes(this.#keys.bytes(keyId, day), bytes),
    );
  }

  async activeStreams(): Promise<ActiveStreams> {
    const keys = this.#keys;
    const keyIds = this.#leases.keyIds();
    const counts = (await this.#connection.attempt("count_streams", () =>
      this.#connection.scripts.countStreams(
        1 + keyIds.length,
        keys.serverStreams,
        ...keyIds.map(keys.keyStreams),
        this.#settings.now(),
      ),
    )) as number[];
    const byKey = new Map<string, number>();
    keyIds.forEach((keyId, i) => {
      const count = counts[i + 1] ?? 0;
      if (count > 0) byKey.set(keyId, count);
    });
    return { total: counts[0] ?? 0, byKey };
  }

  ready(timeoutMs = Math.max(1000, this.#settings.commandTimeoutMs)): Promise<boolean> {
    return this.#connection.ready(timeoutMs);
  }

  async close(): Promise<void> {
    this.#leases.stop();
    await this.#connection.close();
  }
}

function checkPositive(value: number, name: string): void {
  if (!Number.isFinite(value) || value <= 0) {
    throw new Error(`${name} must be a number > 0, got ${value}`);
  }
}
