/**
 * Runs a scenario in one mode over its rows with tinybench, in rounds: each
 * round is one tinybench Bench with one task per row, so the rows take
 * turns and whatever else the machine does spreads over all of them. The
 * clients stay open across rounds; warm-up runs before the first round.
 * tinybench records the transfer time through `overriddenDuration`, so
 * verification (hashing) never counts as protocol time, and a failed check
 * fails the row. Each row's records become its RowResult: the figures over
 * every round, each round's own figures, and the headline's median and
 * spread.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { Bench, type Task } from "tinybench";
import type { IterationPlan, Mode } from "../cli/index.js";
import type { RowSpec } from "../clients/index.js";
import {
  bytesPerMB,
  loadFigures,
  type RoundFigures,
  type RowResult,
  serverFigures,
  singleFigures,
  spreadOf,
  unaryFigures,
  wireFigures,
} from "../results/index.js";
import type { WatchResult } from "../targets/index.js";
import { errorMessage } from "../verify/index.js";
import { type RoundRecord, RowRun, type RunContext } from "./row-run.js";
import type { ScenarioSpec } from "./specs.js";

/** A summary of tinybench's task result in one round. */
type TinybenchRound = NonNullable<RowResult["tinybench"]>[number];

/** Runs one scenario in one mode over rows; returns a result per row, in the rows' order. */
export async function runScenario(
  spec: ScenarioSpec,
  mode: Mode,
  plan: IterationPlan,
  rows: readonly RowSpec[],
  context: RunContext,
): Promise<RowResult[]> {
  const runs: RowRun[] = [];
  const results: RowResult[] = [];
  for (const row of rows) {
    const reason = spec.kind === "unary" ? undefined : row.unsupported?.(spec.model, mode);
    if (reason !== undefined) {
      results.push(skippedResult(spec, mode, row, reason));
    } else {
      runs.push(new RowRun(spec, mode, row, plan, context));
    }
  }
  const failures = new Map<RowRun, string>();
  const summaries = new Map<RowRun, TinybenchRound[]>();
  try {
    for (let round = 1; round <= plan.rounds; round++) {
      const warmup = round === 1 && plan.warmupIterations > 0;
      const bench = new Bench({
        name: `${spec.title} · ${mode} · round ${round}`,
        iterations: plan.iterations,
        time: plan.timeMs,
        warmup,
        warmupIterations: plan.warmupIterations,
        warmupTime: 0,
        retainSamples: false,
        throws: false,
      });
      const active = runs.filter((run) => !failures.has(run));
      for (const run of active) {
        bench.add(run.row.label, () => run.iterate(), {
          // Declared, so tinybench does not call the task once to find out.
          async: true,
          async beforeAll(phase) {
            await run.open();
            if (phase === "run") await run.startRound();
          },
          async afterAll(phase) {
            if (phase === "run") await run.endRound();
          },
        });
      }
      if (active.length === 0) break;
      await bench.run();
      for (const run of active) {
        const result = (bench.getTask(run.row.label) as Task).result;
        if (result.state !== "completed") {
          const error = "error" in result ? result.error : undefined;
          failures.set(
            run,
            error === undefined ? `tinybench task ${result.state}` : errorMessage(error),
          );
          continue;
        }
        const list = summaries.get(run) ?? [];
        list.push({
          state: result.state,
          samples: result.latency.samplesCount,
          meanMs: result.latency.mean,
          p50Ms: result.latency.p50,
          p99Ms: result.latency.p99,
          rmePercent: result.latency.rme,
        });
        summaries.set(run, list);
      }
    }
  } finally {
    for (const run of runs) run.close();
  }
  for (const run of runs) {
    const failure = failures.get(run);
    results.push(
      failure === undefined ? rowResult(run, summaries.get(run) ?? []) : failedResult(run, failure),
    );
  }
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

/** What every result of a row in a scenario carries. */
export function baseResult(spec: ScenarioSpec, mode: Mode, row: RowSpec) {
  return {
    scenario: spec.id,
    step: spec.step,
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

function verificationOf(run: RowRun) {
  return {
    requests: run.verifiedRequests,
    images: run.verifiedImages,
    bytes: run.verifiedBytes,
    imageSetSha256: run.imageSetSha256,
  };
}

function failedResult(run: RowRun, reason: string): RowResult {
  return {
    ...baseResult(run.spec, run.mode, run.row),
    status: "failed",
    reason,
    iterations: 0,
    verification: verificationOf(run),
  };
}

/** The watches of every round as one: CPU summed, the largest peak. */
export function mergeWatches(records: readonly RoundRecord[]): WatchResult | undefined {
  const watches = records.map((record) => record.watch);
  if (watches.length === 0 || watches.some((watch) => watch === undefined)) return undefined;
  const all = watches as WatchResult[];
  const cpu = all.map((watch) => watch.cpuMs);
  const peaks = all.map((watch) => watch.peakRssBytes).filter((x): x is number => x !== undefined);
  return {
    cpuMs: cpu.some((x) => x === undefined)
      ? undefined
      : (cpu as number[]).reduce((sum, x) => sum + x, 0),
    peakRssBytes: peaks.length === 0 ? undefined : Math.max(...peaks),
    maxRssBytes: all.at(-1)?.maxRssBytes,
    samples: all.reduce((sum, watch) => sum + watch.samples, 0),
  };
}

/** Each round's figures. */
export function roundFigures(
  records: readonly RoundRecord[],
  kind: ScenarioSpec["kind"],
): RoundFigures[] {
  return records.map((record) => ({
    iterations: record.iterations,
    requests: record.requests,
    payloadBytes: record.payloadBytes,
    timedMs: record.timedMs,
    headline:
      kind === "unary"
        ? record.iterations / (record.timedMs / 1000)
        : record.payloadBytes / bytesPerMB / (record.timedMs / 1000),
    serverCpuMs: record.watch?.cpuMs,
    clientCpuMs: record.clientCpuMs,
    peakRssBytes: record.watch?.peakRssBytes,
  }));
}

/** The headline's spread and CPU per MB over the rounds. */
export function roundSpreads(rounds: readonly RoundFigures[]) {
  const perMB = (cpuMs: number | undefined, bytes: number) =>
    cpuMs === undefined || bytes === 0 ? Number.NaN : cpuMs / (bytes / bytesPerMB);
  const server = spreadOf(rounds.map((r) => perMB(r.serverCpuMs, r.payloadBytes)));
  const client = spreadOf(rounds.map((r) => perMB(r.clientCpuMs, r.payloadBytes)));
  return {
    spread: spreadOf(rounds.map((r) => r.headline)),
    cpuPerMB: server === undefined && client === undefined ? undefined : { server, client },
  };
}

function perRequest(totalMs: number, requests: number): number | undefined {
  return requests === 0 ? undefined : totalMs / requests;
}

function rowResult(run: RowRun, tinybench: TinybenchRound[]): RowResult {
  const { spec, mode, row } = run;
  const base = baseResult(spec, mode, row);
  const verification = verificationOf(run);
  const rounds = roundFigures(run.roundRecords, spec.kind);
  const { spread, cpuPerMB } = roundSpreads(rounds);
  const watch = mergeWatches(run.roundRecords);
  const source = row.stats?.kind ?? "none";
  const requests = rounds.reduce((sum, r) => sum + r.requests, 0);
  const payload = rounds.reduce((sum, r) => sum + r.payloadBytes, 0);
  const clientCpuMs = run.roundRecords.reduce((sum, r) => sum + r.clientCpuMs, 0);
  const common = {
    ...base,
    status: "ok" as const,
    verification,
    rounds,
    spread,
    headline: spread?.median,
    server: serverFigures(source, watch, requests, payload),
    clientCpuMsPerRequest: perRequest(clientCpuMs, requests),
    tinybench,
  };
  if (spec.kind === "unary") {
    return {
      ...common,
      iterations: run.unaryMs.length,
      verification: { ...verification, requests: run.unaryMs.length },
      unary: unaryFigures(run.unaryMs),
      wire: wireFigures(requests, 0, run.wire.read, run.wire.written, run.wire.connections),
      headlineUnit: "calls/s",
      samplesMs: run.unaryMs.map((x) => Math.round(x * 1000) / 1000),
    };
  }
  if (spec.kind === "stream") {
    return {
      ...common,
      iterations: run.singles.length,
      single: singleFigures(run.singles),
      wire: wireFigures(requests, payload, run.wire.read, run.wire.written, run.wire.connections),
      cpuPerMB,
      headlineUnit: "MB/s",
      samplesMs: run.singles.map((r) => Math.round(r.totalMs * 1000) / 1000),
    };
  }
  const loads = run.loadIterations;
  return {
    ...common,
    iterations: loads.length,
    load: loadFigures(loads),
    // Per load iteration, not per client request: what the whole load cost.
    wire: wireFigures(loads.length, payload, run.wire.read, run.wire.written, run.wire.connections),
    cpuPerMB,
    headlineUnit: "MB/s",
    samplesMs: loads.map((l) => Math.round(l.roundMs * 1000) / 1000),
  };
}
