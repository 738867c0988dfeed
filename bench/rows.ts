/**
 * The rows of the bench's tables: each protocol of the server under test,
 * and each baseline, with the client that measures it and the source of its
 * server's CPU and memory figures.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { ProtocolName } from "../src/client/index.js";
import { createBareBenchClient } from "./clients/bare-client.js";
import { createConnectBenchClient } from "./clients/connect-client.js";
import { createGrpcJsBenchClient } from "./clients/grpc-js-client.js";
import { createRestBenchClient } from "./clients/rest-client.js";
import type { BenchClient, ExtraHeaders } from "./clients/types.js";
import { createWireBenchClient, type WireProtocol } from "./clients/wire-client.js";
import type { Mode } from "./options.js";
import type { StatsSource } from "./process-stats.js";

/** One row: something to measure, and how. */
export interface RowSpec {
  /** Stable id, e.g. "connect-h2"; --protocols and --baselines match on it. */
  readonly id: string;
  /** Name in the tables. */
  readonly label: string;
  readonly kind: "protocol" | "baseline";
  readonly httpVersion: "1.1" | "2";
  /** Client → server, for the report. */
  readonly description: string;
  /** Opens a new client (a new connection). */
  createClient(): BenchClient;
  /** The serving process's CPU and memory. */
  readonly stats: StatsSource | undefined;
  /** Why this row can't run a scenario's workload, if it can't. */
  unsupported?(model: string, mode: Mode): string | undefined;
}

/** The protocol rows, in table order. */
export const protocolRowIds = [
  "grpc",
  "grpc-web-h1",
  "grpc-web-h2",
  "connect-h1",
  "connect-h2",
  "connect-json-h1",
  "connect-json-h2",
  "rest-h1",
  "rest-h2",
  "grpc-wire",
  "grpc-web-wire-h1",
  "grpc-web-wire-h2",
  "connect-wire-h1",
  "connect-wire-h2",
] as const;

/** The baseline rows, in table order. */
export const baselineRowIds = [
  "bare-h2",
  "bare-h1",
  "grpc-js",
  "grpc-js-client",
  "grpcio",
] as const;

/**
 * Whether id is kept by a filter (all are without one). An item that is an
 * id keeps that row alone ("grpc" is gRPC, not gRPC-Web); any other item
 * keeps the ids it starts ("rest" keeps rest-h1 and rest-h2, "connect" all
 * four Connect rows).
 */
export function matchesFilter(id: string, filter: readonly string[] | undefined): boolean {
  if (filter === undefined) return true;
  const known: readonly string[] = [...protocolRowIds, ...baselineRowIds];
  return filter.some((item) =>
    known.includes(item) ? id === item : id === item || id.startsWith(`${item}-`),
  );
}

/** What the rows of the server under test need. */
export interface TargetRowsOptions {
  baseUrl: string;
  windowBytes: number;
  chunkBytes: number;
  headers: ExtraHeaders;
  stats: StatsSource | undefined;
}

const protocolLabels: Record<ProtocolName, string> = {
  grpc: "gRPC",
  "grpc-web": "gRPC-Web",
  connect: "Connect",
  "connect-json": "Connect JSON",
};

/** The protocol rows of the server under test. */
export function targetRows(options: TargetRowsOptions): RowSpec[] {
  const rows: RowSpec[] = [];
  const connectRow = (protocol: ProtocolName, httpVersion: "1.1" | "2"): RowSpec => ({
    id: `${protocol}${protocol === "grpc" ? "" : httpVersion === "2" ? "-h2" : "-h1"}`,
    label: `${protocolLabels[protocol]} ${httpVersion === "2" ? "h2" : "h1.1"}`,
    kind: "protocol",
    httpVersion,
    description: `connect-node ${protocol} client (createInferenceClient) → ModelMora server`,
    stats: options.stats,
    createClient: () =>
      createConnectBenchClient({
        baseUrl: options.baseUrl,
        protocol,
        httpVersion,
        windowBytes: options.windowBytes,
        headers: options.headers,
      }),
  });
  rows.push(connectRow("grpc", "2"));
  for (const protocol of ["grpc-web", "connect", "connect-json"] as const) {
    rows.push(connectRow(protocol, "1.1"), connectRow(protocol, "2"));
  }
  for (const httpVersion of ["1.1", "2"] as const) {
    rows.push({
      id: httpVersion === "2" ? "rest-h2" : "rest-h1",
      label: `REST ${httpVersion === "2" ? "h2" : "h1.1"}`,
      kind: "protocol",
      httpVersion,
      description: `node:${httpVersion === "2" ? "http2" : "http"} client, POST /infer/stream (png / multipart) → ModelMora server`,
      stats: options.stats,
      createClient: () =>
        createRestBenchClient({
          baseUrl: options.baseUrl,
          httpVersion,
          windowBytes: options.windowBytes,
          chunkBytes: options.chunkBytes,
          headers: options.headers,
        }),
    });
  }
  // The binary protocols again, read by a minimal client written against
  // the wire format (bench/clients/wire-client.ts): protocol cost without
  // client-library cost.
  const wireLabels: Record<WireProtocol, string> = {
    grpc: "gRPC",
    "grpc-web": "gRPC-Web",
    connect: "Connect",
  };
  for (const [protocol, httpVersion] of [
    ["grpc", "2"],
    ["grpc-web", "1.1"],
    ["grpc-web", "2"],
    ["connect", "1.1"],
    ["connect", "2"],
  ] as const) {
    rows.push({
      id: `${protocol}-wire${protocol === "grpc" ? "" : httpVersion === "2" ? "-h2" : "-h1"}`,
      label: `${wireLabels[protocol]} ${httpVersion === "2" ? "h2" : "h1.1"} wire`,
      kind: "protocol",
      httpVersion,
      description: `minimal node:${httpVersion === "2" ? "http2" : "http"} ${protocol} client streaming the data field (bench/clients/wire-client.ts) → ModelMora server`,
      stats: options.stats,
      createClient: () =>
        createWireBenchClient({
          baseUrl: options.baseUrl,
          protocol,
          httpVersion,
          windowBytes: options.windowBytes,
          headers: options.headers,
        }),
    });
  }
  return rows;
}

/** A running baseline process, as the rows need it. */
export interface BaselineEndpoint {
  readonly url: string;
  readonly stats: StatsSource;
}

/** What the baseline rows need. */
export interface BaselineRowsOptions {
  windowBytes: number;
  chunkBytes: number;
  bareH2?: BaselineEndpoint;
  bareH1?: BaselineEndpoint;
  grpcJs?: BaselineEndpoint;
  grpcio?: BaselineEndpoint;
}

/** The rows of the baselines that are running. */
export function baselineRows(options: BaselineRowsOptions): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const [httpVersion, endpoint] of [
    ["2", options.bareH2],
    ["1.1", options.bareH1],
  ] as const) {
    if (endpoint === undefined) continue;
    rows.push({
      id: httpVersion === "2" ? "bare-h2" : "bare-h1",
      label: `bare Node ${httpVersion === "2" ? "h2" : "h1.1"}`,
      kind: "baseline",
      httpVersion,
      description:
        httpVersion === "2"
          ? "node:http2 client → node:http2 server writing the PNG chunks as one raw stream (16 MiB windows both sides)"
          : "node:http client → node:http server writing the PNG chunks as one chunked body",
      stats: endpoint.stats,
      createClient: () =>
        createBareBenchClient({
          baseUrl: endpoint.url,
          httpVersion,
          windowBytes: options.windowBytes,
          chunkBytes: options.chunkBytes,
        }),
    });
  }
  const grpcJs = options.grpcJs;
  if (grpcJs !== undefined) {
    rows.push({
      id: "grpc-js",
      label: "grpc-js server",
      kind: "baseline",
      httpVersion: "2",
      description: "connect-node gRPC client (as the gRPC row) → @grpc/grpc-js server",
      stats: grpcJs.stats,
      createClient: () =>
        createConnectBenchClient({
          baseUrl: grpcJs.url,
          protocol: "grpc",
          httpVersion: "2",
          windowBytes: options.windowBytes,
        }),
    });
    rows.push({
      id: "grpc-js-client",
      label: "grpc-js srv+client",
      kind: "baseline",
      httpVersion: "2",
      description: "@grpc/grpc-js client → @grpc/grpc-js server (the all-grpc-js stack)",
      stats: grpcJs.stats,
      createClient: () =>
        createGrpcJsBenchClient({ baseUrl: grpcJs.url, windowBytes: options.windowBytes }),
    });
  }
  const grpcio = options.grpcio;
  if (grpcio !== undefined) {
    rows.push({
      id: "grpcio",
      label: "Python grpcio",
      kind: "baseline",
      httpVersion: "2",
      description:
        "connect-node gRPC client → Python grpcio server (the seed's stack, ThreadPoolExecutor)",
      stats: grpcio.stats,
      createClient: () =>
        createConnectBenchClient({
          baseUrl: grpcio.url,
          protocol: "grpc",
          httpVersion: "2",
          windowBytes: options.windowBytes,
        }),
      unsupported: (model, mode) =>
        mode === "e2e" && model !== "noise-1000"
          ? "the Python baseline generates only noise-1000 (the seed's workload)"
          : undefined,
    });
  }
  return rows;
}
