/**
 * The scenarios: what each one asks for (model, batch, clients), how it is
 * driven (one request at a time, rounds of concurrent clients, unary calls,
 * or requests on a fixed schedule), which rows take part and how many
 * iterations each mode runs, built from the options. The sweeps and the
 * open-loop scenario are one spec per step (a size, a level, a rate).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import {
  type BenchOptions,
  type IterationPlan,
  type Mode,
  type ScenarioId,
  sizeLabel,
} from "../cli/index.js";
import type { RowInfo } from "../clients/index.js";
import type { Step } from "../results/index.js";
import type { HashingMode } from "../verify/index.js";

/** A scenario (or one step of a sweep): a workload and how it is driven. */
export interface ScenarioSpec {
  readonly id: ScenarioId;
  /** The step of a sweep or of the open-loop scenario; undefined for the others. */
  readonly step?: Step;
  /** Title in the report, in the proof of concept's words where it had them. */
  readonly title: string;
  /**
   * One request at a time (stream), rounds of concurrent clients (load),
   * unary calls, or requests started on a schedule (open-loop).
   */
  readonly kind: "stream" | "load" | "unary" | "open-loop";
  readonly model: string;
  readonly batch: number;
  /** Concurrent clients (1 for stream, unary and open-loop). */
  readonly clients: number;
  readonly connections: "shared" | "per-client";
  readonly hashing: HashingMode;
  /** Whether a row takes part in a mode; every row when undefined. */
  readonly includes?: (row: RowInfo, mode: Mode) => boolean;
  /** Modes it runs in. */
  readonly modes: readonly Mode[];
  /** Iterations per mode; a mode without a plan is not part of the profile. */
  readonly plans: Readonly<Partial<Record<Mode, IterationPlan>>>;
  /** The open-loop schedule: offered load and how long it runs. */
  readonly openLoop?: { readonly rateRps: number; readonly durationMs: number };
}

/** The prompt of transport-only mode: always the same, so runs are comparable. */
export const fixedPrompt = "modelmora bench: fixed prompt";

/**
 * End-to-end mode measures what users of each protocol get, image
 * generation included; the wire clients only split a row's transport cost,
 * so they sit it out (generation would hide what they show).
 */
function userRows(row: RowInfo, mode: Mode): boolean {
  return mode === "transport" || row.diagnostic !== true;
}

/** The scenarios with one workload each: memory (first), single, load, small, unary. */
function fixedSpecs(options: BenchOptions): ScenarioSpec[] {
  const plans = options.plans;
  const specs: ScenarioSpec[] = [];
  const wants = (id: ScenarioId) => options.scenarios.includes(id);
  // Memory runs first, on a server that has answered only the probes: the
  // other scenarios leave the image cache full (64 MiB) and V8's heap at its
  // high-water mark, which RSS keeps, so run later its figure would measure
  // them rather than these streams.
  if (wants("memory")) {
    specs.push({
      id: "memory",
      title: `Memory (${options.memoryStreams} concurrent streams)`,
      kind: "load",
      model: options.model,
      batch: options.memoryBatch,
      clients: options.memoryStreams,
      connections: options.connections,
      // 100 streams of 30 MB would not fit in the client if kept for later.
      hashing: "inline",
      includes: (row) => row.id === "grpc",
      modes: ["transport"],
      plans: plans.memory,
    });
  }
  if (wants("single")) {
    specs.push({
      id: "single",
      title: "Single Request Performance",
      kind: "stream",
      model: options.model,
      batch: options.batch,
      clients: 1,
      connections: "per-client",
      hashing: "deferred",
      includes: userRows,
      modes: options.modes,
      plans: plans.single,
    });
  }
  if (wants("load")) {
    specs.push({
      id: "load",
      title: `Concurrent Load (${options.clients} clients)`,
      kind: "load",
      model: options.model,
      batch: options.loadBatch,
      clients: options.clients,
      connections: options.connections,
      hashing: "deferred",
      includes: userRows,
      modes: options.modes,
      plans: plans.load,
    });
  }
  if (wants("small")) {
    specs.push({
      id: "small",
      title: "Small Payload",
      kind: "stream",
      model: options.smallModel,
      batch: options.smallBatch,
      clients: 1,
      connections: "per-client",
      hashing: "deferred",
      includes: userRows,
      modes: options.modes,
      plans: plans.small,
    });
  }
  if (wants("unary")) {
    specs.push({
      id: "unary",
      title: "Unary ListModels",
      kind: "unary",
      model: "",
      batch: 0,
      clients: 1,
      connections: "per-client",
      hashing: "deferred",
      modes: ["transport"],
      plans: plans.unary,
    });
  }
  return specs;
}

/** The open-loop scenario: each workload at each offered load. */
function openLoopSpecs(options: BenchOptions): ScenarioSpec[] {
  const specs: ScenarioSpec[] = [];
  // What users run, against the bare baselines' floor; transport-only.
  const openLoopRows = (row: RowInfo) =>
    row.kind === "protocol" ? row.diagnostic !== true : row.id.startsWith("bare");
  for (const workload of ["small", "unary"] as const) {
    for (const rateRps of options.openLoopRatesRps) {
      specs.push({
        id: "open-loop",
        step: { kind: "open-loop", workload, rateRps },
        title: `Open-loop latency: ${workload === "small" ? "Small Payload" : "Unary ListModels"} at ${rateRps} requests/s`,
        kind: "open-loop",
        model: workload === "small" ? options.smallModel : "",
        batch: workload === "small" ? options.smallBatch : 0,
        clients: 1,
        connections: "per-client",
        hashing: "deferred",
        includes: openLoopRows,
        modes: ["transport"],
        plans: { transport: { rounds: 1, iterations: 1, warmupIterations: 0, timeMs: 0 } },
        openLoop: { rateRps, durationMs: options.openLoopDurationMs },
      });
    }
  }

  return specs;
}

/** The payload sweep: one image of each model per request. */
function payloadSpecs(options: BenchOptions): ScenarioSpec[] {
  const specs: ScenarioSpec[] = [];
  for (const model of options.payloadModels) {
    specs.push({
      id: "payload",
      step: { kind: "payload", model },
      title: `Payload size sweep: ${model} (about ${sizeLabel(model)} per request)`,
      kind: "stream",
      model,
      batch: 1,
      clients: 1,
      connections: "per-client",
      hashing: "deferred",
      modes: ["transport"],
      plans: { transport: options.payloadPlan(model) },
    });
  }

  return specs;
}

/** The concurrency sweep: each level with one connection per stream, then all on one connection. */
function concurrencySpecs(options: BenchOptions): ScenarioSpec[] {
  const specs: ScenarioSpec[] = [];
  const perConnection = (row: RowInfo) =>
    row.kind === "protocol" || row.id === "bare-h2" || row.id === "bare-h1";
  for (const connections of ["per-client", "shared"] as const) {
    for (const streams of options.concurrencyStreams) {
      // One stream is the same either way; HTTP/1.1 can't share a connection.
      if (connections === "shared" && streams === 1) continue;
      specs.push({
        id: "concurrency",
        step: { kind: "concurrency", streams, connections },
        title: `Concurrency sweep: ${streams} concurrent stream${streams === 1 ? "" : "s"}, ${connections === "shared" ? "all on one connection (HTTP/2)" : "one connection each"}`,
        kind: "load",
        model: options.concurrencyModel,
        batch: 1,
        clients: streams,
        connections,
        hashing: "deferred",
        includes:
          connections === "shared"
            ? (row) => perConnection(row) && row.httpVersion === "2"
            : perConnection,
        modes: ["transport"],
        plans: { transport: options.concurrencyPlan(streams) },
      });
    }
  }

  return specs;
}

/** Builds the scenarios the options ask for, in the order they run. */
export function scenarioSpecs(options: BenchOptions): ScenarioSpec[] {
  const wants = (id: ScenarioId) => options.scenarios.includes(id);
  return [
    ...fixedSpecs(options),
    ...(wants("open-loop") ? openLoopSpecs(options) : []),
    ...(wants("payload") ? payloadSpecs(options) : []),
    ...(wants("concurrency") ? concurrencySpecs(options) : []),
  ];
}
