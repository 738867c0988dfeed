/**
 * The scenarios and how they are measured: their specs, the per-row state
 * during a run, the tinybench runs in rounds, the open-loop scheduler, and
 * the message-size measurement. The door of bench/scenarios/.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
export { type MessageSizesOptions, measureMessageSizes } from "./message-sizes.js";
export {
  type OpenLoopClock,
  type OpenLoopOptions,
  type OpenLoopOutcome,
  realClock,
  runOpenLoop,
  scheduleOffsetsMs,
} from "./open-loop.js";
export { type RoundRecord, RowRun, type RunContext } from "./row-run.js";
export { runOpenLoopStep } from "./run-open-loop.js";
export { runScenario } from "./run-scenario.js";
export { type RunScenariosOptions, runScenarios } from "./run-scenarios.js";
export { fixedPrompt, type ScenarioSpec, scenarioSpecs } from "./specs.js";
