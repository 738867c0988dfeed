/**
 * How much each profile measures: rounds, iterations per round of every
 * scenario in each mode, and the grids of the sweeps and of the open-loop
 * latency scenario, for a full run, --quick and --smoke.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */

/** The scenarios, in the order they run (memory always first: see scenarios/specs.ts). */
export const scenarioIds = [
  "single",
  "load",
  "small",
  "unary",
  "memory",
  "open-loop",
  "payload",
  "concurrency",
] as const;
export type ScenarioId = (typeof scenarioIds)[number];

/** The two sweeps, which --sweep runs alone and --no-sweep leaves out. */
export const sweepIds: readonly ScenarioId[] = ["payload", "concurrency"];

/** End-to-end (every image generated) or transport-only (the same bytes from the cache). */
export type Mode = "transport" | "e2e";

/** How much a run measures. */
export type Profile = "full" | "quick" | "smoke";

/** How many iterations a scenario runs in one mode. */
export interface IterationPlan {
  /**
   * Rounds: every row is measured this many times, rows taking turns, so
   * machine noise spreads over all of them; a row's figure is the median of
   * its rounds and its spread their range.
   */
  readonly rounds: number;
  /** Measured iterations per round (tinybench `iterations`: the minimum). */
  readonly iterations: number;
  /** Unmeasured iterations before the first round (tinybench warmup); 0 turns warmup off. */
  readonly warmupIterations: number;
  /** Time budget per row and round in ms (tinybench `time`): a round goes on until both are met. */
  readonly timeMs: number;
}

/** The scenarios that are one workload in each mode. */
export type FixedScenarioId = "single" | "load" | "small" | "unary" | "memory";

/** Iteration plans of the fixed scenarios by mode; undefined where a profile skips one. */
export type Plans = Record<FixedScenarioId, Record<Mode, IterationPlan | undefined>>;

/** Everything a profile decides. */
export interface ProfileSettings {
  /** Rounds of every scenario measured with rounds. */
  readonly rounds: number;
  readonly plans: Plans;
  /** The payload sweep's models (one image per request) and iterations per round of each. */
  readonly payloadModels: readonly string[];
  readonly payloadIterations: (model: string) => number;
  /** The concurrency sweep's levels (concurrent streams) and iterations per round of each. */
  readonly concurrencyStreams: readonly number[];
  readonly concurrencyIterations: (streams: number) => number;
  /** The open-loop scenario's offered loads (requests per second) and how long each runs, ms. */
  readonly openLoopRatesRps: readonly number[];
  readonly openLoopDurationMs: number;
}

function plan(rounds: number, iterations: number, warmupIterations: number, timeMs = 0) {
  return { rounds, iterations, warmupIterations, timeMs };
}

/**
 * The payload sweep's models, smallest first: about 1 KB, 10 KB, 100 KB,
 * 1 MB, 3 MB (noise-1000, the proof of concept's image) and 10 MB.
 */
export const payloadSweepModels = [
  "noise-1k",
  "noise-10k",
  "noise-100k",
  "noise-1m",
  "noise-1000",
  "noise-10m",
] as const;

/** Each payload sweep model's approximate PNG size: its label and bytes. */
const sweepSizes: Readonly<Record<string, { readonly label: string; readonly bytes: number }>> = {
  "noise-1k": { label: "1 KB", bytes: 1e3 },
  "noise-10k": { label: "10 KB", bytes: 1e4 },
  "noise-100k": { label: "100 KB", bytes: 1e5 },
  "noise-1m": { label: "1 MB", bytes: 1e6 },
  "noise-1000": { label: "3 MB", bytes: 3e6 },
  "noise-10m": { label: "10 MB", bytes: 1e7 },
};

/** A sweep model's approximate size, "1 KB", or the model id for another model. */
export function sizeLabel(model: string): string {
  return sweepSizes[model]?.label ?? model;
}

/** A sweep model's approximate size in bytes; undefined for another model. */
export function approximateBytes(model: string): number | undefined {
  return sweepSizes[model]?.bytes;
}

/** Iterations per round for a payload step: more for small images, so each round moves some megabytes. */
function payloadIterations(model: string): number {
  switch (model) {
    case "noise-1k":
    case "noise-10k":
      return 20;
    case "noise-100k":
      return 10;
    case "noise-1m":
      return 5;
    case "noise-1000":
      return 3;
    default:
      return 2;
  }
}

const full: ProfileSettings = {
  rounds: 3,
  plans: {
    single: { transport: plan(3, 4, 2), e2e: plan(3, 1, 0) },
    load: { transport: plan(3, 1, 0), e2e: plan(3, 1, 0) },
    small: { transport: plan(3, 30, 10), e2e: plan(3, 10, 0) },
    unary: { transport: plan(3, 70, 20, 100), e2e: undefined },
    memory: { transport: plan(1, 1, 0), e2e: undefined },
  },
  payloadModels: payloadSweepModels,
  payloadIterations,
  concurrencyStreams: [1, 10, 100],
  concurrencyIterations: (streams) => (streams >= 100 ? 1 : streams >= 10 ? 2 : 5),
  openLoopRatesRps: [10, 50, 100],
  openLoopDurationMs: 800,
};

/** The profiles. e2e warmups are 0: every warmup would generate images. */
export const profiles: Readonly<Record<Profile, ProfileSettings>> = {
  full,
  quick: {
    rounds: 3,
    plans: {
      single: { transport: plan(3, 1, 1), e2e: plan(3, 1, 0) },
      load: { transport: plan(3, 1, 0), e2e: undefined },
      small: { transport: plan(3, 10, 3), e2e: plan(3, 3, 0) },
      unary: { transport: plan(3, 30, 5, 50), e2e: undefined },
      memory: { transport: undefined, e2e: undefined },
    },
    payloadModels: ["noise-1k", "noise-100k", "noise-1m", "noise-10m"],
    payloadIterations: (model) => Math.max(1, Math.ceil(payloadIterations(model) / 3)),
    concurrencyStreams: [1, 10],
    concurrencyIterations: () => 1,
    openLoopRatesRps: [10, 100],
    openLoopDurationMs: 500,
  },
  smoke: {
    rounds: 1,
    plans: {
      single: { transport: plan(1, 1, 0), e2e: plan(1, 1, 0) },
      load: { transport: plan(1, 1, 0), e2e: plan(1, 1, 0) },
      small: { transport: plan(1, 1, 0), e2e: plan(1, 1, 0) },
      unary: { transport: plan(1, 3, 0), e2e: undefined },
      memory: { transport: plan(1, 1, 0), e2e: undefined },
    },
    payloadModels: ["noise-1k", "noise-100k"],
    payloadIterations: () => 1,
    concurrencyStreams: [1, 3],
    concurrencyIterations: () => 1,
    openLoopRatesRps: [50],
    openLoopDurationMs: 200,
  },
};
