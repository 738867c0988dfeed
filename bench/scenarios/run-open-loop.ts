/**
 * Runs one step of the open-loop scenario (one workload at one offered
 * load) over its rows, one row after the other: each row's client is
 * opened and warmed as in the other scenarios, then requests start on the
 * schedule of open-loop.ts for the step's duration, however long earlier
 * ones take, and every response is verified.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { Mode } from "../cli/index.js";
import type { RowSpec } from "../clients/index.js";
import { distribution, type RowResult, serverFigures } from "../results/index.js";
import { errorMessage } from "../verify/index.js";
import { runOpenLoop } from "./open-loop.js";
import { RowRun, type RunContext } from "./row-run.js";
import { baseResult, mergeWatches } from "./run-scenario.js";
import type { ScenarioSpec } from "./specs.js";

/** Runs the step over the rows; a result per row, in the rows' order. */
export async function runOpenLoopStep(
  spec: ScenarioSpec,
  mode: Mode,
  rows: readonly RowSpec[],
  context: RunContext,
): Promise<RowResult[]> {
  const schedule = spec.openLoop;
  if (schedule === undefined) throw new Error(`${spec.title} has no open-loop schedule`);
  const plan = { rounds: 1, iterations: 1, warmupIterations: 0, timeMs: 0 };
  const results: RowResult[] = [];
  for (const row of rows) {
    const run = new RowRun(spec, mode, row, plan, context);
    try {
      await run.open();
      // A probe call first: a client that can't open fails here, not 100 times.
      await run.openLoopCall();
      context.progress.update(
        `${spec.title}/${row.id}`,
        `${spec.title} · ${row.label} · ${schedule.durationMs / 1000} s`,
      );
      await run.startRound();
      const outcome = await runOpenLoop({
        rateRps: schedule.rateRps,
        durationMs: schedule.durationMs,
        call: () => run.openLoopCall(),
      });
      await run.endRound();
      const base = baseResult(spec, mode, row);
      const verification = {
        requests: run.verifiedRequests,
        images: run.verifiedImages,
        bytes: run.verifiedBytes,
        imageSetSha256: run.imageSetSha256,
      };
      if (outcome.failed > 0) {
        results.push({
          ...base,
          status: "failed",
          reason: `${outcome.failed}/${outcome.started} requests failed; first: ${errorMessage(outcome.firstError)}`,
          iterations: outcome.completed,
          verification,
        });
        continue;
      }
      const achievedRps = outcome.completed / (Math.max(outcome.elapsedMs, 1) / 1000);
      const record = run.roundRecords[0];
      results.push({
        ...base,
        status: "ok",
        iterations: outcome.completed,
        verification,
        openLoop: {
          rateRps: schedule.rateRps,
          durationMs: schedule.durationMs,
          scheduled: outcome.scheduled,
          completed: outcome.completed,
          failed: outcome.failed,
          achievedRps,
          latency: distribution(outcome.latenciesMs),
          maxStartLagMs: outcome.maxStartLagMs,
          maxInFlight: outcome.maxInFlight,
          overloaded: outcome.overloaded,
        },
        server: serverFigures(
          row.stats?.kind ?? "none",
          mergeWatches(run.roundRecords),
          outcome.completed,
          verification.bytes,
        ),
        clientCpuMsPerRequest:
          record === undefined || outcome.completed === 0
            ? undefined
            : record.clientCpuMs / outcome.completed,
        headline: achievedRps,
        headlineUnit: "requests/s",
        samplesMs: outcome.latenciesMs.map((x) => Math.round(x * 1000) / 1000),
      });
    } catch (err) {
      results.push({
        ...baseResult(spec, mode, row),
        status: "failed",
        reason: errorMessage(err),
        iterations: 0,
        verification: { requests: 0, images: 0, bytes: 0 },
      });
    } finally {
      run.close();
    }
  }
  return results;
}
