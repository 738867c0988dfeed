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
  return new Pool(options);
}

/** Why the pool gives up: what the CLI prints, and its exit code. */
type GiveUpReason = { message: string; exitCode: number };

class Pool implements WorkerPool {
  readonly #options: WorkerPoolOptions;
  readonly #maxStartFailures: number;
  readonly #restartDelayMs: number;
  readonly #places: Place[];
  /** True once every place has listened: from then on a death is replaced. */
  #started = false;
  #stopping = false;
  #gaveUp = false;
  #backstop: NodeJS.Timeout | undefined;
  readonly #exitCodes: (number | null)[] = [];

  constructor(options: WorkerPoolOptions) {
    this.#options = options;
    this.#maxStartFailures = options.maxStartFailures ?? 5;
    this.#restartDelayMs = options.restartDelayMs ?? 100;
    this.#places = Array.from({ length: options.size }, (_, i) => ({
      slot: i + 1,
      state: "starting",
      startFailures: 0,
    }));
    for (const place of this.#places) {
      this.#fork(place);
    }
  }

  states(): WorkerState[] {
    return this.#places.map((place) => place.state);
  }

  listeningPeers(): IpcPeer[] {
    return this.#places
      .filter((place) => place.state === "serving" || place.state === "draining")
      .map((place) => place.peer)
      .filter((peer): peer is IpcPeer => peer !== undefined);
  }

  connected(): Worker[] {
    return this.#places
      .map((place) => place.worker)
      .filter((worker): worker is Worker => worker?.isConnected() === true);
  }

  stop(graceMs: number): void {
    if (this.#stopping) return;
    this.#stopping = true;
    for (const place of this.#places) {
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
    this.#options.onStateChange();
    if (this.#places.every((place) => place.worker === undefined)) {
      this.#options.onStopped(this.#exitCodes);
      return;
    }
    // A worker that has not exited well after its grace period is stuck.
    this.#backstop = setTimeout(() => this.kill(), graceMs + 5000);
  }

  kill(): void {
    for (const place of this.#places) {
      place.worker?.process.kill("SIGKILL");
    }
  }

  /** Starts a worker in `place`, with its IPC peer and its listeners. */
  #fork(place: Place): void {
    place.restartTimer = undefined;
    place.state = "starting";
    place.fatal = undefined;
    const env: Record<string, string> = {
      [workerEnv.slot]: String(place.slot),
      [workerEnv.instanceId]: this.#options.instanceId,
    };
    const worker = cluster.fork(env);
    place.worker = worker;
    place.peer = createIpcPeer(workerChannel(worker), {
      handlers: this.#options.handlersFor(worker),
      timeoutMs: 2000,
    });
    // A send to a worker that just died fails with EPIPE; its exit follows.
    worker.on("error", () => {});
    worker.on("message", (message: unknown) => this.#onMessage(place, worker, message));
    worker.once("exit", (code, signal) => this.#onExit(place, worker, code, signal));
    if (this.#started) {
      this.#options.onStateChange();
    }
  }

  /** A worker's report: it listens, it can't start (why), or it drains. */
  #onMessage(place: Place, worker: Worker, message: unknown): void {
    if (!isClusterMessage(message)) return;
    if (message.modelmora === "listening") {
      place.state = this.#stopping ? "draining" : "serving";
      place.startFailures = 0;
      if (!this.#started && this.#places.every((p) => p.state === "serving")) {
        this.#started = true;
      }
      this.#options.onListening(worker, message, place.slot);
      this.#options.onStateChange();
    } else if (message.modelmora === "fatal") {
      place.fatal = message;
    } else if (message.modelmora === "draining") {
      place.state = "draining";
      this.#options.onStateChange();
    }
  }

  #onExit(place: Place, worker: Worker, code: number | null, signal: string | null): void {
    if (place.worker !== worker) return;
    const listened = place.state === "serving" || place.state === "draining";
    place.peer?.close();
    place.worker = undefined;
    place.peer = undefined;
    place.state = "stopped";
    this.#options.onStateChange();
    if (this.#stopping) {
      this.#exitedWhileStopping(code);
    } else if (!this.#started || (!listened && ++place.startFailures >= this.#maxStartFailures)) {
      this.#giveUp({
        message:
          place.fatal?.message ??
          `worker ${place.slot} exited (${code ?? signal}) before it listened`,
        exitCode: place.fatal?.exitCode ?? 1,
      });
    } else {
      this.#replace(place, {
        slot: place.slot,
        workerId: worker.id,
        pid: worker.process.pid,
        code,
        signal,
        error: place.fatal?.message,
      });
    }
  }

  /** A worker exited after stop(): once the last one has, the pool has stopped. */
  #exitedWhileStopping(code: number | null): void {
    this.#exitCodes.push(code);
    if (this.#places.every((p) => p.worker === undefined)) {
      if (this.#backstop !== undefined) clearTimeout(this.#backstop);
      this.#options.onStopped(this.#exitCodes);
    }
  }

  /** Forks a worker in the place of one that died, after a wait that doubles per failure in a row. */
  #replace(place: Place, exit: WorkerExit): void {
    this.#options.onReplacing(exit);
    const delayMs = Math.min(5000, this.#restartDelayMs * 2 ** place.startFailures);
    place.restartTimer = setTimeout(() => this.#fork(place), delayMs);
  }

  #giveUp(reason: GiveUpReason): void {
    if (this.#gaveUp) return;
    this.#gaveUp = true;
    this.#options.onGiveUp(reason);
  }
}
