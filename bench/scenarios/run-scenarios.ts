/**
 * Runs every scenario the options ask for, in each of its modes, over the
 * rows that passed their probe; stops early, with a failure, if the server
 * under test ends during the run.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { BenchOptions, Progress, RunLog } from "../cli/index.js";
import type { RowSpec } from "../clients/index.js";
import type { RowResult } from "../results/index.js";
import type { ListeningProcess } from "../targets/index.js";
import { runOpenLoopStep } from "./run-open-loop.js";
import { runScenario } from "./run-scenario.js";
import { scenarioSpecs } from "./specs.js";

/** What runScenarios needs. */
export interface RunScenariosOptions {
  readonly options: BenchOptions;
  readonly rows: readonly RowSpec[];
  /** The spawned server, to notice if it ends during the run. */
  readonly server: ListeningProcess | undefined;
  /** Makes end-to-end prompts unique across runs. */
  readonly runId: string;
  readonly progress: Progress;
  readonly log: RunLog;
}

/** Runs the scenarios; returns every row's result. */
export async function runScenarios(run: RunScenariosOptions): Promise<RowResult[]> {
  const { options, rows, log } = run;
  const results: RowResult[] = [];
  const context = { runId: run.runId, progress: run.progress };
  for (const spec of scenarioSpecs(options)) {
    const name = spec.step === undefined ? spec.id : spec.title;
    const modes = spec.modes.filter((m) => spec.id === "unary" || options.modes.includes(m));
    if (modes.length === 0) {
      log.skip(name, `runs in ${spec.modes.join(", ")} mode only; --mode excludes it`);
    }
    for (const mode of modes) {
      const plan = spec.plans[mode];
      if (plan === undefined) {
        log.skip(`${name}/${mode}`, `not part of the ${options.profile} profile`);
        continue;
      }
      const scenarioRows = rows.filter(
        (row) => (spec.includes?.(row, mode) ?? true) && (row.takesPart?.(spec.id, mode) ?? true),
      );
      if (scenarioRows.length === 0) {
        log.skip(`${name}/${mode}`, "no row to measure");
        continue;
      }
      results.push(
        ...(spec.kind === "open-loop"
          ? await runOpenLoopStep(spec, mode, scenarioRows, context)
          : await runScenario(spec, mode, plan, scenarioRows, context)),
      );
      const died = run.server?.unexpectedExit();
      if (died !== undefined) {
        const tail = run.server?.stderrTail().trim().split("\n").slice(-6).join(" | ");
        log.fail(
          "server",
          `the server under test ended (${died}) during ${name}/${mode}; the rest of the run was not measured. Its last stderr lines: ${tail}`,
        );
        return results;
      }
    }
  }
  return results;
}
