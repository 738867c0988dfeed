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

/** Creates a memory budget. Throws when the cache alone fills it. */
export function createMemoryBudget(options: MemoryBudgetOptions): MemoryBudget {
  if (!(options.limitBytes > options.cacheBytes)) {
    throw new Error(
      `the memory budget (${options.limitBytes} bytes) must be larger than the image cache (${options.cacheBytes} bytes)`,
    );
  }
  return new Budget(options);
}

class Budget implements MemoryBudget {
  readonly limitBytes: number;
  readonly #cacheBytes: number;
  readonly #cacheSize: (() => number) | undefined;
  // Room images drawn ahead leave free, for the images streams need now.
  readonly #spareBytes: number;
  readonly #held = new Map<string, { bytes: number; holders: number }>();
  readonly #waiters: Waiter[] = [];
  #imageBytes = 0;
  #writeAheadBytes = 0;

  constructor(options: MemoryBudgetOptions) {
    this.limitBytes = options.limitBytes;
    this.#cacheBytes = options.cacheBytes;
    this.#cacheSize = options.cacheSize;
    this.#spareBytes = (options.limitBytes - options.cacheBytes) / 4;
  }

  usage() {
    return {
      cache: this.#cacheSize?.() ?? this.#cacheBytes,
      images: this.#imageBytes,
      writeAhead: this.#writeAheadBytes,
    };
  }

  tryReserveStream(bytes: number): Reservation | undefined {
    if (bytes > this.#room()) return undefined;
    this.#writeAheadBytes += bytes;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.#writeAheadBytes -= bytes;
        this.#wake();
      },
    };
  }

  tryHoldImage(key: string, bytes: number): ImageHold | undefined {
    if (this.#waiters.length > 0 && !this.#held.has(key)) return undefined;
    return this.#tryHold(key, bytes, this.#spareBytes);
  }

  holdImage(key: string, bytes: number, signal: AbortSignal, waitMs: number): Promise<ImageHold> {
    signal.throwIfAborted();
    const now =
      this.#waiters.length === 0 || this.#held.has(key) ? this.#tryHold(key, bytes) : undefined;
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
        const index = this.#waiters.indexOf(waiter);
        if (index !== -1) this.#waiters.splice(index, 1);
        this.#wake();
        reject(error);
      };
      const timer = setTimeout(() => {
        fail(resourceExhausted(`server memory budget of ${this.limitBytes} bytes is in use`, 1000));
      }, waitMs);
      const onAbort = () => fail(signal.reason ?? new ConnectError("aborted", Code.Canceled));
      signal.addEventListener("abort", onAbort, { once: true });
      function cleanup(): void {
        clearTimeout(timer);
        signal.removeEventListener("abort", onAbort);
      }
      this.#waiters.push(waiter);
    });
  }

  #room(): number {
    return this.limitBytes - this.#cacheBytes - this.#imageBytes - this.#writeAheadBytes;
  }

  /** Grants waiting holds, in order, while they fit. */
  #wake(): void {
    while (this.#waiters.length > 0) {
      const next = this.#waiters[0] as Waiter;
      const hold = this.#tryHold(next.key, next.bytes);
      if (hold === undefined) return;
      this.#waiters.shift();
      next.grant(hold);
    }
  }

  #tryHold(key: string, bytes: number, spare = 0): ImageHold | undefined {
    let entry = this.#held.get(key);
    if (entry === undefined) {
      if (bytes + spare > this.#room()) return undefined;
      entry = { bytes, holders: 0 };
      this.#held.set(key, entry);
      this.#imageBytes += bytes;
    }
    entry.holders += 1;
    const shared = entry;
    let released = false;
    return {
      resize: (size) => {
        if (released) return;
        this.#imageBytes += size - shared.bytes;
        shared.bytes = size;
        this.#wake();
      },
      release: () => {
        if (released) return;
        released = true;
        shared.holders -= 1;
        if (shared.holders === 0) {
          this.#held.delete(key);
          this.#imageBytes -= shared.bytes;
          this.#wake();
        }
      },
    };
  }
}
