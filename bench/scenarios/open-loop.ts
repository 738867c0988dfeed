/**
 * Open-loop load: requests start on a fixed schedule (rate requests per
 * second), whether or not earlier ones have finished, and each request's
 * latency runs from the moment it was scheduled to start. A closed loop
 * (the next request starts when the previous one ends, as tinybench and
 * the other scenarios do) slows down with the server, so the requests that
 * would have waited in a queue are never sent and the queueing never shows
 * in its percentiles ("coordinated omission"). Here a server that falls
 * behind shows it: latency grows request after request.
 *
 * Library module of `npm run bench`; reads no flags or environment. The
 * clock is a parameter so tests can run a schedule in virtual time.
 */

/** Time as the scheduler sees it. */
export interface OpenLoopClock {
  /** Milliseconds, from any origin. */
  now(): number;
  /** Resolves at time `atMs` (at once when it has passed). */
  sleepUntil(atMs: number): Promise<void>;
}

/** Real time: performance.now() and setTimeout (about 1 ms of granularity). */
export const realClock: OpenLoopClock = {
  now: () => performance.now(),
  sleepUntil(atMs) {
    const waitMs = atMs - performance.now();
    if (waitMs <= 0) return Promise.resolve();
    return new Promise((resolve) => setTimeout(resolve, waitMs));
  },
};

/** Options for runOpenLoop. */
export interface OpenLoopOptions {
  /** Offered load, requests per second. */
  readonly rateRps: number;
  /** How long requests are started for, ms; the run then waits for those in flight. */
  readonly durationMs: number;
  /** One request; resolves when its response has arrived (and been checked), rejects on failure. */
  call(): Promise<void>;
  /** Default realClock. */
  readonly clock?: OpenLoopClock;
  /**
   * Most requests in flight. Past it the server is not keeping up at all:
   * scheduling stops and the outcome says `overloaded`. Default 256.
   */
  readonly maxInFlight?: number;
}

/** What an open-loop run measured. */
export interface OpenLoopOutcome {
  /** Requests the schedule called for. */
  readonly scheduled: number;
  /** Requests started (fewer than scheduled when overloaded). */
  readonly started: number;
  readonly completed: number;
  readonly failed: number;
  readonly firstError?: unknown;
  /** Per completed request: completion − scheduled start, ms (what a user waits). */
  readonly latenciesMs: readonly number[];
  /** Per completed request: completion − actual start, ms (what a closed loop would record). */
  readonly serviceMs: readonly number[];
  /** The most a request started after its scheduled time, ms: the client's own lag. */
  readonly maxStartLagMs: number;
  /** The most requests in flight at once. */
  readonly maxInFlight: number;
  /** Stopped scheduling because maxInFlight requests were in flight. */
  readonly overloaded: boolean;
  /** From the first scheduled start to the last completion, ms. */
  readonly elapsedMs: number;
}

/** Start offsets from the run's start, ms: one every 1000/rate ms for durationMs. */
export function scheduleOffsetsMs(rateRps: number, durationMs: number): number[] {
  if (!(rateRps > 0) || !(durationMs > 0)) return [];
  const intervalMs = 1000 / rateRps;
  const count = Math.max(1, Math.floor((durationMs * rateRps) / 1000));
  return Array.from({ length: count }, (_, i) => i * intervalMs);
}

/** Runs requests on the schedule and waits for every one started. */
export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopOutcome> {
  const clock = options.clock ?? realClock;
  const limit = options.maxInFlight ?? 256;
  const offsets = scheduleOffsetsMs(options.rateRps, options.durationMs);
  const latenciesMs: number[] = [];
  const serviceMs: number[] = [];
  const pending: Promise<void>[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let maxStartLagMs = 0;
  let completed = 0;
  let failed = 0;
  let firstError: unknown;
  let overloaded = false;
  let lastEndMs = 0;
  const startMs = clock.now();
  for (const offset of offsets) {
    const scheduledMs = startMs + offset;
    await clock.sleepUntil(scheduledMs);
    if (inFlight >= limit) {
      overloaded = true;
      break;
    }
    const actualMs = clock.now();
    maxStartLagMs = Math.max(maxStartLagMs, actualMs - scheduledMs);
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    pending.push(
      options.call().then(
        () => {
          const endMs = clock.now();
          lastEndMs = Math.max(lastEndMs, endMs);
          latenciesMs.push(endMs - scheduledMs);
          serviceMs.push(endMs - actualMs);
          completed++;
          inFlight--;
        },
        (err: unknown) => {
          lastEndMs = Math.max(lastEndMs, clock.now());
          failed++;
          firstError ??= err;
          inFlight--;
        },
      ),
    );
  }
  await Promise.all(pending);
  return {
    scheduled: offsets.length,
    started: pending.length,
    completed,
    failed,
    firstError,
    latenciesMs,
    serviceMs,
    maxStartLagMs,
    maxInFlight,
    overloaded,
    elapsedMs: Math.max(0, lastEndMs - startMs),
  };
}
