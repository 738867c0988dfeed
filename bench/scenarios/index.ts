/**
 * The scenarios and how they are measured: their specs, the per-row state
 * during a run, and the tinybench runs. The door of bench/scenarios/.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
export { RowRun, type RunContext } from "./row-run.js";
export { runScenario } from "./run-scenario.js";
export { type RunScenariosOptions, runScenarios } from "./run-scenarios.js";
export { fixedPrompt, type ScenarioSpec, scenarioSpecs } from "./specs.js";
