/**
 * The protocols the server speaks, as one list every table of protocol
 * cases is built from, and one call shape over all of them: gRPC, gRPC-Web,
 * Connect binary and JSON through the project's client, REST through
 * node:http and node:http2.
 */
import assert from "node:assert/strict";
import http from "node:http";
import https from "node:https";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import {
  type ProtocolName as ClientProtocol,
  createInferenceClient,
  Health,
  type InferenceClient,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../src/index.js";
import type { ChunkLike } from "./images.js";
import { flatten, httpRequest, type RawResponse, type Target } from "./raw-http.js";

/** A protocol of the server: the four RPC protocols, and "rest" (POST /infer/stream, GET /v1/models). */
export type ProtocolName = ClientProtocol | "rest";
export type HttpVersion = "1.1" | "2";

/**
 * The one list: every protocol and the HTTP versions it runs on. The first
 * version listed is the one used where each protocol runs once, so those
 * tables still cover both versions.
 */
const protocols: readonly { protocol: ProtocolName; httpVersions: readonly HttpVersion[] }[] = [
  // gRPC needs HTTP/2 (trailers).
  { protocol: "grpc", httpVersions: ["2"] },
  { protocol: "grpc-web", httpVersions: ["1.1", "2"] },
  { protocol: "connect", httpVersions: ["2", "1.1"] },
  { protocol: "connect-json", httpVersions: ["1.1", "2"] },
  { protocol: "rest", httpVersions: ["1.1", "2"] },
];

/** A protocol over one HTTP version, as the tests drive it. */
export interface ProtocolCase {
  /** Shown in test names, for example "grpc-web over HTTP/1.1". */
  readonly name: string;
  readonly protocol: ProtocolName;
  readonly httpVersion: HttpVersion;
}

/** A case the project's client (createInferenceClient) speaks: not REST. */
export interface ClientCase extends ProtocolCase {
  readonly protocol: ClientProtocol;
}

function caseOf(protocol: ProtocolName, httpVersion: HttpVersion): ProtocolCase {
  return { name: `${protocol} over HTTP/${httpVersion}`, protocol, httpVersion };
}

function isClientCase(protocolCase: ProtocolCase): protocolCase is ClientCase {
  return protocolCase.protocol !== "rest";
}

/** Every protocol name, REST last. */
export const protocolNames: readonly ProtocolName[] = protocols.map((p) => p.protocol);

/** Every protocol over every HTTP version it runs on (9 cases). */
export const everyProtocolCase: readonly ProtocolCase[] = protocols.flatMap(
  ({ protocol, httpVersions }) =>
    [...httpVersions].sort().map((httpVersion) => caseOf(protocol, httpVersion)),
);

/**
 * Each protocol once (5 cases), over its first HTTP version: gRPC and
 * Connect binary on HTTP/2, gRPC-Web, Connect JSON and REST on HTTP/1.1.
 * For checks that cost a server or a CLI per call, not per wire format.
 */
export const protocolCases: readonly ProtocolCase[] = protocols.map(({ protocol, httpVersions }) =>
  caseOf(protocol, httpVersions[0] as HttpVersion),
);

/** The RPC protocols over every HTTP version: what createInferenceClient speaks (7 cases). */
export const clientCases: readonly ClientCase[] = everyProtocolCase.filter(isClientCase);

/** The RPC protocols once each (4 cases), as in protocolCases. */
export const rpcCases: readonly ClientCase[] = protocolCases.filter(isClientCase);

/** The method label logs and metrics give StreamInference over a protocol. */
export function streamMethodOf(protocol: ProtocolName): string {
  return protocol === "rest" ? "POST /infer/stream" : "modelmora.InferenceService/StreamInference";
}

/** The method label logs and metrics give ListModels over a protocol. */
export function listModelsMethodOf(protocol: ProtocolName): string {
  return protocol === "rest" ? "GET /v1/models" : "modelmora.InferenceService/ListModels";
}

/** A small, fast request: two thumb-64 images of about 1.5 KB each. */
export const smallRequest = { modelId: "thumb-64", prompt: "a small request", batchSize: 2 };

/** A StreamInference request in the field names of the proto (camelCase). */
export interface StreamRequest {
  modelId: string;
  prompt: string;
  batchSize: number;
}

/** How a call ended, the same shape whichever protocol carried it. */
export interface Outcome {
  /** undefined when the call succeeded. */
  readonly code: Code | undefined;
  /** The error message; "" on success. */
  readonly message: string;
  /** REST only: the HTTP status. */
  readonly httpStatus?: number;
  /** The retry-after header (REST) or error metadata (RPC), when sent. */
  readonly retryAfter?: string;
  /** Image bytes received: chunk data for RPCs, the body for REST. */
  readonly bytes: number;
  /** The chunks received (RPCs only). */
  readonly chunks: readonly ChunkLike[];
  /** REST only: the response as it came (its body is the PNG or multipart/mixed). */
  readonly response?: RawResponse;
}

/** Options of one call. */
export interface CallOptions {
  /** Headers to send, for example {"x-api-key": "…"}. */
  headers?: Record<string, string>;
  /** Client deadline in ms (RPCs: grpc-timeout or connect-timeout-ms). */
  timeoutMs?: number;
}

/** A client of the given case for target; close it after use. */
export function clientFor(
  target: Target,
  protocolCase: Pick<ProtocolCase, "protocol" | "httpVersion">,
  options: { headers?: Record<string, string>; windowBytes?: number } = {},
): InferenceClient {
  assert.notEqual(protocolCase.protocol, "rest", "REST has no RPC client");
  return createInferenceClient({
    baseUrl: target.url,
    protocol: protocolCase.protocol as ClientProtocol,
    httpVersion: protocolCase.httpVersion,
    headers: options.headers,
    tls: target.ca === undefined ? undefined : { ca: target.ca },
    windowBytes: options.windowBytes,
  });
}

/** Calls StreamInference (REST: POST /infer/stream) and reads the whole response. */
export async function callStream(
  target: Target,
  protocolCase: ProtocolCase,
  request: StreamRequest,
  options: CallOptions = {},
): Promise<Outcome> {
  if (protocolCase.protocol === "rest") {
    const body = JSON.stringify({
      model_id: request.modelId,
      prompt: request.prompt,
      batch_size: request.batchSize,
    });
    return restOutcome(
      await httpRequest(target, {
        httpVersion: protocolCase.httpVersion,
        method: "POST",
        path: "/infer/stream",
        headers: { "content-type": "application/json", ...options.headers },
        body,
      }),
    );
  }
  const inference = clientFor(target, protocolCase, options);
  const chunks: ChunkLike[] = [];
  try {
    for await (const chunk of inference.client.streamInference(request, {
      timeoutMs: options.timeoutMs,
    })) {
      chunks.push(chunk);
    }
    return { code: undefined, message: "", bytes: byteCount(chunks), chunks };
  } catch (err) {
    return rpcOutcome(err, chunks);
  } finally {
    inference.close();
  }
}

/** Calls ListModels (REST: GET /v1/models). */
export async function callListModels(
  target: Target,
  protocolCase: ProtocolCase,
  options: CallOptions = {},
): Promise<Outcome> {
  if (protocolCase.protocol === "rest") {
    return restOutcome(
      await httpRequest(target, {
        httpVersion: protocolCase.httpVersion,
        method: "GET",
        path: "/v1/models",
        headers: options.headers,
      }),
    );
  }
  const inference = clientFor(target, protocolCase, options);
  try {
    const response = await inference.client.listModels({}, { timeoutMs: options.timeoutMs });
    assert.ok(response.models.length > 0, "ListModels returned no models");
    return { code: undefined, message: "", bytes: 0, chunks: [] };
  } catch (err) {
    return rpcOutcome(err, []);
  } finally {
    inference.close();
  }
}

/**
 * Calls grpc.health.v1.Health/Check with the generated Health service over
 * an RPC protocol, or GET /healthz for REST. Resolves with the outcome and,
 * on success, the status ("SERVING", ...).
 */
export async function callHealthCheck(
  target: Target,
  protocolCase: ProtocolCase,
  options: CallOptions & { service?: string } = {},
): Promise<Outcome & { status?: string }> {
  if (protocolCase.protocol === "rest") {
    const response = await httpRequest(target, {
      httpVersion: protocolCase.httpVersion,
      method: "GET",
      path: "/healthz",
      headers: options.headers,
    });
    const outcome = restOutcome(response);
    const status =
      response.status === 200 || response.status === 503
        ? (JSON.parse(response.body.toString("utf8")) as { status: string }).status
        : undefined;
    return { ...outcome, status };
  }
  const inference = clientFor(target, protocolCase, options);
  try {
    const health = createClient(Health, inference.transport);
    const response = await health.check({ service: options.service ?? "" });
    return {
      code: undefined,
      message: "",
      bytes: 0,
      chunks: [],
      status: ServingStatus[response.status],
    };
  } catch (err) {
    return rpcOutcome(err, []);
  } finally {
    inference.close();
  }
}

/** A request that keeps a stream in flight: noise-1000, batch 32, about 96 MB. */
export const heldRequest: StreamRequest = {
  modelId: "noise-1000",
  prompt: "held stream",
  batchSize: 32,
};

/** A stream held open by holdStream. */
export interface HeldStream {
  readonly first: ChunkLike;
  /** Aborts the call and resolves with its outcome. */
  cancel(): Promise<Outcome>;
  /** Reads the rest of the stream (only once asked) and resolves with its outcome. */
  readonly ended: Promise<Outcome>;
}

/**
 * Opens a stream (default: heldRequest over gRPC), reads its first chunk,
 * then stops reading, so it stays in flight: the client's HTTP/2 window
 * (64 KiB here) or the socket buffers fill and the server waits.
 */
export async function holdStream(
  target: Target,
  options: {
    headers?: Record<string, string>;
    request?: StreamRequest;
    protocolCase?: Pick<ProtocolCase, "protocol" | "httpVersion">;
  } = {},
): Promise<HeldStream> {
  const inference = clientFor(
    target,
    options.protocolCase ?? { protocol: "grpc", httpVersion: "2" },
    {
      headers: options.headers,
      windowBytes: 65_535,
    },
  );
  const abort = new AbortController();
  const iterator = inference.client
    .streamInference(options.request ?? heldRequest, { signal: abort.signal })
    [Symbol.asyncIterator]();
  const first = await iterator.next();
  if (first.done) {
    inference.close();
    assert.fail("the held stream ended before its first chunk");
  }
  let resolveEnded: (outcome: Outcome) => void = () => {};
  const ended = new Promise<Outcome>((resolve) => {
    resolveEnded = resolve;
  });
  let draining = false;
  async function drain(): Promise<void> {
    if (draining) return;
    draining = true;
    const chunks: ChunkLike[] = [first.value];
    try {
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        chunks.push(next.value);
      }
      resolveEnded({ code: undefined, message: "", bytes: byteCount(chunks), chunks });
    } catch (err) {
      resolveEnded(rpcOutcome(err, chunks));
    } finally {
      inference.close();
    }
  }
  return {
    first: first.value,
    async cancel() {
      abort.abort();
      void drain();
      return ended;
    },
    // Reading the rest only starts when someone asks how the stream ended.
    get ended() {
      void drain();
      return ended;
    },
  };
}

/** A REST stream held open by holdRestStream. */
export interface HeldRestStream {
  readonly response: http.IncomingMessage;
  /** Destroys the request. */
  cancel(): void;
  /** Reads the rest of the body. */
  finish(): Promise<RawResponse>;
}

/**
 * The REST form of holdStream: POST /infer/stream over HTTP/1.1 (default
 * heldRequest), paused after the first body bytes.
 */
export function holdRestStream(
  target: Target,
  options: { headers?: Record<string, string>; request?: StreamRequest } = {},
): Promise<HeldRestStream> {
  const request = options.request ?? heldRequest;
  const url = new URL("/infer/stream", target.url);
  return new Promise((resolve, reject) => {
    const req = (url.protocol === "https:" ? https : http).request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", ...options.headers },
        ca: target.ca,
        agent: false,
      },
      (res) => {
        const parts: Buffer[] = [];
        let truncated = false;
        res.on("error", () => {
          truncated = true;
        });
        res.on("aborted", () => {
          truncated = true;
        });
        const closed = new Promise<RawResponse>((resolveClosed) => {
          res.on("close", () =>
            resolveClosed({
              status: res.statusCode ?? 0,
              headers: flatten(res.headers),
              trailers: flatten(res.trailers),
              body: Buffer.concat(parts),
              truncated: truncated || !res.complete,
            }),
          );
        });
        res.on("data", (part: Buffer) => {
          parts.push(part);
          if (parts.length === 1) {
            res.pause();
            resolve({
              response: res,
              cancel: () => req.destroy(),
              finish() {
                res.resume();
                return closed;
              },
            });
          }
        });
      },
    );
    req.on("error", reject);
    req.end(
      JSON.stringify({
        model_id: request.modelId,
        prompt: request.prompt,
        batch_size: request.batchSize,
      }),
    );
  });
}

function byteCount(chunks: readonly ChunkLike[]): number {
  return chunks.reduce((sum, chunk) => sum + chunk.data.byteLength, 0);
}

function rpcOutcome(err: unknown, chunks: ChunkLike[]): Outcome {
  const error = ConnectError.from(err);
  return {
    code: error.code,
    message: error.rawMessage,
    retryAfter: error.metadata.get("retry-after") ?? undefined,
    bytes: byteCount(chunks),
    chunks,
  };
}

/** The HTTP status the REST routes answer with for each code (the README's error table). */
export const restStatusOf: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.ResourceExhausted]: 429,
  [Code.Canceled]: 499,
  [Code.Unimplemented]: 501,
  [Code.Unavailable]: 503,
  [Code.DeadlineExceeded]: 504,
};

const codeFromStatus = new Map(
  Object.entries(restStatusOf).map(([code, status]) => [status, Number(code) as Code]),
);

function restOutcome(response: RawResponse): Outcome {
  const common = {
    response,
    httpStatus: response.status,
    retryAfter: response.headers["retry-after"],
    bytes: response.body.byteLength,
    chunks: [],
  };
  if (response.status === 0) {
    const reason = response.error?.message ?? "no response";
    return { ...common, code: Code.Unknown, message: `no HTTP response: ${reason}` };
  }
  if (response.status === 200) {
    return response.truncated
      ? { ...common, code: Code.Unknown, message: "the response body was cut off" }
      : { ...common, code: undefined, message: "" };
  }
  let message = response.body.toString("utf8");
  try {
    message = (JSON.parse(message) as { message: string }).message;
  } catch {
    // Not the JSON error shape: keep the raw body as the message.
  }
  return { ...common, code: codeFromStatus.get(response.status) ?? Code.Unknown, message };
}

/** Asserts an outcome's code by name, showing the message when it is wrong. */
export function assertCode(outcome: Outcome, code: Code | undefined, what = "call"): void {
  const name = (c: Code | undefined) => (c === undefined ? "OK" : Code[c]);
  assert.equal(
    name(outcome.code),
    name(code),
    `${what}: expected ${name(code)}, got ${name(outcome.code)} ${outcome.message}`,
  );
}

/** Asserts a refusal: the code, and for REST the matching HTTP status. */
export function assertRefused(
  outcome: Outcome,
  protocolCase: ProtocolCase,
  code: Code,
  messagePattern?: RegExp,
): void {
  assertCode(outcome, code);
  if (protocolCase.protocol === "rest") {
    assert.equal(outcome.httpStatus, restStatusOf[code], `REST status for ${Code[code]}`);
  }
  if (messagePattern !== undefined) {
    assert.match(outcome.message, messagePattern);
  }
}

/** Asserts that promise rejects with a ConnectError of the given code. */
export async function assertConnectError(
  promise: Promise<unknown>,
  code: Code,
  messagePattern?: RegExp,
): Promise<ConnectError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught !== undefined, `expected ${Code[code]}, the call succeeded`);
  const error = ConnectError.from(caught);
  assert.equal(Code[error.code], Code[code], `wrong code: ${error.message}`);
  if (messagePattern) {
    assert.match(error.rawMessage, messagePattern);
  }
  return error;
}
