/**
 * The run's figures: the shape of a report (types.ts), the figures of each
 * row from what its clients recorded (figures.ts), the figures across rows
 * (analysis.ts: ratios to the baselines, generation cost, same bytes) and
 * what the machine was. The door of bench/results/.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
export {
  generationCosts,
  groupKey,
  sameBytesCheck,
  stepKey,
  withRatios,
} from "./analysis.js";
export {
  bytesPerMB,
  type ClientRecord,
  distribution,
  type LoadRecord,
  loadFigures,
  percentile,
  type SingleRecord,
  serverFigures,
  singleFigures,
  unaryFigures,
  wireFigures,
} from "./figures.js";
export { gitInfo, machineInfo, packageVersions } from "./machine.js";
export {
  type Comparison,
  compare,
  isSuspect,
  median,
  overlaps,
  type Ratio,
  ratioOf,
  ratioText,
  type Spread,
  singleRoundTolerance,
  spreadOf,
  spreadText,
} from "./spread.js";
export type * from "./types.js";
