/**
 * The lines a run reports besides its figures: rows and baselines skipped
 * (with why) and things that should have run and did not (failures, which
 * make the run exit 1). Each is printed once on stderr as it happens and
 * kept for the report.
 *
 * Library module of `npm run bench`; writes only through the progress line.
 */
import type { Progress } from "./progress.js";

/** One skipped or failed row, baseline or step. */
export interface RunLogEntry {
  readonly row: string;
  readonly reason: string;
  /** Set when it should have run: counted in the run's failures. */
  readonly failure?: boolean;
}

/** Collects skips and failures. */
export interface RunLog {
  /** Something that can't run for a reason outside the project (no Python grpcio). */
  skip(row: string, reason: string): void;
  /** Something that should have run and could not. */
  fail(row: string, reason: string): void;
  readonly entries: readonly RunLogEntry[];
}

/** Creates a run log that prints through progress. */
export function createRunLog(progress: Progress): RunLog {
  const entries: RunLogEntry[] = [];
  return {
    entries,
    skip(row, reason) {
      entries.push({ row, reason });
      progress.note(`bench: skipping ${row}: ${reason}`);
    },
    fail(row, reason) {
      entries.push({ row, reason, failure: true });
      progress.note(`bench: FAILED ${row}: ${reason}`);
    },
  };
}
