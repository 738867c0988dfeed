/**
 * The rules that decide when a difference is real. Every row is measured
 * in rounds (3 in a full run); its figure is the median of the rounds'
 * figures and its spread their range (min–max). Two figures whose ranges
 * overlap are "within noise" of each other: the report never calls that a
 * win. A single round has no range; then the report treats ±10% as noise
 * and says so.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */

/** A figure measured in rounds: the median, and the range of the rounds. */
export interface Spread {
  readonly median: number;
  /** Smallest round figure (or median × (1 − singleRoundTolerance) with one round). */
  readonly low: number;
  /** Largest round figure (or median × (1 + singleRoundTolerance) with one round). */
  readonly high: number;
  /** How many rounds it came from. */
  readonly rounds: number;
}

/** The relative band treated as noise around a figure measured in a single round: ±10%. */
export const singleRoundTolerance = 0.1;

/** Median of values (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** The spread of the rounds' figures; undefined when there is no finite one. */
export function spreadOf(values: readonly number[]): Spread | undefined {
  const finite = values.filter((value) => Number.isFinite(value));
  if (finite.length === 0) return undefined;
  const middle = median(finite);
  if (finite.length === 1) {
    return {
      median: middle,
      low: middle * (1 - singleRoundTolerance),
      high: middle * (1 + singleRoundTolerance),
      rounds: 1,
    };
  }
  return {
    median: middle,
    low: Math.min(...finite),
    high: Math.max(...finite),
    rounds: finite.length,
  };
}

/** Whether two figures' ranges overlap: then neither is ahead. */
export function overlaps(a: Spread, b: Spread): boolean {
  return a.low <= b.high && b.low <= a.high;
}

/** How a figure compares with another. */
export type Comparison = "higher" | "lower" | "within noise";

/** a against b: higher or lower only when their ranges do not overlap. */
export function compare(a: Spread, b: Spread): Comparison {
  if (overlaps(a, b)) return "within noise";
  return a.median > b.median ? "higher" : "lower";
}

/** A ratio of two figures measured in rounds. */
export interface Ratio {
  /** median(a) / median(b). */
  readonly value: number;
  /** The smallest ratio the ranges allow: low(a) / high(b). */
  readonly low: number;
  /** The largest: high(a) / low(b). */
  readonly high: number;
  /** The ranges overlap: the ratio is not a difference. */
  readonly withinNoise: boolean;
}

/** a / b with the range the two spreads allow. */
export function ratioOf(a: Spread, b: Spread): Ratio {
  return {
    value: a.median / b.median,
    low: a.low / b.high,
    high: b.low > 0 ? a.high / b.low : Number.POSITIVE_INFINITY,
    withinNoise: overlaps(a, b),
  };
}

/**
 * Whether a row's figure is above its own ceiling (the bare Node baseline
 * of its HTTP version, which does strictly less work) by more than the
 * spread: then the machine was busy or the baseline under-ran, and the
 * ratio is not to be trusted.
 */
export function isSuspect(row: Spread, ceiling: Spread): boolean {
  return row.low > ceiling.high;
}

/** The spread as text: "712 (690–730)"; `digits` decimals. */
export function spreadText(spread: Spread | undefined, digits = 1): string {
  if (spread === undefined) return "—";
  const f = (x: number) => x.toFixed(digits);
  if (spread.rounds === 1) return `${f(spread.median)} (1 round)`;
  return `${f(spread.median)} (${f(spread.low)}–${f(spread.high)})`;
}

/** A ratio as text: "0.55× (0.50–0.61)", "≈1.02× (within noise)". */
export function ratioText(ratio: Ratio | undefined): string {
  if (ratio === undefined) return "—";
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "∞");
  if (ratio.withinNoise) return `≈${f(ratio.value)}× (within noise)`;
  return `${f(ratio.value)}× (${f(ratio.low)}–${f(ratio.high)})`;
}
