/**
 * Several worker processes for one server (`--workers N`), with
 * node:cluster: the primary forks and replaces workers, keeps their shared
 * limits (without Redis), merges their metrics and tells them whether all
 * of them serve; each worker runs the whole server on the one port.
 */
export { type ClusterReadiness, clusterServing, type WorkerState } from "./cluster-health.js";
export { createPrimaryMetrics, type PrimaryMetrics } from "./cluster-metrics.js";
export {
  type ClusterExit,
  type ClusterLogger,
  type ClusterOptions,
  type ClusterPrimary,
  startCluster,
} from "./start-cluster.js";
export { rendersPerWorker, workerCountFromString } from "./worker-count.js";
export { joinCluster, type WorkerLink, workerEnv } from "./worker-link.js";
