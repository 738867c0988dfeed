/**
 * What a run's figures mean: the proof of concept's decision rule applied to
 * them, and the performance targets checked. The door of bench/conclusions/.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
export { decide, verdictOf } from "./decision-rule.js";
export { checkTargets, memoryLimitBytes, seedFigures } from "./performance-targets.js";
