/**
 * The shape of a run's report: what bench-<timestamp>.json holds and what
 * every renderer reads. Units are in the names; MB is 10^6 bytes, as in the
 * proof of concept.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { Decision, Expectation, Recommendation, TargetCheck } from "../conclusions/index.js";
import type { GenerationCost, MessageSizes, RowResult } from "../results/index.js";
import type { ProcessInfo } from "../targets/index.js";

/** The whole report. */
export interface BenchReport {
  /** 2: rounds with spreads, sweeps, open loop, recommendation, expectations. */
  readonly formatVersion: 2;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly wallMs: number;
  readonly profile: string;
  readonly argv: readonly string[];
  readonly options: Record<string, unknown>;
  readonly machine: Record<string, unknown>;
  readonly packages: Record<string, string>;
  readonly git?: { readonly commit?: string; readonly dirty?: boolean };
  readonly target: ProcessInfo & {
    readonly spawned: boolean;
    readonly renderer?: string;
    readonly chunkBytes?: number;
    readonly maxBatchSize?: number;
  };
  readonly baselines: readonly ProcessInfo[];
  /** One line per row or baseline that could not run, and why. */
  readonly skipped: readonly {
    readonly row: string;
    readonly reason: string;
    /** Set when it should have run: counted in failures. */
    readonly failure?: boolean;
  }[];
  readonly results: readonly RowResult[];
  readonly generation: readonly GenerationCost[];
  /** Sizes of the same messages in protobuf and JSON; undefined when not measured. */
  readonly messageSizes?: MessageSizes;
  readonly recommendation: Recommendation;
  readonly decision: Decision;
  readonly expectations: readonly Expectation[];
  readonly targets: readonly TargetCheck[];
  /** Whether baselines served the same bytes as the server under test (transport-only), per table. */
  readonly sameBytes: readonly {
    readonly scenario: string;
    readonly rowsDiffering: string[];
  }[];
  readonly failures: number;
}
