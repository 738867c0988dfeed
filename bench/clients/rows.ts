/**
 * The rows of the bench's tables and the registry they come from. A row is
 * one client stack speaking one protocol to one server: "gRPC h2 through
 * connect-node, against ModelMora", or "bare Node h2". Rows against the
 * server under test come in families (target-rows.ts), one per client
 * library; the baselines' rows come from baseline-rows.ts.
 *
 * To add a client stack (a Python client driven as a subprocess, a browser
 * page driven by Playwright, the SDK), write a RowFamily and add it to
 * `rowFamilies` in target-rows.ts: its rows then run every scenario, show
 * in every table with their `client` value, and count in the
 * recommendation for that client stack.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { type ProtocolName, protocolNames } from "../../src/index.js";
import type { BenchOptions, Mode, ScenarioId } from "../cli/index.js";
import type { StatsSource } from "../targets/process-stats.js";
import type { BenchClient, ExtraHeaders } from "./types.js";

/** The protocols the server speaks, as the recommendation groups them: the SDK's RPC protocols and REST. */
export type ProtocolFamily = ProtocolName | "rest";

/** Every protocol family, in table order. */
export const protocolFamilies: readonly ProtocolFamily[] = [...protocolNames, "rest"];

/** A protocol family's name in the report. */
export const protocolTitles: Readonly<Record<ProtocolFamily, string>> = {
  grpc: "gRPC",
  "grpc-web": "gRPC-Web",
  connect: "Connect",
  "connect-json": "Connect JSON",
  rest: "REST",
};

/**
 * The client stack a row measures from: "node" (this process), and
 * "python" or "browser" for the families other parts of the project add.
 * The report groups its recommendation by this value.
 */
export type ClientStack = "node" | "python" | "browser" | (string & {});

/** What a row is, before anything runs. */
export interface RowInfo {
  /** Stable id, e.g. "connect-h2"; --protocols and --baselines match on it. */
  readonly id: string;
  /** Name in the tables. */
  readonly label: string;
  /** A protocol of the server under test, or a baseline server. */
  readonly kind: "protocol" | "baseline";
  /** The client stack, the report's "Client" column. */
  readonly client: ClientStack;
  /** The protocol family of a protocol row; undefined for baselines. */
  readonly protocol?: ProtocolFamily;
  /** The client library: "connect-node", "wire", "node:http", "grpc-js", … */
  readonly library: string;
  readonly httpVersion: "1.1" | "2";
  /** Client → server, for the report. */
  readonly description: string;
  /**
   * A diagnostic row: it splits another row's figure (the wire clients show
   * protocol cost without client-library cost) and is not what a user of
   * that client stack would run, so the recommendation does not pick it.
   */
  readonly diagnostic?: boolean;
  /**
   * Whether the row runs a scenario in a mode; every one when undefined. A
   * client stack that can't (or needn't) run some scenarios leaves them
   * out this way, without a skip line per step.
   */
  takesPart?(scenario: ScenarioId, mode: Mode): boolean;
}

/** A row ready to measure. */
export interface RowSpec extends RowInfo {
  /** Opens a new client (a new connection). */
  createClient(): BenchClient;
  /** The serving process's CPU and memory. */
  readonly stats: StatsSource | undefined;
  /** Why this row can't run a scenario's workload, if it can't. */
  unsupported?(model: string, mode: Mode): string | undefined;
  /**
   * CPU time, ms, of the process the row's clients run in, when that is not
   * the bench's own (a Python process): "Cli CPU/req" reads it at the start
   * and end of each round instead of process.cpuUsage().
   */
  clientCpuMs?(): Promise<number>;
}

/** What a family needs to build rows against the server under test. */
export interface TargetRowContext {
  readonly baseUrl: string;
  /** HTTP/2 windows of the clients, bytes. */
  readonly windowBytes: number;
  /** The server's chunk size, bytes (to count a byte stream's writes). */
  readonly chunkBytes: number;
  /** Auth headers for the server under test. */
  readonly headers: ExtraHeaders;
  /** The server's CPU and memory. */
  readonly stats: StatsSource | undefined;
  /** Every flag, for families with settings of their own (a Python path, a browser). */
  readonly options: BenchOptions;
}

/** A family's rows once it is ready. */
export interface OpenedFamily {
  readonly rows: readonly RowSpec[];
  /** Rows it can't offer on this machine (no Python, no browser), each with the reason. */
  readonly skipped?: readonly { readonly row: string; readonly reason: string }[];
  /** Stops whatever open() started. */
  close(): Promise<void>;
}

/** A client library (or stack) and the rows it measures against the server under test. */
export interface RowFamily {
  readonly id: string;
  /** Its rows, known before anything runs (for --protocols and the help text). */
  readonly rows: readonly RowInfo[];
  /**
   * Makes the wanted rows ready; may start what the family needs (a Python
   * process, a browser). Runs once per bench run, after the server is up.
   */
  open(context: TargetRowContext, wanted: readonly RowInfo[]): Promise<OpenedFamily>;
}

/** The ids a label of an HTTP version gets: "-h1" / "-h2". */
export function httpSuffix(httpVersion: "1.1" | "2"): string {
  return httpVersion === "2" ? "-h2" : "-h1";
}

/** "h1.1" / "h2", as the labels say it. */
export function httpLabel(httpVersion: "1.1" | "2"): string {
  return httpVersion === "2" ? "h2" : "h1.1";
}

/**
 * Whether id is kept by a filter (all are without one). An item that is a
 * known id keeps that row alone ("grpc" is gRPC, not gRPC-Web); any other
 * item keeps the ids it starts ("rest" keeps rest-h1 and rest-h2, "connect"
 * all four Connect rows).
 */
export function matchesFilter(
  id: string,
  filter: readonly string[] | undefined,
  known: readonly string[],
): boolean {
  if (filter === undefined) return true;
  return filter.some((item) =>
    known.includes(item) ? id === item : id === item || id.startsWith(`${item}-`),
  );
}
