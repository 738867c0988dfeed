/**
 * The row families measured against the server under test, in table order:
 * the project's connect-node client for the Connect family of protocols,
 * node:http / node:http2 for REST, the minimal wire clients that show each
 * binary protocol's cost without a client library, the project's SDK
 * (streamImages) over the binary protocols, and the browsers. A new client
 * stack plugs in here as one more entry of `rowFamilies` (see rows.ts).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { ProtocolName } from "../../src/index.js";
import { browserFamily } from "../browser/browser-family.js";
import type { Mode, ScenarioId } from "../cli/index.js";
import { createConnectBenchClient } from "./connect-client.js";
import { pythonFamily } from "./python-rows.js";
import { createRestBenchClient } from "./rest-client.js";
import {
  httpLabel,
  httpSuffix,
  type OpenedFamily,
  protocolTitles,
  type RowFamily,
  type RowInfo,
  type RowSpec,
  type TargetRowContext,
} from "./rows.js";
import { createWireBenchClient, type WireProtocol } from "./wire-client.js";

/** The row id of a protocol over an HTTP version: plain gRPC is h2 only, so it has no suffix. */
function protocolRowId(protocol: ProtocolName, httpVersion: "1.1" | "2", tag = ""): string {
  return `${protocol}${tag}${protocol === "grpc" ? "" : httpSuffix(httpVersion)}`;
}

/** Each (protocol, HTTP version) pair the server serves, in table order. */
const connectPairs: readonly (readonly [ProtocolName, "1.1" | "2"])[] = [
  ["grpc", "2"],
  ["grpc-web", "1.1"],
  ["grpc-web", "2"],
  ["connect", "1.1"],
  ["connect", "2"],
  ["connect-json", "1.1"],
  ["connect-json", "2"],
];

/** Rows that need nothing started: open() builds a client factory per row. */
function simpleFamily(
  id: string,
  rows: readonly RowInfo[],
  clientOf: (row: RowInfo, context: TargetRowContext) => RowSpec["createClient"],
): RowFamily {
  return {
    id,
    rows,
    async open(context, wanted): Promise<OpenedFamily> {
      return {
        rows: wanted.map((row) => ({
          ...row,
          stats: context.stats,
          createClient: clientOf(row, context),
        })),
        async close() {},
      };
    },
  };
}

/** Clients built with the project's createInferenceClient, reading streams as `read` says. */
function projectClient(
  read: "messages" | "images",
): (row: RowInfo, context: TargetRowContext) => RowSpec["createClient"] {
  return (row, context) => () =>
    createConnectBenchClient({
      baseUrl: context.baseUrl,
      protocol: row.protocol as ProtocolName,
      httpVersion: row.httpVersion,
      windowBytes: context.windowBytes,
      headers: context.headers,
      read,
    });
}

/** The binary protocols (not Connect JSON), each over the HTTP versions it runs on. */
const binaryPairs = connectPairs.filter(([protocol]) => protocol !== "connect-json");

const connectNodeRows: RowInfo[] = connectPairs.map(([protocol, httpVersion]) => ({
  id: protocolRowId(protocol, httpVersion),
  label: `${protocolTitles[protocol]} ${httpLabel(httpVersion)}`,
  kind: "protocol",
  client: "node",
  protocol,
  library: "connect-node",
  httpVersion,
  description: `connect-node ${protocol} client (createInferenceClient) → ModelMora server`,
}));

/** The project's client (createInferenceClient) for gRPC, gRPC-Web, Connect and Connect JSON. */
export const connectNodeFamily = simpleFamily(
  "connect-node",
  connectNodeRows,
  projectClient("messages"),
);

/** REST through node:http (keep-alive) and node:http2. */
export const restNodeFamily = simpleFamily(
  "rest-node",
  (["1.1", "2"] as const).map((httpVersion) => ({
    id: `rest${httpSuffix(httpVersion)}`,
    label: `REST ${httpLabel(httpVersion)}`,
    kind: "protocol",
    client: "node",
    protocol: "rest",
    library: httpVersion === "2" ? "node:http2" : "node:http",
    httpVersion,
    description: `node:${httpVersion === "2" ? "http2" : "http"} client, POST /infer/stream (png / multipart) → ModelMora server`,
  })),
  (row, context) => () =>
    createRestBenchClient({
      baseUrl: context.baseUrl,
      httpVersion: row.httpVersion,
      windowBytes: context.windowBytes,
      chunkBytes: context.chunkBytes,
      headers: context.headers,
    }),
);

/**
 * The binary protocols again, read by a minimal client written against the
 * wire format (wire-client.ts): protocol cost without client-library cost.
 */
export const wireFamily = simpleFamily(
  "wire",
  binaryPairs.map(([protocol, httpVersion]) => ({
    id: protocolRowId(protocol, httpVersion, "-wire"),
    label: `${protocolTitles[protocol]} ${httpLabel(httpVersion)} wire`,
    kind: "protocol",
    client: "node",
    protocol,
    library: "wire",
    httpVersion,
    description: `minimal node:${httpVersion === "2" ? "http2" : "http"} ${protocol} client streaming the data field (bench/clients/wire-client.ts) → ModelMora server`,
    diagnostic: true,
  })),
  (row, context) => () =>
    createWireBenchClient({
      baseUrl: context.baseUrl,
      protocol: row.protocol as WireProtocol,
      httpVersion: row.httpVersion,
      windowBytes: context.windowBytes,
      headers: context.headers,
    }),
);

/**
 * Where the SDK rows (Node's and Python's) take part: the single request
 * in both modes and the 10-client load transport-only. End-to-end the load
 * is drawing-bound, every client gets the server's drawing rate, and the
 * rows the decision rule reads are there already; leaving the SDK rows out
 * of it keeps a full run under 10 minutes.
 */
export function sdkTakesPart(scenario: ScenarioId, mode: Mode): boolean {
  return scenario === "single" || (scenario === "load" && mode === "transport");
}

/**
 * The binary protocols again, through the project's SDK as its users call
 * it for images: createInferenceClient + client.streamImages, which yields
 * whole images with their SHA-256 checked (connect-client.ts, read
 * "images"). Client "node-sdk", so the recommendation speaks for it apart.
 */
export const sdkFamily = simpleFamily(
  "sdk",
  binaryPairs.map(([protocol, httpVersion]) => ({
    id: protocolRowId(protocol, httpVersion, "-sdk"),
    label: `${protocolTitles[protocol]} ${httpLabel(httpVersion)} SDK`,
    kind: "protocol",
    client: "node-sdk",
    protocol,
    library: "sdk",
    httpVersion,
    description: `the project's SDK, ${protocol}: createInferenceClient + client.streamImages (whole images, SHA-256 checked inside the timed part) → ModelMora server`,
    takesPart: sdkTakesPart,
  })),
  projectClient("images"),
);

/**
 * Where the browser rows take part: the single request and the small
 * payload in both modes, and the 10-client load transport-only (end-to-end
 * it would add minutes of drawing and say nothing a Node row does not),
 * which keeps a full run under 10 minutes with them.
 */
function browserTakesPart(scenario: ScenarioId, mode: Mode): boolean {
  return (
    scenario === "single" || scenario === "small" || (scenario === "load" && mode === "transport")
  );
}

/**
 * The browser rows (bench/browser/): connect-web and fetch in headless
 * Chromium, client "browser"; skipped with one line when Chromium is not
 * there.
 */
export const browserRowFamily: RowFamily = {
  id: browserFamily.id,
  rows: browserFamily.rows.map((row) => ({ ...row, takesPart: browserTakesPart })),
  async open(context, wanted) {
    const opened = await browserFamily.open(
      context,
      wanted as Parameters<typeof browserFamily.open>[1],
    );
    const family: OpenedFamily = opened;
    return family;
  },
};

/** Every family measured against the server under test, in table order. */
export const rowFamilies: readonly RowFamily[] = [
  connectNodeFamily,
  restNodeFamily,
  wireFamily,
  sdkFamily,
  browserRowFamily,
  pythonFamily,
];

/** Every protocol row any family offers, in table order. */
export const protocolRowInfos: readonly RowInfo[] = rowFamilies.flatMap((family) => family.rows);
