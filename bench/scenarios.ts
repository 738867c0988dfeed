/**
 * The scenarios and the tinybench runs that measure them. One tinybench
 * Bench per scenario and mode, one task per row; each task iteration is one
 * request (single, small), one round of concurrent clients (load, memory)
 * or one call (unary). Every streamed response is verified (sizes and
 * sha256) after its timed part: tinybench records the transfer time through
 * `overriddenDuration`, so hashing never counts as protocol time, and a
 * failed check fails the row.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { createHash } from "node:crypto";
import { Bench, type Task } from "tinybench";
import type { BenchClient } from "./clients/types.js";
import {
  type ClientRecord,
  type LoadRecord,
  loadFigures,
  type SingleRecord,
  serverFigures,
  singleFigures,
  unaryFigures,
  wireFigures,
} from "./figures.js";
import type { BenchOptions, IterationPlan, Mode, ScenarioId } from "./options.js";
import { StatsWatch, type WatchResult } from "./process-stats.js";
import type { Progress } from "./progress.js";
import type { RowResult } from "./results.js";
import type { RowSpec } from "./rows.js";
import { type HashingMode, VerificationError, type VerifiedImage } from "./verify.js";

/** A scenario: a workload and how it is driven. */
export interface ScenarioSpec {
  readonly id: ScenarioId;
  /** Title in the seed's words. */
  readonly title: string;
  /** One request at a time, rounds of concurrent clients, or unary calls. */
  readonly kind: "stream" | "load" | "unary";
  readonly model: string;
  readonly batch: number;
  /** Concurrent clients (1 for stream and unary). */
  readonly clients: number;
  readonly connections: "shared" | "per-client";
  readonly hashing: HashingMode;
  /** Rows this scenario measures; all when undefined. */
  readonly rows?: readonly string[];
  /** Modes it runs in; "transport" alone for unary (no generation) and memory. */
  readonly modes: readonly Mode[];
}

/** Longest an iteration may take before its row fails: generous, the memory round takes ~15 s. */
const iterationTimeoutMs = 300_000;

/** The prompt of transport-only mode: always the same, so runs are comparable. */
export const fixedPrompt = "modelmora bench: fixed prompt";

/** Builds the scenarios the options ask for. */
export function scenarioSpecs(options: BenchOptions): ScenarioSpec[] {
  const specs: Record<ScenarioId, ScenarioSpec> = {
    single: {
      id: "single",
      title: "Single Request Performance",
      kind: "stream",
      model: options.model,
      batch: options.batch,
      clients: 1,
      connections: "per-client",
      hashing: "deferred",
      modes: options.modes,
    },
    load: {
      id: "load",
      title: `Concurrent Load (${options.clients} clients)`,
      kind: "load",
      model: options.model,
      batch: options.loadBatch,
      clients: options.clients,
      connections: options.connections,
      hashing: "deferred",
      modes: options.modes,
    },
    small: {
      id: "small",
      title: "Small Payload",
      kind: "stream",
      model: options.smallModel,
      batch: options.smallBatch,
      clients: 1,
      connections: "per-client",
      hashing: "deferred",
      modes: options.modes,
    },
    unary: {
      id: "unary",
      title: "Unary ListModels",
      kind: "unary",
      model: "",
      batch: 0,
      clients: 1,
      connections: "per-client",
      hashing: "deferred",
      modes: ["transport"],
    },
    memory: {
      id: "memory",
      title: `Memory (${options.memoryStreams} concurrent streams)`,
      kind: "load",
      model: options.model,
      batch: options.memoryBatch,
      clients: options.memoryStreams,
      connections: options.connections,
      // 100 streams of 30 MB would not fit in the client if kept for later.
      hashing: "inline",
      rows: ["grpc"],
      modes: ["transport"],
    },
  };
  // Memory runs first, on a server that has answered only the probes: the
  // other scenarios leave the image cache full (64 MiB) and V8's heap at its
  // high-water mark, which RSS keeps, so run later its figure would measure
  // them rather than these streams.
  const ordered = [
    ...options.scenarios.filter((id) => id === "memory"),
    ...options.scenarios.filter((id) => id !== "memory"),
  ];
  return ordered.map((id) => specs[id]);
}

/** What a scenario run needs besides its spec and rows. */
export interface RunContext {
  /** Makes e2e prompts unique across runs. */
  readonly runId: string;
  readonly progress: Progress;
}

interface IterationResult {
  overriddenDuration: number;
}

/** The state of one row while its task runs. */
class RowRun {
  readonly clients: BenchClient[] = [];
  private opened = false;
  private openError: unknown;
  private sequence = 0;
  private iteration = 0;
  private phase: "warm-up" | "run" = "warm-up";
  readonly singles: SingleRecord[] = [];
  readonly rounds: LoadRecord[] = [];
  unaryCalls = 0;
  verifiedImages = 0;
  verifiedBytes = 0;
  verifiedRequests = 0;
  imageSetSha256: string | undefined;
  private watch: StatsWatch | undefined;
  watchResult: WatchResult | undefined;
  private wireStart = { read: 0, written: 0 };
  private cpuStart: NodeJS.CpuUsage | undefined;
  /** The bench process's CPU time over the measured phase, ms. */
  clientCpuMs: number | undefined;
  /** CPU the bench spent verifying (hashing) in the measured phase, µs; left out of clientCpuMs. */
  private verifyCpuUs = 0;
  wire: { read?: number; written?: number; connections?: number } = {};

  constructor(
    readonly spec: ScenarioSpec,
    readonly mode: Mode,
    readonly row: RowSpec,
    private readonly plan: IterationPlan,
    private readonly context: RunContext,
  ) {}

  /** Opens the clients and warms them up, once; remembers a failure for the task to report. */
  async open(): Promise<void> {
    if (this.opened) return;
    this.opened = true;
    try {
      await this.withDeadline(this.openOnce());
    } catch (err) {
      this.openError = err;
    }
  }

  private async openOnce(): Promise<void> {
    const count =
      this.spec.kind === "load" && this.spec.connections === "per-client" ? this.spec.clients : 1;
    for (let i = 0; i < count; i++) {
      this.clients.push(this.row.createClient());
    }
    this.report("connecting");
    // A small call on each client opens its connection outside the measurement.
    await Promise.all(this.clients.map((client) => client.unary()));
    if (this.mode === "transport" && this.spec.kind !== "unary") {
      // Transport-only: the fixed prompt once, so the server generates and
      // caches its images before anything is timed. Verified like the rest.
      this.report("filling the cache");
      const outcome = await (this.clients[0] as BenchClient).stream(
        { modelId: this.spec.model, prompt: fixedPrompt, batchSize: this.spec.batch },
        this.spec.hashing,
      );
      outcome.assembler.finish();
    }
  }

  /** Starts the measured phase: clears warm-up records, starts the server watch. */
  async startRun(): Promise<void> {
    this.phase = "run";
    this.iteration = 0;
    this.singles.length = 0;
    this.rounds.length = 0;
    this.unaryCalls = 0;
    this.verifiedImages = 0;
    this.verifiedBytes = 0;
    this.verifiedRequests = 0;
    this.wireStart = this.wireCounts();
    this.cpuStart = process.cpuUsage();
    this.verifyCpuUs = 0;
    if (this.row.stats !== undefined) {
      this.watch = new StatsWatch(this.row.stats);
      await this.watch.start();
    }
  }

  /** Ends the measured phase: stops the watch, reads the sockets, closes the clients. */
  async endRun(): Promise<void> {
    const cpu = process.cpuUsage(this.cpuStart);
    this.clientCpuMs = (cpu.user + cpu.system - this.verifyCpuUs) / 1000;
    this.watchResult = await this.watch?.stop();
    this.watch = undefined;
    const end = this.wireCounts();
    const countable = this.clients.every((client) => client.sockets !== undefined);
    this.wire = countable
      ? {
          read: end.read - this.wireStart.read,
          written: end.written - this.wireStart.written,
          connections: this.clients.reduce((sum, c) => sum + (c.sockets?.connections ?? 0), 0),
        }
      : {};
    this.close();
  }

  close(): void {
    for (const client of this.clients) {
      client.close();
    }
  }

  private wireCounts(): { read: number; written: number } {
    let read = 0;
    let written = 0;
    for (const client of this.clients) {
      read += client.sockets?.bytesRead() ?? 0;
      written += client.sockets?.bytesWritten() ?? 0;
    }
    return { read, written };
  }

  private prompt(): string {
    if (this.mode === "transport") return fixedPrompt;
    // End-to-end: a prompt never asked before, so every image is generated.
    return `modelmora bench ${this.context.runId} ${this.spec.id} ${this.row.id} ${this.sequence++}`;
  }

  private report(step: string): void {
    const total = this.phase === "run" ? this.plan.iterations : this.plan.warmupIterations;
    this.context.progress.update(
      `${this.spec.id}/${this.mode}/${this.row.id}`,
      `${this.spec.title} · ${this.mode} · ${this.row.label} · ${step === "" ? `${this.phase} ${this.iteration}/${total}` : step}`,
    );
  }

  /** Runs finish() (the hashing) and keeps its CPU time apart from the client's. */
  private verify(assembler: { finish(): VerifiedImage[] }): VerifiedImage[] {
    const before = process.cpuUsage();
    try {
      return assembler.finish();
    } finally {
      const used = process.cpuUsage(before);
      this.verifyCpuUs += used.user + used.system;
    }
  }

  private noteVerified(images: readonly VerifiedImage[]): void {
    this.verifiedRequests++;
    this.verifiedImages += images.length;
    for (const image of images) {
      this.verifiedBytes += image.bytes;
    }
    this.imageSetSha256 ??= createHash("sha256")
      .update(images.map((image) => image.sha256).join(","))
      .digest("hex");
  }

  /** One tinybench iteration. */
  async iterate(): Promise<IterationResult | undefined> {
    if (this.openError !== undefined) {
      throw this.openError;
    }
    this.iteration++;
    this.report("");
    return this.withDeadline(this.iterateOnce());
  }

  /**
   * A server that stops answering must fail the row, not hang the run:
   * past iterationTimeoutMs, closing the clients aborts whatever they wait for.
   */
  private async withDeadline<T>(work: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.close();
        reject(new Error(`no complete response within ${iterationTimeoutMs / 1000} s`));
      }, iterationTimeoutMs);
    });
    try {
      return await Promise.race([work, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private async iterateOnce(): Promise<IterationResult | undefined> {
    switch (this.spec.kind) {
      case "unary": {
        await (this.clients[0] as BenchClient).unary();
        this.unaryCalls++;
        return undefined;
      }
      case "stream": {
        const outcome = await (this.clients[0] as BenchClient).stream(
          { modelId: this.spec.model, prompt: this.prompt(), batchSize: this.spec.batch },
          this.spec.hashing,
        );
        // Verified after the timed part; a failure fails the row.
        this.noteVerified(this.verify(outcome.assembler));
        this.singles.push({
          totalMs: outcome.totalMs,
          firstChunkMs: outcome.firstChunkMs,
          payloadBytes: outcome.payloadBytes,
          chunks: outcome.chunks,
          chunksNominal: outcome.chunksNominal,
        });
        return { overriddenDuration: outcome.totalMs };
      }
      case "load": {
        const n = this.spec.clients;
        const started = performance.now();
        const settled = await Promise.allSettled(
          Array.from({ length: n }, (_, i) =>
            (this.clients[i % this.clients.length] as BenchClient).stream(
              { modelId: this.spec.model, prompt: this.prompt(), batchSize: this.spec.batch },
              this.spec.hashing,
            ),
          ),
        );
        const roundMs = performance.now() - started;
        const requests: ClientRecord[] = [];
        let firstFailure: unknown;
        for (const result of settled) {
          try {
            if (result.status === "rejected") throw result.reason;
            this.noteVerified(this.verify(result.value.assembler));
            requests.push({
              totalMs: result.value.totalMs,
              firstChunkMs: result.value.firstChunkMs,
              payloadBytes: result.value.payloadBytes,
            });
          } catch (err) {
            firstFailure ??= err;
          }
        }
        this.rounds.push({ roundMs, clients: n, completed: requests.length, requests });
        if (firstFailure !== undefined) {
          throw new VerificationError(
            `${requests.length}/${n} clients completed; first failure: ${errorMessage(firstFailure)}`,
          );
        }
        return { overriddenDuration: roundMs };
      }
    }
  }
}

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

/** A one-line message of any thrown value. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const first = err.message.split("\n")[0] ?? err.message;
    return `${err.name !== "Error" ? `${err.name}: ` : ""}${first}${
      code !== undefined && !first.includes(String(code)) ? ` (${String(code)})` : ""
    }`;
  }
  return String(err);
}
