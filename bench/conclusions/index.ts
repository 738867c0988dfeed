/**
 * What a run's figures mean: the recommendation per kind of traffic and
 * client stack, the proof of concept's decision rule applied, its
 * expectations tested, and the performance targets checked. The door of
 * bench/conclusions/.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
export {
  applyRule,
  type Band,
  bandOf,
  type Decision,
  type DecisionBand,
  type DecisionItem,
  decisionBands,
  decisionOf,
  fasterText,
} from "./decision-rule.js";
export { type Expectation, expectationsOf, type Mark } from "./expectations.js";
export { clientStacks, stackName } from "./find.js";
export {
  checkTargets,
  memoryLimitBytes,
  proofOfConceptFigures,
  type TargetCheck,
} from "./performance-targets.js";
export {
  expectedStacks,
  listWords,
  type Recommendation,
  type RecommendationLine,
  recommendationOf,
  type TrafficKind,
} from "./recommendation.js";
