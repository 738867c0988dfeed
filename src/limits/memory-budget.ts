import { Code, ConnectError } from "@connectrpc/connect";
import { resourceExhausted } from "./retry-after.js";

/** Options for createMemoryBudget. */
export interface MemoryBudgetOptions {
  /** The bound, in bytes. */
  limitBytes: number;
  /**
   * Bytes set aside for the image cache: its budget, counted in full from
   * the start so that the cache filling up can never push the server past
   * the limit.
   */
  cacheBytes: number;
  /** The cache's current size in bytes, for usage() only. */
  cacheSize?: () => number;
}

/** What a stream holds: give it back with release(); again does nothing. */
export interface Reservation {
  release(): void;
}

/** An image held by a stream; shared by every stream that holds the same key. */
export interface ImageHold extends Reservation {
  /** Sets the held size, once the image is drawn and its real size known. */
  resize(bytes: number): void;
}

/**
 * One bound on the memory streams may hold: the image cache (counted at its
 * budget), the images streams hold (the one being sent and those drawn
 * ahead; an image held by several streams counts once) and each stream's
 * write-ahead buffer. So: limit ≥ cacheBytes + Σ streams (write-ahead +
 * chunk) + Σ distinct held images.
 */
export interface MemoryBudget {
  readonly limitBytes: number;
  /** Bytes counted now, by part; cache is the cache's current size. */
  usage(): { cache: number; images: number; writeAhead: number };
  /** Reserves a new stream's write-ahead, or undefined when there is no room. */
  tryReserveStream(bytes: number): Reservation | undefined;
  /**
   * Holds an image drawn ahead, if another stream holds it already or there
   * is room now with a quarter of the streams' share to spare, so streams
   * drawing ahead never take the room a new stream needs for its first
   * image.
   */
  tryHoldImage(key: string, bytes: number): ImageHold | undefined;
  /**
   * Holds an image, waiting up to waitMs for room. Rejects with
   * RESOURCE_EXHAUSTED when the wait ends, or with signal's reason.
   */
  holdImage(key: string, bytes: number, signal: AbortSignal, waitMs: number): Promise<ImageHold>;
}

interface Waiter {
  readonly key: string;
  readonly bytes: number;
  grant(hold: ImageHold): void;
}

/** Creates a memory budget. */
export function createMemoryBudget(options: MemoryBudgetOptions): MemoryBudget {
  const { limitBytes, cacheBytes } = options;
  if (!(limitBytes > cacheBytes)) {
    throw new Error(
      `the memory budget (${limitBytes} bytes) must be larger than the image cache (${cacheBytes} bytes)`,
    );
  }
  const held = new Map<string, { bytes: number; holders: number }>();
  let imageBytes = 0;
  let writeAheadBytes = 0;
  const waiters: Waiter[] = [];

  const room = () => limitBytes - cacheBytes - imageBytes - writeAheadBytes;
  // Room images drawn ahead leave free, for the images streams need now.
  const spareBytes = (limitBytes - cacheBytes) / 4;

  function wake(): void {
    while (waiters.length > 0) {
      const next = waiters[0] as Waiter;
      const hold = tryHold(next.key, next.bytes);
      if (hold === undefined) return;
      waiters.shift();
      next.grant(hold);
    }
  }

  function tryHold(key: string, bytes: number, spare = 0): ImageHold | undefined {
    let entry = held.get(key);
    if (entry === undefined) {
      if (bytes + spare > room()) return undefined;
      entry = { bytes, holders: 0 };
      held.set(key, entry);
      imageBytes += bytes;
    }
    entry.holders += 1;
    const shared = entry;
    let released = false;
    return {
      resize(bytes) {
        if (released) return;
        imageBytes += bytes - shared.bytes;
        shared.bytes = bytes;
        wake();
      },
      release() {
        if (released) return;
        released = true;
        shared.holders -= 1;
        if (shared.holders === 0) {
          held.delete(key);
          imageBytes -= shared.bytes;
          wake();
        }
      },
    };
  }

  return {
    limitBytes,
    usage: () => ({
      cache: options.cacheSize?.() ?? cacheBytes,
      images: imageBytes,
      writeAhead: writeAheadBytes,
    }),
    tryReserveStream(bytes) {
      if (bytes > room()) return undefined;
      writeAheadBytes += bytes;
      let released = false;
      return {
        release() {
          if (released) return;
          released = true;
          writeAheadBytes -= bytes;
          wake();
        },
      };
    },
    tryHoldImage: (key, bytes) =>
      waiters.length > 0 && !held.has(key) ? undefined : tryHold(key, bytes, spareBytes),
    holdImage(key, bytes, signal, waitMs) {
      signal.throwIfAborted();
      const now = waiters.length === 0 || held.has(key) ? tryHold(key, bytes) : undefined;
      if (now !== undefined) return Promise.resolve(now);
      return new Promise<ImageHold>((resolve, reject) => {
        const waiter: Waiter = {
          key,
          bytes,
          grant(hold) {
            cleanup();
            resolve(hold);
          },
        };
        const fail = (error: unknown) => {
          cleanup();
          const index = waiters.indexOf(waiter);
          if (index !== -1) waiters.splice(index, 1);
          wake();
          reject(error);
        };
        const timer = setTimeout(
          () =>
            fail(resourceExhausted(`server memory budget of ${limitBytes} bytes is in use`, 1000)),
          waitMs,
        );
        const onAbort = () => fail(signal.reason ?? new ConnectError("aborted", Code.Canceled));
        signal.addEventListener("abort", onAbort, { once: true });
        function cleanup(): void {
          clearTimeout(timer);
          signal.removeEventListener("abort", onAbort);
        }
        waiters.push(waiter);
      });
    },
  };
}
