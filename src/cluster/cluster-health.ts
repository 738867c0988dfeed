/**
 * Whether every worker of the server serves: the primary knows, and tells
 * each worker whenever it changes, so that a health check answered by any
 * worker (GET /healthz, grpc.health.v1.Health) speaks for the whole server.
 */

import { createHealthState, type HealthState } from "../server/index.js";

/**
 * A worker's view of the cluster's health, set by the primary's messages
 * (setServing); the worker's server reads it as its readiness.
 */
export type ClusterReadiness = HealthState;

/** Creates a worker's view; it starts NOT serving until the primary says all workers do. */
export function createClusterReadiness(): ClusterReadiness {
  return createHealthState(false);
}

/** The state of one worker, as the primary sees it. */
export type WorkerState = "starting" | "serving" | "draining" | "stopped";

/**
 * The cluster's health from its workers' states: serving only when it
 * expects every worker to serve and each one does.
 */
export function clusterServing(states: readonly WorkerState[], stopping: boolean): boolean {
  return !stopping && states.length > 0 && states.every((state) => state === "serving");
}
