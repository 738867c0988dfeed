/** What a PausingQueue stops and restarts: a response body being read. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

/**
 * Items made by a push source (a response body's data events), read by one
 * consumer with for await. When highWaterMark items are waiting the source
 * is paused, and resumed when the consumer catches up, so a slow consumer
 * holds back the server (HTTP/2 flow control) instead of letting memory
 * grow. Items queued before an end or a failure are read first.
 */
export class PausingQueue<T> implements AsyncIterable<T> {
  private readonly items: T[] = [];
  private ended = false;
  private failure: { error: unknown } | undefined;
  private paused = false;
  private waiting:
    | { resolve(result: IteratorResult<T>): void; reject(error: unknown): void }
    | undefined;

  constructor(
    private readonly source: Pausable,
    /** Items waiting at which the source is paused; at least 1. */
    private readonly highWaterMark = 1,
  ) {}

  push(item: T): void {
    if (this.ended || this.failure !== undefined) return;
    const waiting = this.waiting;
    if (waiting !== undefined) {
      this.waiting = undefined;
      waiting.resolve({ value: item, done: false });
      return;
    }
    this.items.push(item);
    if (!this.paused && this.items.length >= this.highWaterMark) {
      this.paused = true;
      this.source.pause();
    }
  }

  /** No more items: the consumer's loop ends after the queued ones. */
  end(): void {
    if (this.ended || this.failure !== undefined) return;
    this.ended = true;
    this.settleWaiting();
  }

  /** The source failed: the consumer gets the error after the queued items. */
  fail(error: unknown): void {
    if (this.ended || this.failure !== undefined) return;
    this.failure = { error };
    this.settleWaiting();
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => this.next(),
    };
  }

  private next(): Promise<IteratorResult<T>> {
    if (this.items.length > 0) {
      const value = this.items.shift() as T;
      if (this.paused && this.items.length < this.highWaterMark) {
        this.paused = false;
        this.source.resume();
      }
      return Promise.resolve({ value, done: false });
    }
    if (this.failure !== undefined) return Promise.reject(this.failure.error);
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    if (this.waiting !== undefined) {
      return Promise.reject(new Error("PausingQueue has one reader; next() was called twice"));
    }
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  private settleWaiting(): void {
    const waiting = this.waiting;
    if (waiting === undefined) return;
    this.waiting = undefined;
    if (this.failure !== undefined) waiting.reject(this.failure.error);
    else waiting.resolve({ value: undefined, done: true });
  }
}
