/**
 * The command line of `npm run bench`: flags, profiles, help text, the
 * progress line and the log of skips and failures on stderr. The door of
 * bench/cli/.
 *
 * Library module of `npm run bench`; parses the argv it is given.
 */
export { authHeaders, type BenchOptions, optionsFromArgs } from "./options.js";
export {
  approximateBytes,
  type FixedScenarioId,
  type IterationPlan,
  type Mode,
  type Plans,
  type Profile,
  payloadSweepModels,
  type ScenarioId,
  scenarioIds,
  sizeLabel,
  sweepIds,
} from "./profiles.js";
export { createProgress, type Progress } from "./progress.js";
export { createRunLog, type RunLog, type RunLogEntry } from "./run-log.js";
export { type ServerFlag, serverFlags } from "./server-flags.js";
export { type KnownRows, usage } from "./usage.js";
export { isUsageError, UsageError } from "./usage-error.js";
