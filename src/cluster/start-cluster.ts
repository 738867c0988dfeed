import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { clusterServing } from "./cluster-health.js";
import { createPrimaryMetrics } from "./cluster-metrics.js";
import type { HealthMessage, ListeningMessage } from "./messages.js";
import { createPrimaryLimits } from "./shared-limits.js";
import { createWorkerPool, type WorkerExit } from "./worker-pool.js";

/** What the primary writes to the log. */
export interface ClusterLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Options for startCluster. */
export interface ClusterOptions {
  /** Worker processes, at least 2. */
  workers: number;
  /**
   * True to keep the workers' rate limits, quotas and stream counts in the
   * primary's memory (no Redis); false when the workers use Redis.
   */
  sharedLimits: boolean;
  /** Where the primary logs workers that die and are replaced. */
  logger: ClusterLogger;
  /** Settings for tests. */
  maxStartFailures?: number;
  restartDelayMs?: number;
}

/** How the cluster ended. */
export interface ClusterExit {
  /** The exit code for the primary: 0 when every worker stopped cleanly. */
  code: number;
  /** Why it gave up, for stderr (a worker's start-up error, say). */
  message?: string;
}

/** The primary of a server with several workers. */
export interface ClusterPrimary {
  /**
   * Resolves once every worker listens, with the first one's report;
   * rejects when the cluster stops first (a worker could not start, or a
   * signal came).
   */
  readonly listening: Promise<Omit<ListeningMessage, "modelmora">>;
  /** Resolves once every worker has exited. */
  readonly exited: Promise<ClusterExit>;
  /**
   * Shuts down: health turns NOT_SERVING and every worker drains as one
   * server would (for up to graceMs), then exits. A worker still running
   * 5 s after its grace period is killed.
   */
  stop(graceMs: number): void;
  /** Kills every worker at once (a second signal). */
  kill(): void;
}

/**
 * Starts the primary: forks the workers (each runs the same CLI and
 * listens on the one port; node:cluster hands out connections round-robin),
 * replaces a worker that dies, answers the workers' requests for limits
 * (when shared) and for the whole server's metrics, and tells every worker
 * whether all of them serve. Call from the CLI, in the primary process.
 */
export function startCluster(options: ClusterOptions): ClusterPrimary {
  const { logger } = options;
  const instanceId = `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`;
  const limits = options.sharedLimits ? createPrimaryLimits() : undefined;
  const metrics = createPrimaryMetrics();
  let serving = false;
  let stopping = false;
  let graceMs = 5000;
  let resolveListening: (report: Omit<ListeningMessage, "modelmora">) => void = () => {};
  let rejectListening: (error: Error) => void = () => {};
  const listening = new Promise<Omit<ListeningMessage, "modelmora">>((resolve, reject) => {
    resolveListening = resolve;
    rejectListening = reject;
  });
  // The CLI awaits `exited` when listening fails; this keeps Node quiet meanwhile.
  listening.catch(() => {});
  let resolveExited: (exit: ClusterExit) => void = () => {};
  const exited = new Promise<ClusterExit>((resolve) => {
    resolveExited = resolve;
  });
  let failure: { message: string; exitCode: number } | undefined;
  let first: Omit<ListeningMessage, "modelmora"> | undefined;

  function broadcastHealth(force = false): void {
    const next = clusterServing(pool.states(), stopping);
    if (next === serving && !force) return;
    serving = next;
    const message: HealthMessage = { modelmora: "health", serving };
    for (const worker of pool.connected()) {
      worker.send(message);
    }
  }

  const pool = createWorkerPool({
    size: options.workers,
    instanceId,
    maxStartFailures: options.maxStartFailures,
    restartDelayMs: options.restartDelayMs,
    handlersFor(worker) {
      return {
        ...limits?.handlersFor(worker.id),
        "metrics.render": () => metrics.render(pool.listeningPeers()),
      };
    },
    onStateChange() {
      const states = pool.states();
      metrics.setWorkers({
        starting: states.filter((state) => state === "starting").length,
        serving: states.filter((state) => state === "serving").length,
        draining: states.filter((state) => state === "draining").length,
      });
      broadcastHealth();
    },
    onListening(worker, report, slot) {
      logger.info("worker listening", { worker: String(slot), worker_pid: worker.process.pid });
      first ??= { url: report.url, port: report.port, renderer: report.renderer };
      // A worker that starts late hears the state even when it did not change.
      const message: HealthMessage = {
        modelmora: "health",
        serving: clusterServing(pool.states(), stopping),
      };
      worker.send(message);
      if (pool.states().every((state) => state === "serving")) {
        resolveListening(first);
      }
    },
    onReplacing(exit: WorkerExit) {
      metrics.workerRestarted();
      limits?.workerGone(exit.workerId);
      logger.warn("worker exited; starting another", {
        worker: String(exit.slot),
        worker_pid: exit.pid,
        code: exit.code,
        signal: exit.signal,
        error: exit.error,
      });
    },
    onGiveUp(reason) {
      failure = reason;
      logger.error(
        first === undefined
          ? "a worker could not start; stopping"
          : "workers keep exiting as they start; stopping",
        { error: reason.message },
      );
      rejectListening(new Error(reason.message));
      stop(graceMs);
    },
    onStopped(exitCodes) {
      const clean = exitCodes.every((code) => code === 0);
      resolveExited(
        failure === undefined
          ? { code: clean ? 0 : 1 }
          : { code: failure.exitCode, message: failure.message },
      );
    },
  });

  function stop(grace: number): void {
    graceMs = grace;
    stopping = true;
    // Stopped before every worker listened: it never will.
    rejectListening(new Error("stopped before every worker listened"));
    broadcastHealth();
    pool.stop(grace);
  }

  return { listening, exited, stop, kill: () => pool.kill() };
}
