/**
 * What the bench measures: the server under test (spawned, or --url), the
 * baseline servers, the probe that finds which rows can run, and the
 * readings of each server's CPU and memory. Every server runs in its own
 * process, started by one helper that waits for its "listening on URL"
 * line. The door of bench/targets/.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
export {
  installCleanupHandlers,
  type ListeningProcess,
  type ProcessInfo,
  repoRoot,
  type StartOptions,
  startListening,
  tsxArgs,
} from "./listening-process.js";
export {
  type OpenTargetOptions,
  openTarget,
  type SpawnServerOptions,
  spawnServer,
  type Target,
} from "./open-target.js";
export {
  type ProbeFailure,
  type ProbeRowsOptions,
  probeCall,
  probeRow,
  probeRows,
} from "./probe.js";
export {
  metricsStats,
  type ProcessSnapshot,
  procfsStats,
  prometheusValue,
  type StatsSource,
  StatsWatch,
  type WatchResult,
} from "./process-stats.js";
export { type Baselines, type StartBaselinesOptions, startBaselines } from "./start-baselines.js";
export { type StartTargetsOptions, startTargets, type Targets } from "./start-targets.js";
