import {
  type ActiveStreams,
  type AdmitRequest,
  type AdmitResult,
  dayMs,
  dayOf,
  type LimitStore,
  type OpenStreamRequest,
  type OpenStreamResult,
  type ReserveBytesRequest,
} from "./limit-store.js";

/** A LimitStore in this process's memory, with a count of the keys it holds. */
export interface MemoryLimitStore extends LimitStore {
  /** Keys the store holds state for now; shows that idle keys are forgotten. */
  readonly trackedKeys: number;
  /** The same operations, answered at once: for callers that cannot wait (the cluster primary). */
  readonly sync: {
    admit(request: AdmitRequest): AdmitResult;
    openStream(request: OpenStreamRequest): OpenStreamResult;
    closeStream(keyId: string, streamId: string): void;
    reserveBytes(request: ReserveBytesRequest): number;
    returnBytes(keyId: string, day: number, bytes: number): void;
    activeStreams(): ActiveStreams;
  };
}

/** How often idle keys are dropped, in ms of the callers' clock. */
const sweepEveryMs = 60_000;

/** What the store remembers about one key. */
interface KeyState {
  /** Tokens in the bucket at refilledAtMs. */
  tokens: number;
  refilledAtMs: number;
  /** The refill rate and bucket size last applied, to tell when the bucket is full again. */
  requestsPerSecond: number;
  burst: number;
  /** UTC day number that `bytes` counts. */
  day: number;
  bytes: number;
  /** Ids of the key's open streams. */
  streams: Set<string>;
}

/**
 * Creates the in-memory store: the default, for one process. Its counts are
 * exact (batchBytes 0: each chunk is reserved as it is sent) and its
 * promises resolve at once; it never fails.
 *
 * State is kept per key, and only while it matters: a key is forgotten once
 * it has no open stream, a full bucket and no bytes counted today, since a
 * fresh state would be the same. So memory follows the keys active today,
 * and day counters restart at UTC midnight. It sets no timers; it cleans up
 * as calls arrive.
 */
export function createMemoryLimitStore(): MemoryLimitStore {
  const keys = new Map<string, KeyState>();
  let totalStreams = 0;
  let sweptAtMs: number | undefined;

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
        streams: new Set(),
      };
      keys.set(keyId, state);
    }
    return state;
  }

  /** The key's bytes of `day`: a counter of another day counts none. */
  function bytesOn(state: KeyState, day: number): number {
    return state.day === day ? state.bytes : 0;
  }

  function sweep(nowMs: number): void {
    sweptAtMs ??= nowMs;
    if (nowMs - sweptAtMs < sweepEveryMs) {
      return;
    }
    sweptAtMs = nowMs;
    for (const [keyId, state] of keys) {
      const bucketFull = state.requestsPerSecond === 0 || tokensAt(state, nowMs) >= state.burst;
      const noBytesToday = bytesOn(state, dayOf(nowMs)) === 0;
      if (state.streams.size === 0 && bucketFull && noBytesToday) {
        keys.delete(keyId);
      }
    }
  }

  const sync: MemoryLimitStore["sync"] = {
    admit(request) {
      const { keyId, nowMs, bytesPerDay } = request;
      sweep(nowMs);
      const state = stateOf(keyId, nowMs);
      if (bytesPerDay > 0 && bytesOn(state, dayOf(nowMs)) >= bytesPerDay) {
        return { admitted: false, limit: "quota" };
      }
      const rate = request.requestsPerSecond;
      if (rate === 0) {
        return { admitted: true };
      }
      const burst = request.burst;
      // A key seen before without a rate limit (limits can differ per call,
      // say from a JWT claim) starts with a full bucket, as a new key does.
      state.tokens =
        state.requestsPerSecond === 0 ? burst : Math.min(burst, tokensAt(state, nowMs));
      state.refilledAtMs = nowMs;
      state.requestsPerSecond = rate;
      state.burst = burst;
      // The epsilon absorbs float error from refills of fractional tokens.
      if (state.tokens < 1 - 1e-9) {
        return { admitted: false, limit: "rate", waitMs: ((1 - state.tokens) * 1000) / rate };
      }
      state.tokens = Math.max(0, state.tokens - 1);
      return { admitted: true };
    },

    openStream(request) {
      const { keyId, streamId, nowMs, maxKeyStreams, maxServerStreams } = request;
      sweep(nowMs);
      if (maxServerStreams > 0 && totalStreams >= maxServerStreams) {
        return "server";
      }
      const state = stateOf(keyId, nowMs);
      if (maxKeyStreams > 0 && state.streams.size >= maxKeyStreams) {
        return "key";
      }
      if (!state.streams.has(streamId)) {
        state.streams.add(streamId);
        totalStreams += 1;
      }
      return "ok";
    },

    closeStream(keyId, streamId) {
      // A key with open streams is never swept, so its state is still here.
      if (keys.get(keyId)?.streams.delete(streamId)) {
        totalStreams -= 1;
      }
    },

    reserveBytes(request) {
      const { keyId, day, minBytes, maxBytes, bytesPerDay } = request;
      const state = stateOf(keyId, day * dayMs);
      if (state.day !== day) {
        if (day < state.day) {
          // A reservation for a day that is over: nothing to count it against.
          return minBytes;
        }
        state.day = day;
        state.bytes = 0;
      }
      const room = Math.max(0, bytesPerDay - state.bytes);
      if (room < minBytes) {
        state.bytes = Math.max(state.bytes, bytesPerDay);
        return 0;
      }
      const granted = Math.min(maxBytes, room);
      state.bytes += granted;
      return granted;
    },

    returnBytes(keyId, day, bytes) {
      const state = keys.get(keyId);
      if (state !== undefined && state.day === day) {
        state.bytes = Math.max(0, state.bytes - bytes);
      }
    },

    activeStreams() {
      const byKey = new Map<string, number>();
      for (const [keyId, state] of keys) {
        if (state.streams.size > 0) {
          byKey.set(keyId, state.streams.size);
        }
      }
      return { total: totalStreams, byKey };
    },
  };

  return {
    batchBytes: 0,
    sync,
    admit: async (request) => sync.admit(request),
    openStream: async (request) => sync.openStream(request),
    closeStream: async (keyId, streamId) => sync.closeStream(keyId, streamId),
    reserveBytes: async (request) => sync.reserveBytes(request),
    returnBytes: async (keyId, day, bytes) => sync.returnBytes(keyId, day, bytes),
    activeStreams: async () => sync.activeStreams(),
    get trackedKeys() {
      return keys.size;
    },
  };
}

/** Tokens in the bucket at nowMs, before the cap at burst. */
function tokensAt(state: KeyState, nowMs: number): number {
  // (elapsed × rate) / 1000 rather than elapsed × (rate / 1000): exact for
  // whole numbers, so 200 ms at 5 requests/s gives exactly one token.
  return state.tokens + ((nowMs - state.refilledAtMs) * state.requestsPerSecond) / 1000;
}
