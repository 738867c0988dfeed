/**
 * The scenarios: what each one asks for (model, batch, clients) and how it
 * is driven (one request at a time, rounds of concurrent clients, unary
 * calls), built from the options.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { BenchOptions, Mode, ScenarioId } from "../cli/index.js";
import type { HashingMode } from "../verify/index.js";

/** A scenario: a workload and how it is driven. */
export interface ScenarioSpec {
  readonly id: ScenarioId;
  /** Title in the proof of concept's words. */
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
