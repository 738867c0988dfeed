import { type KeyLimits, resolveKeyLimits } from "./key-limits.js";
import { resourceExhausted } from "./retry-after.js";

/** Options for createLimiter. */
export interface LimiterOptions {
  /** The limits of a key that sets none of its own; a key's own limits override them field by field. */
  defaults: KeyLimits;
  /** Concurrent streams across all keys. 0 = unlimited. */
  maxServerStreams: number;
  /** The clock, in milliseconds since the epoch. Default Date.now; tests pass a fake one. */
  now?: () => number;
}

/** One open stream's hold on the limiter. */
export interface StreamTicket {
  /**
   * Counts n payload bytes sent on this stream against the key's daily quota.
   * Throws ConnectError RESOURCE_EXHAUSTED once the quota is used up; the
   * bytes that still fit are counted, so the next call is refused too.
   */
  addBytes(n: number): void;
  /** Frees the stream's slot. Calling it again does nothing. */
  release(): void;
}

/**
 * Rate limits, daily byte quotas and concurrent-stream limits per key. Every
 * refusal is a ConnectError RESOURCE_EXHAUSTED whose message says which
 * limit, with `retry-after` (whole seconds, at least 1) in its metadata.
 */
export interface Limiter {
  /**
   * One call starts: takes a token from the key's bucket. Refused when the
   * bucket is empty (retry-after: until a token is back) or the key's daily
   * byte quota is used up (retry-after: until the next UTC midnight).
   */
  admitCall(keyId: string, limits?: Partial<KeyLimits>): void;
  /**
   * A stream starts: takes a slot from the key and from the server. Refused
   * with retry-after 1 when either is full. Release the ticket in `finally`.
   */
  openStream(keyId: string, limits?: Partial<KeyLimits>): StreamTicket;
  /** Streams open now, in total and per key (keys with none are left out); for metrics and health. */
  activeStreams(): { total: number; byKey: ReadonlyMap<string, number> };
  /** Keys the limiter holds state for now; shows that idle keys are forgotten. */
  readonly trackedKeys: number;
}

const dayMs = 86_400_000;
/** How often idle keys are dropped, in ms of the limiter's clock. */
const sweepEveryMs = 60_000;

/** What the limiter remembers about one key. */
interface KeyState {
  /** Tokens in the bucket at refilledAtMs. */
  tokens: number;
  refilledAtMs: number;
  /** The refill rate and bucket size last applied, to tell when the bucket is full again. */
  requestsPerSecond: number;
  burst: number;
  /** UTC day number (ms since the epoch / dayMs) that `bytes` counts. */
  day: number;
  bytes: number;
  streams: number;
}

/**
 * Creates a limiter. State is kept per key, in memory, and only while it
 * matters: a key is forgotten once it has no open stream, a full bucket and
 * no bytes counted today, since a fresh state would be the same. So memory
 * follows the keys active today, and day counters restart at UTC midnight.
 * It sets no timers; it cleans up as calls arrive.
 */
export function createLimiter(options: LimiterOptions): Limiter {
  const now = options.now ?? Date.now;
  const { defaults, maxServerStreams } = options;
  checkLimits(defaults, "defaults");
  if (!Number.isInteger(maxServerStreams) || maxServerStreams < 0) {
    throw new Error("maxServerStreams must be a whole number ≥ 0 (0 = unlimited)");
  }
  const keys = new Map<string, KeyState>();
  let totalStreams = 0;
  let sweptAtMs = now();

  function stateOf(keyId: string, nowMs: number): KeyState {
    let state = keys.get(keyId);
    if (state === undefined) {
      state = {
        tokens: 0,
        refilledAtMs: nowMs,
        requestsPerSecond: 0,
        burst: 0,
        day: dayOf(nowMs),
        bytes: 0,
        streams: 0,
      };
      keys.set(keyId, state);
    }
    if (state.day !== dayOf(nowMs)) {
      state.day = dayOf(nowMs);
      state.bytes = 0;
    }
    return state;
  }

  function sweep(nowMs: number): void {
    if (nowMs - sweptAtMs < sweepEveryMs) {
      return;
    }
    sweptAtMs = nowMs;
    for (const [keyId, state] of keys) {
      const bucketFull = state.requestsPerSecond === 0 || tokensAt(state, nowMs) >= state.burst;
      const noBytesToday = state.bytes === 0 || state.day !== dayOf(nowMs);
      if (state.streams === 0 && bucketFull && noBytesToday) {
        keys.delete(keyId);
      }
    }
  }

  return {
    admitCall(keyId, override) {
      const nowMs = now();
      sweep(nowMs);
      const limits = resolveKeyLimits(defaults, override);
      const state = stateOf(keyId, nowMs);
      if (limits.bytesPerDay > 0 && state.bytes >= limits.bytesPerDay) {
        throw quotaUsedUp(keyId, limits.bytesPerDay, nowMs);
      }
      const rate = limits.requestsPerSecond;
      if (rate === 0) {
        return;
      }
      const burst = limits.burst > 0 ? limits.burst : Math.max(1, rate);
      // A key seen before without a rate limit (limits can differ per call,
      // say from a JWT claim) starts with a full bucket, as a new key does.
      state.tokens =
        state.requestsPerSecond === 0 ? burst : Math.min(burst, tokensAt(state, nowMs));
      state.refilledAtMs = nowMs;
      state.requestsPerSecond = rate;
      state.burst = burst;
      // The epsilon absorbs float error from refills of fractional tokens.
      if (state.tokens < 1 - 1e-9) {
        const waitMs = ((1 - state.tokens) * 1000) / rate;
        throw resourceExhausted(
          `rate limit of ${rate} requests/s for key '${keyId}' exceeded`,
          waitMs,
        );
      }
      state.tokens = Math.max(0, state.tokens - 1);
    },

    openStream(keyId, override) {
      const nowMs = now();
      sweep(nowMs);
      const limits = resolveKeyLimits(defaults, override);
      if (maxServerStreams > 0 && totalStreams >= maxServerStreams) {
        throw resourceExhausted(
          `server is at its limit of ${maxServerStreams} concurrent streams`,
          1000,
        );
      }
      const opened = stateOf(keyId, nowMs);
      const maxStreams = limits.maxConcurrentStreams;
      if (maxStreams > 0 && opened.streams >= maxStreams) {
        throw resourceExhausted(
          `concurrent stream limit of ${maxStreams} for key '${keyId}' reached`,
          1000,
        );
      }
      opened.streams += 1;
      totalStreams += 1;
      let released = false;
      return {
        addBytes(n) {
          const quota = limits.bytesPerDay;
          if (quota === 0 || n <= 0) {
            return;
          }
          const nowMs = now();
          const state = stateOf(keyId, nowMs);
          const room = Math.max(0, quota - state.bytes);
          if (n > room) {
            state.bytes = quota;
            throw quotaUsedUp(keyId, quota, nowMs);
          }
          state.bytes += n;
        },
        release() {
          if (released) {
            return;
          }
          released = true;
          totalStreams -= 1;
          // The state object is kept while streams > 0, so it is still the map's.
          opened.streams -= 1;
        },
      };
    },

    activeStreams() {
      const byKey = new Map<string, number>();
      for (const [keyId, state] of keys) {
        if (state.streams > 0) {
          byKey.set(keyId, state.streams);
        }
      }
      return { total: totalStreams, byKey };
    },

    get trackedKeys() {
      return keys.size;
    },
  };
}

function dayOf(ms: number): number {
  return Math.floor(ms / dayMs);
}

/** Tokens in the bucket at nowMs, before the cap at burst. */
function tokensAt(state: KeyState, nowMs: number): number {
  // (elapsed × rate) / 1000 rather than elapsed × (rate / 1000): exact for
  // whole numbers, so 200 ms at 5 requests/s gives exactly one token.
  return state.tokens + ((nowMs - state.refilledAtMs) * state.requestsPerSecond) / 1000;
}

function quotaUsedUp(keyId: string, bytesPerDay: number, nowMs: number) {
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
