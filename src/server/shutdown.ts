import type { ServerLogger } from "../observability/index.js";
import { type CallRegistry, outcomeOf, shutdownError } from "./call.js";
import type { HealthState } from "./health-service.js";
import type { Listener } from "./listener.js";

/** What a shutdown acts on. */
export interface ShutdownParts {
  readonly health: HealthState;
  readonly listener: Listener;
  readonly calls: CallRegistry;
  /** Aborted, with the shutdown error, when the grace period is over: every call listens to it. */
  readonly cut: AbortController;
  readonly logger: Pick<ServerLogger, "warn">;
}

/** How long calls cut at the end of a shutdown get to send their status, ms. */
const cutFlushMs = 3000;

/**
 * Shuts the server down, waiting on events with deadlines (never polling):
 * health turns NOT_SERVING and the listener drains (idle connections close
 * at once); calls in flight get graceMs to end; those left are cut with
 * UNAVAILABLE and get cutFlushMs to send it their protocol's way; then the
 * connections left are destroyed. Resolves once every connection is
 * closed and every call reported.
 */
export async function shutDown(parts: ShutdownParts, graceMs: number): Promise<void> {
  const { health, listener, calls, cut } = parts;
  health.setServing(false);
  listener.drain();
  if (!(await settlesWithin(calls.idle(), graceMs))) {
    parts.logger.warn("grace period over, cancelling calls in flight", { calls: calls.size });
    const reason = shutdownError();
    for (const call of calls) call.finish(outcomeOf(reason));
    cut.abort(reason);
    await settlesWithin(calls.idle(), cutFlushMs);
  }
  if (!(await settlesWithin(listener.closed(), cutFlushMs))) {
    listener.destroyAll();
  }
  await Promise.all([listener.closed(), calls.idle()]);
}

/** Whether `promise` settles within ms (a deadline, not a poll). */
async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([promise.then(() => true), deadline]);
  } finally {
    clearTimeout(timer);
  }
}
