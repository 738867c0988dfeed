/**
 * Runs a scenario in one mode over its rows with tinybench: one Bench per
 * scenario and mode, one task per row; tinybench records the transfer time
 * through `overriddenDuration`, so verification (hashing) never counts as
 * protocol time, and a failed check fails the row. Turns each row's records
 * into its RowResult.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { Bench, type Task } from "tinybench";
import type { IterationPlan, Mode } from "../cli/index.js";
import type { RowSpec } from "../clients/index.js";
import {
  loadFigures,
  type RowResult,
  serverFigures,
  singleFigures,
  unaryFigures,
  wireFigures,
} from "../results/index.js";
import { errorMessage } from "../verify/index.js";
import { RowRun, type RunContext } from "./row-run.js";
import type { ScenarioSpec } from "./specs.js";

/** Runs one scenario in one mode over rows; returns a result per row. */
export async function runScenario(
  spec: ScenarioSpec,
  mode: Mode,
  plan: IterationPlan,
  rows: readonly RowSpec[],
  context: RunContext,
): Promise<RowResult[]> {
  const bench = new Bench({
    name: `${spec.title} · ${mode}`,
    iterations: plan.iterations,
    time: plan.timeMs,
    warmup: plan.warmupIterations > 0,
    warmupIterations: plan.warmupIterations,
    warmupTime: 0,
    retainSamples: true,
    throws: false,
  });
  const runs: RowRun[] = [];
  const results: RowResult[] = [];
  for (const row of rows) {
    const reason = spec.kind === "unary" ? undefined : row.unsupported?.(spec.model, mode);
    if (reason !== undefined) {
      results.push(skippedResult(spec, mode, row, reason));
      continue;
    }
    const run = new RowRun(spec, mode, row, plan, context);
    runs.push(run);
    bench.add(row.label, () => run.iterate(), {
      // Declared, so tinybench does not call the task once to find out.
      async: true,
      async beforeAll(phase) {
        await run.open();
        if (phase === "run") await run.startRun();
      },
      async afterAll(phase) {
        if (phase === "run") await run.endRun();
      },
    });
  }
  try {
    await bench.run();
  } finally {
    for (const run of runs) run.close();
  }
  for (const run of runs) {
    const task = bench.getTask(run.row.label) as Task;
    results.push(rowResult(run, task));
  }
  // Rows in the order they were given.
  const order = new Map(rows.map((row, i) => [row.id, i]));
  return results.sort((a, b) => (order.get(a.row) ?? 0) - (order.get(b.row) ?? 0));
}

function skippedResult(spec: ScenarioSpec, mode: Mode, row: RowSpec, reason: string): RowResult {
  return {
    ...baseResult(spec, mode, row),
    status: "skipped",
    reason,
    iterations: 0,
    verification: { requests: 0, images: 0, bytes: 0 },
  };
}

function baseResult(spec: ScenarioSpec, mode: Mode, row: RowSpec) {
  return {
    scenario: spec.id,
    mode,
    row: row.id,
    label: row.label,
    kind: row.kind,
    client: row.client,
    protocol: row.protocol,
    library: row.library,
    diagnostic: row.diagnostic,
    httpVersion: row.httpVersion,
    description: row.description,
    workload: {
      model: spec.model,
      batch: spec.batch,
      clients: spec.clients,
      connections: spec.connections,
    },
  };
}

function rowResult(run: RowRun, task: Task): RowResult {
  const { spec, mode, row } = run;
  const result = task.result;
  const verification = {
    requests: run.verifiedRequests,
    images: run.verifiedImages,
    bytes: run.verifiedBytes,
    imageSetSha256: run.imageSetSha256,
  };
  const base = baseResult(spec, mode, row);
  if (result.state !== "completed") {
    const error = "error" in result ? result.error : undefined;
    return {
      ...base,
      status: "failed",
      reason: error === undefined ? `tinybench task ${result.state}` : errorMessage(error),
      iterations: 0,
      verification,
    };
  }
  const samples = [...(result.latency.samples ?? [])];
  const tinybench = {
    state: result.state,
    samples: result.latency.samplesCount,
    meanMs: result.latency.mean,
    p50Ms: result.latency.p50,
    p75Ms: result.latency.p75,
    p99Ms: result.latency.p99,
    rmePercent: result.latency.rme,
    throughputOpsPerSecond: result.throughput.mean,
    samplesMs: samples.map((x) => Math.round(x * 1000) / 1000),
  };
  const source = row.stats?.kind ?? "none";
  if (spec.kind === "unary") {
    const unary = unaryFigures(samples);
    return {
      ...base,
      status: "ok",
      iterations: samples.length,
      verification: { ...verification, requests: run.unaryCalls },
      unary,
      wire: wireFigures(run.unaryCalls, 0, run.wire.read, run.wire.written, run.wire.connections),
      server: serverFigures(source, run.watchResult, run.unaryCalls, 0),
      clientCpuMsPerRequest: perRequest(run.clientCpuMs, run.unaryCalls),
      headline: unary.callsPerSecond,
      headlineUnit: "calls/s",
      tinybench,
    };
  }
  if (spec.kind === "stream") {
    const single = singleFigures(run.singles);
    const requests = run.singles.length;
    const payload = run.singles.reduce((sum, r) => sum + r.payloadBytes, 0);
    return {
      ...base,
      status: "ok",
      iterations: requests,
      verification,
      single,
      wire: wireFigures(requests, payload, run.wire.read, run.wire.written, run.wire.connections),
      server: serverFigures(source, run.watchResult, requests, payload),
      clientCpuMsPerRequest: perRequest(run.clientCpuMs, requests),
      headline: single.throughputMBps,
      headlineUnit: "MB/s",
      tinybench,
    };
  }
  const load = loadFigures(run.rounds);
  const requests = run.rounds.reduce((sum, r) => sum + r.requests.length, 0);
  const payload = run.rounds.reduce(
    (sum, r) => sum + r.requests.reduce((s, q) => s + q.payloadBytes, 0),
    0,
  );
  return {
    ...base,
    status: "ok",
    iterations: run.rounds.length,
    verification,
    load,
    // Per round, not per client request: what the whole load cost.
    wire: wireFigures(
      run.rounds.length,
      payload,
      run.wire.read,
      run.wire.written,
      run.wire.connections,
    ),
    server: serverFigures(source, run.watchResult, requests, payload),
    clientCpuMsPerRequest: perRequest(run.clientCpuMs, requests),
    headline: load.aggregateMBps,
    headlineUnit: "MB/s",
    tinybench,
  };
}

function perRequest(totalMs: number | undefined, requests: number): number | undefined {
  return totalMs === undefined || requests === 0 ? undefined : totalMs / requests;
}
