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
  readonly sync: SyncLimitCounts;
}

/** LimitStore's operations, answered at once (MemoryLimitStore.sync). */
export interface SyncLimitCounts {
  admit(request: AdmitRequest): AdmitResult;
  openStream(request: OpenStreamRequest): OpenStreamResult;
  closeStream(keyId: string, streamId: string): void;
  reserveBytes(request: ReserveBytesRequest): number;
  returnBytes(keyId: string, day: number, bytes: number): void;
  activeStreams(): ActiveStreams;
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
  const sync = new MemoryCounts();
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
      return sync.trackedKeys;
    },
  };
}

/** The counts of every key, in this process's memory. */
class MemoryCounts implements SyncLimitCounts {
  readonly #keys = new Map<string, KeyState>();
  #totalStreams = 0;
  #sweptAtMs: number | undefined;

  get trackedKeys(): number {
    return this.#keys.size;
  }

  admit(request: AdmitRequest): AdmitResult {
    const { keyId, nowMs, bytesPerDay } = request;
    this.#sweep(nowMs);
    const state = this.#stateOf(keyId, nowMs);
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
    state.tokens = state.requestsPerSecond === 0 ? burst : Math.min(burst, tokensAt(state, nowMs));
    state.refilledAtMs = nowMs;
    state.requestsPerSecond = rate;
    state.burst = burst;
    // The epsilon absorbs float error from refills of fractional tokens.
    if (state.tokens < 1 - 1e-9) {
      return { admitted: false, limit: "rate", waitMs: ((1 - state.tokens) * 1000) / rate };
    }
    state.tokens = Math.max(0, state.tokens - 1);
    return { admitted: true };
  }

  openStream(request: OpenStreamRequest): OpenStreamResult {
    const { keyId, streamId, nowMs, maxKeyStreams, maxServerStreams } = request;
    this.#sweep(nowMs);
    if (maxServerStreams > 0 && this.#totalStreams >= maxServerStreams) {
      return "server";
    }
    const state = this.#stateOf(keyId, nowMs);
    if (maxKeyStreams > 0 && state.streams.size >= maxKeyStreams) {
      return "key";
    }
    if (!state.streams.has(streamId)) {
      state.streams.add(streamId);
      this.#totalStreams += 1;
    }
    return "ok";
  }

  closeStream(keyId: string, streamId: string): void {
    // A key with open streams is never swept, so its state is still here.
    if (this.#keys.get(keyId)?.streams.delete(streamId)) {
      this.#totalStreams -= 1;
    }
  }

  reserveBytes(request: ReserveBytesRequest): number {
    const { keyId, day, minBytes, maxBytes, bytesPerDay } = request;
    const state = this.#stateOf(keyId, day * dayMs);
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
  }

  returnBytes(keyId: string, day: number, bytes: number): void {
    const state = this.#keys.get(keyId);
    if (state !== undefined && state.day === day) {
      state.bytes = Math.max(0, state.bytes - bytes);
    }
  }

  activeStreams(): ActiveStreams {
    const byKey = new Map<string, number>();
    for (const [keyId, state] of this.#keys) {
      if (state.streams.size > 0) {
        byKey.set(keyId, state.streams.size);
      }
    }
    return { total: this.#totalStreams, byKey };
  }

  #stateOf(keyId: string, nowMs: number): KeyState {
    let state = this.#keys.get(keyId);
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
      this.#keys.set(keyId, state);
    }
    return state;
  }

  /** Drops idle keys, at most once per sweepEveryMs of the callers' clock. */
  #sweep(nowMs: number): void {
    this.#sweptAtMs ??= nowMs;
    if (nowMs - this.#sweptAtMs < sweepEveryMs) {
      return;
    }
    this.#sweptAtMs = nowMs;
    for (const [keyId, state] of this.#keys) {
      const bucketFull = state.requestsPerSecond === 0 || tokensAt(state, nowMs) >= state.burst;
      const noBytesToday = bytesOn(state, dayOf(nowMs)) === 0;
      if (state.streams.size === 0 && bucketFull && noBytesToday) {
        this.#keys.delete(keyId);
      }
    }
  }
}

/** The key's bytes of `day`: a counter of another day counts none. */
function bytesOn(state: KeyState, day: number): number {
  return state.day === day ? state.bytes : 0;
}

/** Tokens in the bucket at nowMs, before the cap at burst. */
function tokensAt(state: KeyState, nowMs: number): number {
  // (elapsed × rate) / 1000 rather than elapsed × (rate / 1000): exact for
  // whole numbers, so 200 ms at 5 requests/s gives exactly one token.
  return state.tokens + ((nowMs - state.refilledAtMs) * state.requestsPerSecond) / 1000;
}
