import cluster, { type Worker } from "node:cluster";
import type { WorkerState } from "./cluster-health.js";
import { createIpcPeer, type IpcHandler, type IpcPeer, workerChannel } from "./ipc-peer.js";
import { type FatalMessage, isClusterMessage, type ListeningMessage } from "./messages.js";
import { workerEnv } from "./worker-link.js";

/** Options for createWorkerPool. */
export interface WorkerPoolOptions {
  /** How many workers to keep running. */
  size: number;
  /** The server instance's id, given to every worker. */
  instanceId: string;
  /** The IPC methods the primary answers a worker with. */
  handlersFor(worker: Worker): Readonly<Record<string, IpcHandler>>;
  /**
   * A worker that dies before it listens, this many times in a row in one
   * place, makes the pool give up (a worker that keeps dying at start-up).
   * Default 5.
   */
  maxStartFailures?: number;
  /** The wait before the first replacement, in ms, doubled per failure in a row up to 5 s. Default 100. */
  restartDelayMs?: number;
  /** A worker's state changed. */
  onStateChange(): void;
  /** A worker listens (its first report); slot is its place, 1 to N. */
  onListening(worker: Worker, message: ListeningMessage, slot: number): void;
  /** A worker died while the pool keeps running; one will replace it. */
  onReplacing(info: WorkerExit): void;
  /**
   * The pool can't keep its workers: one died before every worker first
   * listened, or replacements kept dying at start-up. Stop it.
   */
  onGiveUp(reason: { message: string; exitCode: number }): void;
  /** Every worker has exited after stop(). */
  onStopped(exitCodes: readonly (number | null)[]): void;
}

/** How a worker ended. */
export interface WorkerExit {
  slot: number;
  /** node:cluster's id of the worker (not reused). */
  workerId: number;
  pid: number | undefined;
  code: number | null;
  signal: string | null;
  /** What it reported before it exited (a setting it could not use, say). */
  error?: string;
}

/** N workers kept running by the primary. */
export interface WorkerPool {
  /** The state of each place, 1 to N. */
  states(): WorkerState[];
  /** IPC peers of the workers that listen now. */
  listeningPeers(): IpcPeer[];
  /** Every worker's IPC channel that is open. */
  connected(): Worker[];
  /** Drains every worker (asks it to shut down) and stops replacing them. */
  stop(graceMs: number): void;
  /** Kills every worker at once (SIGKILL). */
  kill(): void;
}

interface Place {
  slot: number;
  worker?: Worker;
  peer?: IpcPeer;
  state: WorkerState;
  /** Workers of this place that died before they listened, in a row. */
  startFailures: number;
  fatal?: FatalMessage;
  restartTimer?: NodeJS.Timeout;
}

/**
 * Creates the pool and forks its workers. A worker that dies is replaced
 * in its place after a short wait that grows with failures in a row; until
 * every worker has listened once, any death gives up instead, since it is
 * almost always a setting that every worker would trip on.
 */
export function createWorkerPool(options: WorkerPoolOptions): WorkerPool {
  const maxStartFailures = options.maxStartFailures ?? 5;
  const restartDelayMs = options.restartDelayMs ?? 100;
  const places: Place[] = Array.from({ length: options.size }, (_, i) => ({
    slot: i + 1,
    state: "starting",
    startFailures: 0,
  }));
  let started = false;
  let stopping = false;
  let gaveUp = false;
  let backstop: NodeJS.Timeout | undefined;
  const exitCodes: (number | null)[] = [];

  function fork(place: Place): void {
    place.restartTimer = undefined;
    place.state = "starting";
    place.fatal = undefined;
    const env: Record<string, string> = {
      [workerEnv.slot]: String(place.slot),
      [workerEnv.instanceId]: options.instanceId,
    };
    const worker = cluster.fork(env);
    place.worker = worker;
    place.peer = createIpcPeer(workerChannel(worker), {
      handlers: options.handlersFor(worker),
      timeoutMs: 2000,
    });
    // A send to a worker that just died fails with EPIPE; its exit follows.
    worker.on("error", () => {});
    worker.on("message", function onWorkerMessage(message: unknown) {
      if (!isClusterMessage(message)) return;
      if (message.modelmora === "listening") {
        place.state = stopping ? "draining" : "serving";
        place.startFailures = 0;
        if (!started && places.every((p) => p.state === "serving")) {
          started = true;
        }
        options.onListening(worker, message, place.slot);
        options.onStateChange();
      } else if (message.modelmora === "fatal") {
        place.fatal = message;
      } else if (message.modelmora === "draining") {
        place.state = "draining";
        options.onStateChange();
      }
    });
    worker.once("exit", (code, signal) => onExit(place, worker, code, signal));
    if (started) {
      options.onStateChange();
    }
  }

  function onExit(place: Place, worker: Worker, code: number | null, signal: string | null): void {
    if (place.worker !== worker) return;
    const listened = place.state === "serving" || place.state === "draining";
    place.peer?.close();
    place.worker = undefined;
    place.peer = undefined;
    place.state = "stopped";
    options.onStateChange();
    const exit: WorkerExit = {
      slot: place.slot,
      workerId: worker.id,
      pid: worker.process.pid,
      code,
      signal,
      error: place.fatal?.message,
    };
    if (stopping) {
      exitCodes.push(code);
      if (places.every((p) => p.worker === undefined)) {
        if (backstop !== undefined) clearTimeout(backstop);
        options.onStopped(exitCodes);
      }
      return;
    }
    if (!started || (!listened && ++place.startFailures >= maxStartFailures)) {
      giveUp({
        message:
          place.fatal?.message ??
          `worker ${place.slot} exited (${code ?? signal}) before it listened`,
        exitCode: place.fatal?.exitCode ?? 1,
      });
      return;
    }
    options.onReplacing(exit);
    const delayMs = Math.min(5000, restartDelayMs * 2 ** place.startFailures);
    place.restartTimer = setTimeout(() => fork(place), delayMs);
  }

  function giveUp(reason: { message: string; exitCode: number }): void {
    if (gaveUp) return;
    gaveUp = true;
    options.onGiveUp(reason);
  }

  for (const place of places) {
    fork(place);
  }

  return {
    states: () => places.map((place) => place.state),
    listeningPeers: () =>
      places
        .filter((place) => place.state === "serving" || place.state === "draining")
        .map((place) => place.peer)
        .filter((peer): peer is IpcPeer => peer !== undefined),
    connected: () =>
      places
        .map((place) => place.worker)
        .filter((worker): worker is Worker => worker?.isConnected() === true),
    stop(graceMs) {
      if (stopping) return;
      stopping = true;
      for (const place of places) {
        if (place.restartTimer !== undefined) {
          clearTimeout(place.restartTimer);
          place.restartTimer = undefined;
        }
        if (place.worker !== undefined) {
          place.state = "draining";
          if (place.worker.isConnected()) {
            place.worker.send({ modelmora: "shutdown" });
          }
        }
      }
      options.onStateChange();
      if (places.every((place) => place.worker === undefined)) {
        options.onStopped(exitCodes);
        return;
      }
      // A worker that has not exited well after its grace period is stuck.
      backstop = setTimeout(() => {
        for (const place of places) {
          place.worker?.process.kill("SIGKILL");
        }
      }, graceMs + 5000);
    },
    kill() {
      for (const place of places) {
        place.worker?.process.kill("SIGKILL");
      }
    },
  };
}
