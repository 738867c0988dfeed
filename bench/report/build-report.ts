/**
 * Assembles a run's report: the options (credentials masked), the machine,
 * the processes measured, every row's result with its ratios, and the
 * conclusions drawn from them.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { BenchOptions, RunLogEntry } from "../cli/index.js";
import {
  checkTargets,
  decisionOf,
  expectationsOf,
  recommendationOf,
} from "../conclusions/index.js";
import {
  generationCosts,
  gitInfo,
  type MessageSizes,
  machineInfo,
  packageVersions,
  type RowResult,
  sameBytesCheck,
  withRatios,
} from "../results/index.js";
import { type Baselines, repoRoot, type Target } from "../targets/index.js";
import type { BenchReport } from "./types.js";

/** What a run leaves for its report. */
export interface RunRecord {
  readonly options: BenchOptions;
  readonly startedAt: string;
  readonly startedMs: number;
  readonly loadAverageAtStart: number[];
  readonly target: Target;
  readonly baselines: Baselines | undefined;
  readonly log: readonly RunLogEntry[];
  readonly results: readonly RowResult[];
  readonly messageSizes?: MessageSizes;
}

/** Builds the report of a finished run. */
export function buildReport(run: RunRecord): BenchReport {
  const { options, target } = run;
  const results = withRatios(run.results);
  const failures =
    results.filter((r) => r.status === "failed").length +
    run.log.filter((entry) => entry.failure === true).length;
  return {
    formatVersion: 2,
    startedAt: run.startedAt,
    finishedAt: new Date().toISOString(),
    wallMs: performance.now() - run.startedMs,
    profile: options.profile,
    argv: options.argv,
    options: {
      ...options,
      apiKey: options.apiKey === undefined ? undefined : "(set)",
      token: options.token === undefined ? undefined : "(set)",
    },
    machine: machineInfo(run.loadAverageAtStart),
    packages: packageVersions(),
    git: gitInfo(),
    target: {
      id: "modelmora",
      url: target.url,
      pid: target.process?.pid,
      command: target.process?.command.map((part) => part.replace(repoRoot, "")),
      banner: target.process?.banner,
      spawned: target.spawned,
      renderer: target.info?.renderer,
      chunkBytes: target.info?.chunkBytes,
      maxBatchSize: target.info?.maxBatchSize,
      notes:
        target.stats === undefined
          ? "no GET /metrics answer: the server's CPU and RSS were not measured"
          : undefined,
    },
    baselines: run.baselines?.processes ?? [],
    skipped: run.log,
    results,
    generation: generationCosts(results),
    messageSizes: run.messageSizes,
    recommendation: recommendationOf(results),
    decision: decisionOf(results),
    expectations: expectationsOf(results, run.messageSizes),
    targets: checkTargets(results),
    sameBytes: sameBytesCheck(results),
    failures,
  };
}
