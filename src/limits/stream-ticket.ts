import { quotaUsedUp } from "./limit-errors.js";
import { dayOf, type LimitStore } from "./limit-store.js";

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

/** Options for createStreamTicket. */
export interface StreamTicketOptions {
  store: LimitStore;
  /** The limiter's clock, in milliseconds since the epoch. */
  now: () => number;
  keyId: string;
  /** The id the store counts the stream by; undefined when it could not count it. */
  streamId: string | undefined;
  /** The key's daily quota, in bytes; 0 = none (addBytes counts nothing). */
  bytesPerDay: number;
}

/**
 * Creates a stream's ticket. With a store whose batchBytes is above 0, it
 * reserves bytes ahead: when what it holds falls below half a batch, it
 * asks for another batch in the background, so a stream only waits for the
 * store when a chunk is larger than what is left. So no byte is ever sent
 * beyond the quota; instead a key's running streams hold up to 1.5 batches
 * each of reserved bytes not yet sent, which other calls of the key cannot
 * use until they are given back (at release, or at UTC midnight).
 */
export function createStreamTicket(options: StreamTicketOptions): StreamTicket {
  return new ReservingTicket(options);
}

class ReservingTicket implements StreamTicket {
  readonly #options: StreamTicketOptions;
  readonly #batchBytes: number;
  /** Bytes reserved and not yet sent, and the UTC day they were reserved on. */
  #held = 0;
  #heldDay = -1;
  #topUp: Promise<void> | undefined;
  /** False once a top-up found less room than a batch: near the quota, reserve only what is sent. */
  #topUpsHelp: boolean;
  #released: Promise<void> | undefined;

  constructor(options: StreamTicketOptions) {
    this.#options = options;
    this.#batchBytes = options.store.batchBytes;
    this.#topUpsHelp = this.#batchBytes > 0;
  }

  async addBytes(n: number): Promise<void> {
    if (this.#options.bytesPerDay === 0 || n <= 0) {
      return;
    }
    if (this.#topUp !== undefined) {
      await this.#topUp;
    }
    const nowMs = this.#options.now();
    const day = dayOf(nowMs);
    if (day !== this.#heldDay) {
      // Bytes reserved yesterday go back to yesterday.
      this.#giveBack();
      this.#heldDay = day;
    }
    if (this.#held < n && !(await this.#reserve(n - this.#held, day, nowMs))) {
      return;
    }
    this.#held -= n;
    if (this.#topUpsHelp && this.#held < this.#batchBytes / 2 && this.#topUp === undefined) {
      this.#startTopUp(day);
    }
  }

  release(): Promise<void> {
    this.#released ??= (async () => {
      await this.#topUp;
      this.#giveBack();
      const { store, keyId, streamId } = this.#options;
      if (streamId !== undefined) {
        await store.closeStream(keyId, streamId).catch(() => {});
      }
    })();
    return this.#released;
  }

  /**
   * Reserves at least `need` bytes of `day` (a batch when that is more), or
   * throws the quota error. False when the ticket was released meanwhile:
   * the bytes went back and nothing is to be sent.
   */
  async #reserve(need: number, day: number, nowMs: number): Promise<boolean> {
    const { store, keyId, bytesPerDay } = this.#options;
    let granted: number;
    try {
      granted = await store.reserveBytes({
        keyId,
        day,
        minBytes: need,
        maxBytes: Math.max(need, this.#batchBytes),
        bytesPerDay,
      });
    } catch {
      // The store failed and said so: fail open, these bytes go uncounted.
      granted = need;
    }
    if (granted < need) {
      throw quotaUsedUp(keyId, bytesPerDay, nowMs);
    }
    if (this.#released !== undefined) {
      this.#returnBytes(day, granted);
      return false;
    }
    this.#held += granted;
    return true;
  }

  /** Asks for another batch in the background, ahead of need. */
  #startTopUp(day: number): void {
    const { store, keyId, bytesPerDay } = this.#options;
    this.#topUp = store
      .reserveBytes({ keyId, day, minBytes: 0, maxBytes: this.#batchBytes, bytesPerDay })
      .then(
        (granted) => {
          if (granted < this.#batchBytes) {
            this.#topUpsHelp = false;
          }
          if (this.#released !== undefined || day !== this.#heldDay) {
            this.#returnBytes(day, granted);
          } else {
            this.#held += granted;
          }
        },
        () => {}, // A top-up is only ahead of need: the next addBytes asks again.
      )
      .finally(() => {
        this.#topUp = undefined;
      });
  }

  /** Gives back every byte held and not sent. */
  #giveBack(): void {
    if (this.#held > 0) {
      this.#returnBytes(this.#heldDay, this.#held);
    }
    this.#held = 0;
  }

  /** Gives back bytes of `day`, in the background; a failure only costs the key those bytes. */
  #returnBytes(day: number, bytes: number): void {
    this.#options.store.returnBytes(this.#options.keyId, day, bytes).catch(() => {});
  }
}
