import { resourceExhausted } from "../limits/index.js";

/** Options for createRenderQueue. */
export interface RenderQueueOptions {
  /** Renders that may run at once. Encoding runs on libuv's thread pool: more than the cores only adds memory. */
  concurrency: number;
  /** Renders that may wait for a slot; past it, run() refuses. */
  maxQueued: number;
}

/**
 * A bounded queue of renders: at most `concurrency` run at once and at most
 * `maxQueued` wait. A waiting render whose signal aborts leaves the queue
 * and never runs; a running one runs to the end (a canvas can't be stopped
 * half-way).
 */
export interface RenderQueue {
  /**
   * Runs task once a slot is free. Rejects with RESOURCE_EXHAUSTED when the
   * queue is full, and with signal's reason when it aborts while waiting.
   */
  run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T>;
  /** Whether run() would accept another render now. */
  hasRoom(): boolean;
  readonly running: number;
  readonly queued: number;
}

interface Waiting {
  start(): void;
}

/** Creates a render queue. */
export function createRenderQueue(options: RenderQueueOptions): RenderQueue {
  const concurrency = Math.max(1, options.concurrency);
  let running = 0;
  const waiting: Waiting[] = [];

  function next(): void {
    while (running < concurrency && waiting.length > 0) {
      (waiting.shift() as Waiting).start();
    }
  }

  return {
    run<T>(task: () => Promise<T>, signal: AbortSignal): Promise<T> {
      signal.throwIfAborted();
      if (running >= concurrency && waiting.length >= options.maxQueued) {
        return Promise.reject(
          resourceExhausted(`the server has ${waiting.length} renders waiting already`, 1000),
        );
      }
      return new Promise<T>((resolve, reject) => {
        const entry: Waiting = {
          start() {
            signal.removeEventListener("abort", onAbort);
            running += 1;
            let result: Promise<T>;
            try {
              result = task();
            } catch (err) {
              result = Promise.reject(err);
            }
            result.then(resolve, reject).finally(() => {
              running -= 1;
              next();
            });
          },
        };
        function onAbort(): void {
          const index = waiting.indexOf(entry);
          if (index !== -1) waiting.splice(index, 1);
          reject(signal.reason);
        }
        signal.addEventListener("abort", onAbort, { once: true });
        waiting.push(entry);
        next();
      });
    },
    hasRoom: () => running < concurrency || waiting.length < options.maxQueued,
    get running() {
      return running;
    },
    get queued() {
      return waiting.length;
    },
  };
}
