import { randomUUID } from "node:crypto";
import { type KeyLimits, resolveKeyLimits } from "./key-limits.js";
import {
  keyStreamsFull,
  quotaUsedUp,
  rateLimitExceeded,
  serverStreamsFull,
} from "./limit-errors.js";
import type { ActiveStreams, LimitStore } from "./limit-store.js";
import { createMemoryLimitStore } from "./memory-limit-store.js";
import { createStreamTicket, type StreamTicket } from "./stream-ticket.js";

/** Options for createLimiter. */
export interface LimiterOptions {
  /** The limits of a key that sets none of its own; a key's own limits override them field by field. */
  defaults: KeyLimits;
  /** Concurrent streams across all keys. 0 = unlimited. */
  maxServerStreams: number;
  /** The clock, in milliseconds since the epoch. Default Date.now; tests pass a fake one. */
  now?: () => number;
  /**
   * Where the counts live. Default: a new in-memory store, for this process
   * alone (createMemoryLimitStore). A Redis store shares them between
   * instances; the cluster's store shares them between workers.
   */
  store?: LimitStore;
}

/**
 * Rate limits, daily byte quotas and concurrent-stream limits per key. Every
 * refusal is a ConnectError RESOURCE_EXHAUSTED whose message says which
 * limit, with `retry-after` (whole seconds, at least 1) in its metadata.
 *
 * When the store cannot answer (a remote store that is unreachable), every
 * limit fails open: the call or stream goes ahead uncounted, and the store
 * reports the failure. A stream whose slot could not be counted is not
 * counted later either; bytes are counted again as soon as the store
 * answers.
 */
export interface Limiter {
  /**
   * One call starts: takes a token from the key's bucket. Refused when the
   * bucket is empty (retry-after: until a token is back) or the key's daily
   * byte quota is used up (retry-after: until the next UTC midnight).
   */
  admitCall(keyId: string, limits?: Partial<KeyLimits>): Promise<void>;
  /**
   * A stream starts: takes a slot from the key and from the server. Refused
   * with retry-after 1 when either is full. May be called at any point of
   * a call, with or without admitCall. Release the ticket in `finally`.
   */
  openStream(keyId: string, limits?: Partial<KeyLimits>): Promise<StreamTicket>;
  /** Streams the store counts for this server now, in total and per key; for tests and health. */
  activeStreams(): Promise<ActiveStreams>;
}

/** Creates a limiter over a store (by default, a new in-memory one). */
export function createLimiter(options: LimiterOptions): Limiter {
  const { defaults, maxServerStreams } = options;
  checkLimits(defaults, "defaults");
  if (!Number.isInteger(maxServerStreams) || maxServerStreams < 0) {
    throw new Error("maxServerStreams must be a whole number ≥ 0 (0 = unlimited)");
  }
  const context: LimiterContext = {
    defaults,
    maxServerStreams,
    now: options.now ?? Date.now,
    store: options.store ?? createMemoryLimitStore(),
  };
  return {
    admitCall: (keyId, override) => admitCall(context, keyId, override),
    openStream: (keyId, override) => openStream(context, keyId, override),
    activeStreams: () => context.store.activeStreams(),
  };
}

/** LimiterOptions with the defaults applied. */
interface LimiterContext {
  readonly defaults: KeyLimits;
  readonly maxServerStreams: number;
  readonly now: () => number;
  readonly store: LimitStore;
}

/** Limiter.admitCall: the key's quota, then a token from its bucket. */
async function admitCall(
  context: LimiterContext,
  keyId: string,
  override: Partial<KeyLimits> | undefined,
): Promise<void> {
  const limits = resolveKeyLimits(context.defaults, override);
  const rate = limits.requestsPerSecond;
  if (rate === 0 && limits.bytesPerDay === 0) {
    return;
  }
  const nowMs = context.now();
  let result: Awaited<ReturnType<LimitStore["admit"]>>;
  try {
    result = await context.store.admit({
      keyId,
      nowMs,
      requestsPerSecond: rate,
      burst: limits.burst > 0 ? limits.burst : Math.max(1, rate),
      bytesPerDay: limits.bytesPerDay,
    });
  } catch {
    return; // The store failed and said so: fail open.
  }
  if (result.admitted) {
    return;
  }
  if (result.limit === "quota") {
    throw quotaUsedUp(keyId, limits.bytesPerDay, nowMs);
  }
  throw rateLimitExceeded(keyId, rate, result.waitMs);
}

/** Limiter.openStream: a slot from the server and from the key, and the stream's ticket. */
async function openStream(
  context: LimiterContext,
  keyId: string,
  override: Partial<KeyLimits> | undefined,
): Promise<StreamTicket> {
  const { store, now, maxServerStreams } = context;
  const limits = resolveKeyLimits(context.defaults, override);
  const streamId = randomUUID();
  let result: Awaited<ReturnType<LimitStore["openStream"]>> | undefined;
  try {
    result = await store.openStream({
      keyId,
      streamId,
      nowMs: now(),
      maxKeyStreams: limits.maxConcurrentStreams,
      maxServerStreams,
    });
  } catch {
    result = undefined; // The store failed and said so: the stream runs uncounted.
  }
  if (result === "server") {
    throw serverStreamsFull(maxServerStreams);
  }
  if (result === "key") {
    throw keyStreamsFull(keyId, limits.maxConcurrentStreams);
  }
  return createStreamTicket({
    store,
    now,
    keyId,
    streamId: result === "ok" ? streamId : undefined,
    bytesPerDay: limits.bytesPerDay,
  });
}

function checkLimits(limits: KeyLimits, where: string): void {
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new Error(`${where}.${name} must be a number ≥ 0 (0 = unlimited)`);
    }
  }
}
