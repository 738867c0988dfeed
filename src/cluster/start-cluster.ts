import type { Worker } from "node:cluster";
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { clusterServing, type WorkerState } from "./cluster-health.js";
import { createPrimaryMetrics } from "./cluster-metrics.js";
import type { HealthMessage, ListeningMessage } from "./messages.js";
import { createPrimaryLimits, type PrimaryLimits } from "./shared-limits.js";
import { createWorkerPool, type WorkerExit, type WorkerPool } from "./worker-pool.js";

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
  return new Primary(options);
}

/** What the primary reports once every worker listens: the first one's report. */
type ListeningReport = Omit<ListeningMessage, "modelmora">;

class Primary implements ClusterPrimary {
  readonly listening: Promise<ListeningReport>;
  readonly exited: Promise<ClusterExit>;
  readonly #logger: ClusterLogger;
  readonly #limits: PrimaryLimits | undefined;
  readonly #metrics = createPrimaryMetrics();
  readonly #pool: WorkerPool;
  /** The health last told to the workers. */
  #serving = false;
  #stopping = false;
  #graceMs = 5000;
  #failure: { message: string; exitCode: number } | undefined;
  #first: ListeningReport | undefined;
  #resolveListening: (report: ListeningReport) => void = () => {};
  #rejectListening: (error: Error) => void = () => {};
  #resolveExited: (exit: ClusterExit) => void = () => {};

  constructor(options: ClusterOptions) {
    this.#logger = options.logger;
    this.#limits = options.sharedLimits ? createPrimaryLimits() : undefined;
    this.listening = new Promise((resolve, reject) => {
      this.#resolveListening = resolve;
      this.#rejectListening = reject;
    });
    // The CLI awaits `exited` when listening fails; this keeps Node quiet meanwhile.
    this.listening.catch(() => {});
    this.exited = new Promise((resolve) => {
      this.#resolveExited = resolve;
    });
    this.#pool = createWorkerPool({
      size: options.workers,
      instanceId: `${hostname()}:${process.pid}:${randomBytes(4).toString("hex")}`,
      maxStartFailures: options.maxStartFailures,
      restartDelayMs: options.restartDelayMs,
      handlersFor: (worker) => ({
        ...this.#limits?.handlersFor(worker.id),
        "metrics.render": () => this.#metrics.render(this.#pool.listeningPeers()),
      }),
      onStateChange: () => this.#onStateChange(),
      onListening: (worker, report, slot) => this.#onListening(worker, report, slot),
      onReplacing: (exit) => this.#onReplacing(exit),
      onGiveUp: (reason) => this.#onGiveUp(reason),
      onStopped: (exitCodes) => this.#onStopped(exitCodes),
    });
  }

  stop(grace: number): void {
    this.#graceMs = grace;
    this.#stopping = true;
    // Stopped before every worker listened: it never will.
    this.#rejectListening(new Error("stopped before every worker listened"));
    this.#broadcastHealth();
    this.#pool.stop(grace);
  }

  kill(): void {
    this.#pool.kill();
  }

  /** Tells every worker whether all of them serve, when that changed. */
  #broadcastHealth(): void {
    const next = clusterServing(this.#pool.states(), this.#stopping);
    if (next === this.#serving) return;
    this.#serving = next;
    const message: HealthMessage = { modelmora: "health", serving: next };
    for (const worker of this.#pool.connected()) {
      worker.send(message);
    }
  }

  #onStateChange(): void {
    const states = this.#pool.states();
    const count = (wanted: WorkerState) => states.filter((state) => state === wanted).length;
    this.#metrics.setWorkers({
      starting: count("starting"),
      serving: count("serving"),
      draining: count("draining"),
    });
    this.#broadcastHealth();
  }

  #onListening(worker: Worker, report: ListeningMessage, slot: number): void {
    this.#logger.info("worker listening", {
      worker: String(slot),
      worker_pid: worker.process.pid,
    });
    this.#first ??= { url: report.url, port: report.port, renderer: report.renderer };
    // A worker that starts late hears the state even when it did not change.
    const message: HealthMessage = {
      modelmora: "health",
      serving: clusterServing(this.#pool.states(), this.#stopping),
    };
    worker.send(message);
    if (this.#pool.states().every((state) => state === "serving")) {
      this.#resolveListening(this.#first);
    }
  }

  #onReplacing(exit: WorkerExit): void {
    this.#metrics.workerRestarted();
    this.#limits?.workerGone(exit.workerId);
    this.#logger.warn("worker exited; starting another", {
      worker: String(exit.slot),
      worker_pid: exit.pid,
      code: exit.code,
      signal: exit.signal,
      error: exit.error,
    });
  }

  #onGiveUp(reason: { message: string; exitCode: number }): void {
    this.#failure = reason;
    this.#logger.error(
      this.#first === undefined
        ? "a worker could not start; stopping"
        : "workers keep exiting as they start; stopping",
      { error: reason.message },
    );
    this.#rejectListening(new Error(reason.message));
    this.stop(this.#graceMs);
  }

  #onStopped(exitCodes: readonly (number | null)[]): void {
    const clean = exitCodes.every((code) => code === 0);
    const failure = this.#failure;
    this.#resolveExited(
      failure === undefined
        ? { code: clean ? 0 : 1 }
        : { code: failure.exitCode, message: failure.message },
    );
  }
}
