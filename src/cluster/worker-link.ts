import cluster from "node:cluster";
import type { LimitStore, LimitStoreLogger } from "../limits/index.js";
import type { Metrics } from "../observability/index.js";
import { type ClusterReadiness, createClusterReadiness } from "./cluster-health.js";
import { createWorkerMetrics } from "./cluster-metrics.js";
import { createIpcPeer, type IpcPeer, primaryChannel } from "./ipc-peer.js";
import {
  type DrainingMessage,
  type FatalMessage,
  isClusterMessage,
  type ListeningMessage,
} from "./messages.js";
import { createWorkerLimitStore } from "./shared-limits.js";

/**
 * Environment variables the primary gives each worker it forks (not
 * settings: the primary sets them).
 */
export const workerEnv = {
  /** The worker's place, "1" to N; a replacement takes the place of the worker it replaces. */
  slot: "MODELMORA_CLUSTER_WORKER",
  /** The server instance's id, for the Redis store's per-instance stream count. */
  instanceId: "MODELMORA_CLUSTER_INSTANCE",
} as const;

/** A worker's link to its primary. */
export interface WorkerLink {
  /** The worker's place, "1" to N: its `worker` metrics label. */
  readonly slot: string;
  /** The server instance's id (the same in every worker of the server). */
  readonly instanceId: string;
  /** The server's metrics; render() answers for the whole server. */
  readonly metrics: Metrics;
  /** Whether every worker serves, as the primary says. */
  readonly readiness: ClusterReadiness;
  /**
   * The limit store shared through the primary (made on first use, so a
   * worker that uses Redis registers no second set of store metrics).
   */
  limitStore(logger?: LimitStoreLogger): LimitStore;
  /** Tells the primary this worker listens. */
  listening(message: Omit<ListeningMessage, "modelmora">): void;
  /** Tells the primary this worker drains (a signal sent to it alone). */
  draining(): void;
  /** Tells the primary why this worker can't start; resolves once sent (then exit). */
  fatal(message: string, exitCode: number): Promise<void>;
  /** Calls listener when the primary asks this worker to drain and exit. */
  onShutdown(listener: () => void): void;
}

/** Joins the cluster from a worker process. Throws outside a cluster worker. */
export function joinCluster(): WorkerLink {
  if (!cluster.isWorker) {
    throw new Error("joinCluster: not a cluster worker");
  }
  const slot = process.env[workerEnv.slot] ?? String(cluster.worker?.id ?? 0);
  const readiness = createClusterReadiness();
  let peer: IpcPeer | undefined;
  const workerMetrics = createWorkerMetrics(slot, () => peer as IpcPeer);
  peer = createIpcPeer(primaryChannel(), { handlers: workerMetrics.handlers });
  const shutdownListeners = new Set<() => void>();
  process.on("message", function onPrimaryMessage(message) {
    if (!isClusterMessage(message)) return;
    if (message.modelmora === "health") {
      readiness.setServing(message.serving);
    } else if (message.modelmora === "shutdown") {
      for (const listener of shutdownListeners) listener();
    }
  });
  let store: LimitStore | undefined;
  const send = (message: ListeningMessage | DrainingMessage | FatalMessage) =>
    new Promise<void>((resolve) => {
      if (process.send === undefined || !process.connected) {
        resolve();
        return;
      }
      process.send(message, undefined, undefined, () => resolve());
    });

  return {
    slot,
    instanceId: process.env[workerEnv.instanceId] ?? `worker-${process.pid}`,
    metrics: workerMetrics.metrics,
    readiness,
    limitStore(logger) {
      store ??= createWorkerLimitStore({
        ipc: peer as IpcPeer,
        logger,
        registry: workerMetrics.metrics.registry,
      });
      return store;
    },
    listening(message) {
      void send({ modelmora: "listening", ...message });
    },
    draining() {
      void send({ modelmora: "draining" });
    },
    fatal(message, exitCode) {
      return send({ modelmora: "fatal", message, exitCode });
    },
    onShutdown(listener) {
      shutdownListeners.add(listener);
    },
  };
}
