/**
 * How much each profile measures: the iterations of every scenario in each
 * mode for a full run, --quick and --smoke.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */

/** The scenarios, in the order they run. */
export const scenarioIds = ["single", "load", "small", "unary", "memory"] as const;
export type ScenarioId = (typeof scenarioIds)[number];

/** End-to-end (every image generated) or transport-only (the same bytes from the cache). */
export type Mode = "transport" | "e2e";

/** How much a run measures. */
export type Profile = "full" | "quick" | "smoke";

/** How many iterations a scenario runs in one mode. */
export interface IterationPlan {
  /** Measured iterations (tinybench `iterations`: the minimum). */
  readonly iterations: number;
  /** Unmeasured iterations first (tinybench warmup); 0 turns warmup off. */
  readonly warmupIterations: number;
  /** Time budget per row in ms (tinybench `time`): runs go on until both are met. */
  readonly timeMs: number;
}

/** Iteration plans by scenario and mode; undefined where a profile skips it. */
export type Plans = Record<ScenarioId, Record<Mode, IterationPlan | undefined>>;

function plan(iterations: number, warmupIterations: number, timeMs = 0): IterationPlan {
  return { iterations, warmupIterations, timeMs };
}

/** Iterations per profile. e2e warmups are 0: every warmup would generate images. */
export const profilePlans: Readonly<Record<Profile, Plans>> = {
  full: {
    single: { transport: plan(10, 2), e2e: plan(4, 0) },
    load: { transport: plan(3, 1), e2e: plan(2, 0) },
    small: { transport: plan(100, 10), e2e: plan(30, 0) },
    unary: { transport: plan(200, 20, 300), e2e: undefined },
    memory: { transport: plan(1, 0), e2e: undefined },
  },
  quick: {
    single: { transport: plan(3, 1), e2e: plan(1, 0) },
    load: { transport: plan(1, 0), e2e: undefined },
    small: { transport: plan(20, 3), e2e: plan(5, 0) },
    unary: { transport: plan(50, 5, 100), e2e: undefined },
    memory: { transport: undefined, e2e: undefined },
  },
  smoke: {
    single: { transport: plan(1, 0), e2e: plan(1, 0) },
    load: { transport: plan(1, 0), e2e: plan(1, 0) },
    small: { transport: plan(1, 0), e2e: plan(1, 0) },
    unary: { transport: plan(3, 0), e2e: undefined },
    memory: { transport: plan(1, 0), e2e: undefined },
  },
};
