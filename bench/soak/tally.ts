/**
 * Counts how the soak's calls ended, by traffic kind and outcome, and keeps
 * the unexpected ones with what was wrong. Library module of
 * bench/soak/run-soak.ts.
 */

/** Outcomes of every kind of traffic. */
export interface Tally {
  /** Counts one outcome; an unexpected one is also kept, with its detail. */
  record(kind: string, outcome: string, expected: boolean, detail?: string): void;
  /** Counts by kind, then by outcome. */
  counts(): Record<string, Record<string, number>>;
  /** How many calls ended as expected, and how many not. */
  totals(): { expected: number; unexpected: number };
  /** The first unexpected outcomes (at most 50), "kind: outcome: detail". */
  unexpected(): readonly string[];
}

/** Creates an empty tally. */
export function createTally(): Tally {
  const byKind = new Map<string, Map<string, number>>();
  const surprises: string[] = [];
  let expected = 0;
  let unexpected = 0;
  return {
    record(kind, outcome, isExpected, detail) {
      const outcomes = byKind.get(kind) ?? new Map<string, number>();
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      byKind.set(kind, outcomes);
      if (isExpected) {
        expected++;
      } else {
        unexpected++;
        if (surprises.length < 50)
          surprises.push(`${kind}: ${outcome}${detail ? `: ${detail}` : ""}`);
      }
    },
    counts() {
      return Object.fromEntries(
        [...byKind].map(([kind, outcomes]) => [kind, Object.fromEntries(outcomes)]),
      );
    },
    totals: () => ({ expected, unexpected }),
    unexpected: () => surprises,
  };
}
