/** The largest number of distinct method (and model) label values; later ones become "other". */
export const maxLabelValues = 64;

/**
 * A label mapping that passes its first `limit` distinct values through and
 * turns every later one into "other", so a bug that passes request data as a
 * label can't grow the series without bound.
 */
export function boundedLabel(limit: number): (value: string) => string {
  const seen = new Set<string>();
  return function label(value) {
    if (seen.has(value)) {
      return value;
    }
    if (seen.size >= limit) {
      return "other";
    }
    seen.add(value);
    return value;
  };
}

/**
 * The value, or 0 when it is negative or not finite: counters reject
 * negative increments, and a clock that stepped back must not make a
 * histogram observe one.
 */
export function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}
