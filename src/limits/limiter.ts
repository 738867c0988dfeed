import { randomUUID } from "node:crypto";
import type { ConnectError } from "@connectrpc/connect";
import { type KeyLimits, resolveKeyLimits } from "./key-limits.js";
import { type ActiveStreams, dayMs, dayOf, type LimitStore } from "./limit-store.js";
import { createMemoryLimitStore } from "./memory-limit-store.js";
import { resourceExhausted } from "./retry-after.js";

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

/** One open stream's hold on the limiter. */
export interface StreamTicket {
  /**
   * Counts n payload bytes, about to be sent on this stream, against the
   * key's daily quota; call it before sending them. Rejects with ConnectError
   * RESOURCE_EXHAUSTED once the quota is used up; the bytes that still fit
   * are counted, so the next call is refused too. With a remote store most
   * calls resolve at once: bytes are reserved ahead, LimitStore.batchBytes
   * at a time.
   */
  addBytes(n: number): Promise<void>;
  /**
   * Frees the stream's slot and gives back bytes reserved but not sent.
   * Calling it again does nothing. Never rejects; callers need not wait.
   */
  release(): Promise<void>;
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
  const now = options.now ?? Date.now;
  const { defaults, maxServerStreams } = options;
  checkLimits(defaults, "defaults");
  if (!Number.isInteger(maxServerStreams) || maxServerStreams < 0) {
    throw new Error("maxServerStreams must be a whole number ≥ 0 (0 = unlimited)");
  }
  const store = options.store ?? createMemoryLimitStore();

  return {
    async admitCall(keyId, override) {
      const limits = resolveKeyLimits(defaults, override);
      const rate = limits.requestsPerSecond;
      if (rate === 0 && limits.bytesPerDay === 0) {
        return;
      }
      const nowMs = now();
      let result: Awaited<ReturnType<LimitStore["admit"]>>;
      try {
        result = await store.admit({
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
      throw resourceExhausted(
        `rate limit of ${rate} requests/s for key '${keyId}' exceeded`,
        result.waitMs,
      );
    },

    async openStream(keyId, override) {
      const limits = resolveKeyLimits(defaults, override);
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
        throw resourceExhausted(
          `server is at its limit of ${maxServerStreams} concurrent streams`,
          1000,
        );
      }
      if (result === "key") {
        throw resourceExhausted(
          `concurrent stream limit of ${limits.maxConcurrentStreams} for key '${keyId}' reached`,
          1000,
        );
      }
      return createTicket({
        store,
        now,
        keyId,
        streamId: result === "ok" ? streamId : undefined,
        bytesPerDay: limits.bytesPerDay,
      });
    },

    activeStreams() {
      return store.activeStreams();
    },
  };
}

interface TicketOptions {
  store: LimitStore;
  now: () => number;
  keyId: string;
  /** The id the store counts the stream by; undefined when it could not count it. */
  streamId: string | undefined;
  bytesPerDay: number;
}

/**
 * A stream's ticket. With a store whose batchBytes is above 0, it reserves
 * bytes ahead: when what it holds falls below half a batch, it asks for
 * another batch in the background, so a stream only waits for the store
 * when a chunk is larger than what is left. So no byte is ever sent beyond
 * the quota; instead a key's running streams hold up to 1.5 batches each of
 * reserved bytes not yet sent, which other calls of the key cannot use
 * until they are given back (at release, or at UTC midnight).
 */
function createTicket(options: TicketOptions): StreamTicket {
  const { store, now, keyId, streamId, bytesPerDay } = options;
  const batchBytes = store.batchBytes;
  /** Bytes reserved and not yet sent, and the UTC day they were reserved on. */
  let held = 0;
  let heldDay = -1;
  let topUp: Promise<void> | undefined;
  /** False once a top-up found less room than a batch: near the quota, reserve only what is sent. */
  let topUpsHelp = batchBytes > 0;
  let released: Promise<void> | undefined;

  function giveBack(): void {
    if (held > 0) {
      store.returnBytes(keyId, heldDay, held).catch(() => {});
    }
    held = 0;
  }

  function startTopUp(day: number): void {
    topUp = store
      .reserveBytes({ keyId, day, minBytes: 0, maxBytes: batchBytes, bytesPerDay })
      .then(
        (granted) => {
          if (granted < batchBytes) {
            topUpsHelp = false;
          }
          if (released !== undefined || day !== heldDay) {
            store.returnBytes(keyId, day, granted).catch(() => {});
          } else {
            held += granted;
          }
        },
        () => {}, // A top-up is only ahead of need: the next addBytes asks again.
      )
      .finally(() => {
        topUp = undefined;
      });
  }

  return {
    async addBytes(n) {
      if (bytesPerDay === 0 || n <= 0) {
        return;
      }
      if (topUp !== undefined) {
        await topUp;
      }
      const nowMs = now();
      const day = dayOf(nowMs);
      if (day !== heldDay) {
        // Bytes reserved yesterday go back to yesterday.
        giveBack();
        heldDay = day;
      }
      if (held < n) {
        const need = n - held;
        let granted: number;
        try {
          granted = await store.reserveBytes({
            keyId,
            day,
            minBytes: need,
            maxBytes: Math.max(need, batchBytes),
            bytesPerDay,
          });
        } catch {
          // The store failed and said so: fail open, these bytes go uncounted.
          granted = need;
        }
        if (granted < need) {
          throw quotaUsedUp(keyId, bytesPerDay, nowMs);
        }
        if (released !== undefined) {
          store.returnBytes(keyId, day, granted).catch(() => {});
          return;
        }
        held += granted;
      }
      held -= n;
      if (topUpsHelp && held < batchBytes / 2 && topUp === undefined) {
        startTopUp(day);
      }
    },

    release() {
      released ??= (async () => {
        await topUp;
        giveBack();
        if (streamId !== undefined) {
          await store.closeStream(keyId, streamId).catch(() => {});
        }
      })();
      return released;
    },
  };
}

function quotaUsedUp(keyId: string, bytesPerDay: number, nowMs: number): ConnectError {
  const untilMidnightMs = (dayOf(nowMs) + 1) * dayMs - nowMs;
  return resourceExhausted(
    `daily quota of ${bytesPerDay} bytes for key '${keyId}' is used up until 00:00 UTC`,
    untilMidnightMs,
  );
}

function checkLimits(limits: KeyLimits, where: string): void {
  for (const [name, value] of Object.entries(limits)) {
    if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
      throw new Error(`${where}.${name} must be a number ≥ 0 (0 = unlimited)`);
    }
  }
}
