/**
 * The baseline rows: servers other than ModelMora serving the same images
 * (bench/baselines/), each measured with a Node client, so the report can
 * say how close each protocol comes to what Node, grpc-js and the proof of
 * concept's Python stack carry on the same machine.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { StatsSource } from "../targets/process-stats.js";
import { createBareBenchClient } from "./bare-client.js";
import { createConnectBenchClient } from "./connect-client.js";
import { createGrpcJsBenchClient } from "./grpc-js-client.js";
import type { RowInfo, RowSpec } from "./rows.js";

/** The baseline rows, in table order. */
export const baselineRowInfos: readonly RowInfo[] = [
  {
    id: "bare-h2",
    label: "bare Node h2",
    kind: "baseline",
    client: "node",
    library: "node:http2",
    httpVersion: "2",
    description:
      "node:http2 client → node:http2 server writing the PNG chunks as one raw stream (16 MiB windows both sides)",
  },
  {
    id: "bare-h1",
    label: "bare Node h1.1",
    kind: "baseline",
    client: "node",
    library: "node:http",
    httpVersion: "1.1",
    description: "node:http client → node:http server writing the PNG chunks as one chunked body",
  },
  {
    id: "grpc-js",
    label: "grpc-js server",
    kind: "baseline",
    client: "node",
    library: "connect-node",
    httpVersion: "2",
    description: "connect-node gRPC client (as the gRPC row) → @grpc/grpc-js server",
  },
  {
    id: "grpc-js-client",
    label: "grpc-js srv+client",
    kind: "baseline",
    client: "node",
    library: "grpc-js",
    httpVersion: "2",
    description: "@grpc/grpc-js client → @grpc/grpc-js server (the all-grpc-js stack)",
  },
  {
    id: "grpcio",
    label: "Python grpcio",
    kind: "baseline",
    client: "node",
    library: "connect-node",
    httpVersion: "2",
    description:
      "connect-node gRPC client → Python grpcio server (the proof of concept's server stack, ThreadPoolExecutor)",
  },
];

/** The ids of the baseline rows. */
export const baselineRowIds: readonly string[] = baselineRowInfos.map((row) => row.id);

/** A running baseline process, as the rows need it. */
export interface BaselineEndpoint {
  readonly url: string;
  readonly stats: StatsSource;
}

/** The running baselines' endpoints, by baseline server. */
export interface BaselineEndpoints {
  readonly bareH2?: BaselineEndpoint;
  readonly bareH1?: BaselineEndpoint;
  readonly grpcJs?: BaselineEndpoint;
  readonly grpcio?: BaselineEndpoint;
}

/** What the baseline rows need. */
export interface BaselineRowsOptions extends BaselineEndpoints {
  readonly windowBytes: number;
  readonly chunkBytes: number;
}

function info(id: string): RowInfo {
  return baselineRowInfos.find((row) => row.id === id) as RowInfo;
}

/** The rows of the baselines that are running. */
export function baselineRows(options: BaselineRowsOptions): RowSpec[] {
  const rows: RowSpec[] = [];
  for (const [id, endpoint] of [
    ["bare-h2", options.bareH2],
    ["bare-h1", options.bareH1],
  ] as const) {
    if (endpoint === undefined) continue;
    const row = info(id);
    rows.push({
      ...row,
      stats: endpoint.stats,
      createClient: () =>
        createBareBenchClient({
          baseUrl: endpoint.url,
          httpVersion: row.httpVersion,
          windowBytes: options.windowBytes,
          chunkBytes: options.chunkBytes,
        }),
    });
  }
  const grpcJs = options.grpcJs;
  if (grpcJs !== undefined) {
    rows.push({
      ...info("grpc-js"),
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
      ...info("grpc-js-client"),
      stats: grpcJs.stats,
      createClient: () =>
        createGrpcJsBenchClient({ baseUrl: grpcJs.url, windowBytes: options.windowBytes }),
    });
  }
  const grpcio = options.grpcio;
  if (grpcio !== undefined) {
    rows.push({
      ...info("grpcio"),
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
          ? "the Python baseline generates only noise-1000 (the proof of concept's workload)"
          : undefined,
    });
  }
  return rows;
}
