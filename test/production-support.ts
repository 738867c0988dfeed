/**
 * Helpers of the production-checklist tests (issue 5): one call shape over
 * every protocol (gRPC, gRPC-Web, Connect binary and JSON through the
 * project's client, REST through node:http), the CLI as a subprocess, a
 * self-signed certificate made at test time, and Prometheus text parsing.
 */
// First: protobuf-es reads the base64 methods when it loads.
import "../src/base64-polyfill.js";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createInferenceClient, type InferenceClient } from "../src/client/index.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../src/gen/grpc/health/v1/health_pb.js";
import { type ChunkLike, repoRoot, run, waitFor } from "./helpers.js";

/** A server to call: its URL and, for HTTPS, the CA that signed its certificate. */
export interface Target {
  readonly url: string;
  readonly ca?: string;
}

/** A protocol as the tests drive it. "rest" is POST /infer/stream and GET /v1/models. */
export interface ProtocolCase {
  /** Shown in test names, for example "grpc-web over HTTP/1.1". */
  readonly name: string;
  readonly protocol: "grpc" | "grpc-web" | "connect" | "connect-json" | "rest";
  readonly httpVersion: "1.1" | "2";
}

/**
 * The protocols every production check runs over: each wire protocol once,
 * across both HTTP versions (gRPC needs HTTP/2).
 */
export const protocolCases: readonly ProtocolCase[] = [
  { name: "grpc over HTTP/2", protocol: "grpc", httpVersion: "2" },
  { name: "grpc-web over HTTP/1.1", protocol: "grpc-web", httpVersion: "1.1" },
  { name: "connect over HTTP/2", protocol: "connect", httpVersion: "2" },
  { name: "connect-json over HTTP/1.1", protocol: "connect-json", httpVersion: "1.1" },
  { name: "rest over HTTP/1.1", protocol: "rest", httpVersion: "1.1" },
];

/** A small, fast request: two thumb-64 images of about 1.5 KB each. */
export const smallRequest = { modelId: "thumb-64", prompt: "production checklist", batchSize: 2 };

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
  headers?: Record<string, string>,
  windowBytes?: number,
): InferenceClient {
  assert.notEqual(protocolCase.protocol, "rest", "REST has no RPC client");
  return createInferenceClient({
    baseUrl: target.url,
    protocol: protocolCase.protocol as Exclude<ProtocolCase["protocol"], "rest">,
    httpVersion: protocolCase.httpVersion,
    headers,
    tls: target.ca === undefined ? undefined : { ca: target.ca },
    windowBytes,
  });
}

/** Calls StreamInference (REST: POST /infer/stream) and reads the whole response. */
export async function callStream(
  target: Target,
  protocolCase: ProtocolCase,
  request: { modelId: string; prompt: string; batchSize: number },
  options: CallOptions = {},
): Promise<Outcome> {
  if (protocolCase.protocol === "rest") {
    const body = JSON.stringify({
      model_id: request.modelId,
      prompt: request.prompt,
      batch_size: request.batchSize,
    });
    return restOutcome(
      await restRequest(target, "POST", "/infer/stream", {
        headers: { "content-type": "application/json", ...options.headers },
        body,
        httpVersion: protocolCase.httpVersion,
      }),
    );
  }
  const inference = clientFor(target, protocolCase, options.headers);
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
      await restRequest(target, "GET", "/v1/models", {
        headers: options.headers,
        httpVersion: protocolCase.httpVersion,
      }),
    );
  }
  const inference = clientFor(target, protocolCase, options.headers);
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
    const response = await restRequest(target, "GET", "/healthz", {
      headers: options.headers,
      httpVersion: protocolCase.httpVersion,
    });
    const outcome = restOutcome(response);
    const status =
      response.status === 200 || response.status === 503
        ? (JSON.parse(response.body.toString("utf8")) as { status: string }).status
        : undefined;
    return { ...outcome, status };
  }
  const inference = clientFor(target, protocolCase, options.headers);
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

/**
 * Opens a noise-1000 stream (gRPC unless told), reads its first chunk, then
 * stops reading, so it stays in flight: the client's HTTP/2 window (64 KiB
 * here) or the socket buffers fill and the server waits. cancel() aborts
 * it; ended resolves with its outcome.
 */
export async function holdStream(
  target: Target,
  headers?: Record<string, string>,
  request = { modelId: "noise-1000", prompt: "held stream", batchSize: 32 },
  protocolCase: Pick<ProtocolCase, "protocol" | "httpVersion"> = {
    protocol: "grpc",
    httpVersion: "2",
  },
): Promise<{ first: ChunkLike; cancel(): Promise<Outcome>; ended: Promise<Outcome> }> {
  const inference = clientFor(target, protocolCase, headers, 65_535);
  const abort = new AbortController();
  const iterator = inference.client
    .streamInference(request, { signal: abort.signal })
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

/**
 * The REST form of holdStream: POST /infer/stream over HTTP/1.1, paused
 * after the first body bytes. cancel() destroys the request; finish()
 * reads the rest of the body.
 */
export async function holdRestStream(
  target: Target,
  headers?: Record<string, string>,
  request = { model_id: "noise-1000", prompt: "held stream", batch_size: 32 },
): Promise<{ response: http.IncomingMessage; cancel(): void; finish(): Promise<RestResponse> }> {
  const url = new URL("/infer/stream", target.url);
  const secure = url.protocol === "https:";
  return new Promise((resolve, reject) => {
    const req = (secure ? https : http).request(
      url,
      {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
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
        const closed = new Promise<RestResponse>((resolveClosed) => {
          res.on("close", () =>
            resolveClosed({
              status: res.statusCode ?? 0,
              headers: res.headers,
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
    req.end(JSON.stringify(request));
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

/** A REST response, read to its end (or to where the server cut it off). */
export interface RestResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** True when the connection closed before the body ended. */
  truncated: boolean;
  /** Status 0: why no response came (connection refused, reset, ...). */
  error?: Error;
}

/** Sends one REST request over HTTP/1.1 (node:http or node:https) or HTTP/2 (node:http2). */
export function restRequest(
  target: Target,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string; httpVersion?: "1.1" | "2" } = {},
): Promise<RestResponse> {
  if (options.httpVersion === "2") {
    return restRequestHttp2(target, method, path, options);
  }
  const url = new URL(path, target.url);
  const secure = url.protocol === "https:";
  return new Promise((resolve) => {
    const request = (secure ? https : http).request(
      url,
      {
        method,
        headers: options.headers,
        ca: target.ca,
        agent: false,
      },
      (res) => {
        const parts: Buffer[] = [];
        let truncated = false;
        res.on("data", (part: Buffer) => parts.push(part));
        res.on("aborted", () => {
          truncated = true;
        });
        res.on("error", () => {
          truncated = true;
        });
        res.on("close", () => {
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
            truncated: truncated || !res.complete,
          });
        });
      },
    );
    // A connection refused, reset or closed before any response: status 0.
    request.on("error", (error) => {
      resolve({ status: 0, headers: {}, body: Buffer.alloc(0), truncated: true, error });
    });
    request.end(options.body);
  });
}

function restRequestHttp2(
  target: Target,
  method: string,
  path: string,
  options: { headers?: Record<string, string>; body?: string },
): Promise<RestResponse> {
  return new Promise((resolve) => {
    const session = http2.connect(target.url, { ca: target.ca });
    session.on("error", (error) => {
      resolve({ status: 0, headers: {}, body: Buffer.alloc(0), truncated: true, error });
    });
    const stream = session.request({ ":method": method, ":path": path, ...options.headers });
    const parts: Buffer[] = [];
    let status = 0;
    let headers: http.IncomingHttpHeaders = {};
    stream.on("response", (responseHeaders) => {
      status = Number(responseHeaders[":status"]);
      headers = responseHeaders as http.IncomingHttpHeaders;
    });
    stream.on("data", (part: Buffer) => parts.push(part));
    let truncated = false;
    stream.on("error", () => {
      truncated = true;
    });
    stream.on("close", () => {
      truncated ||= stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR;
      session.close();
      resolve({ status, headers, body: Buffer.concat(parts), truncated });
    });
    stream.end(options.body);
  });
}

/** The Connect code each HTTP status of the REST routes stands for. */
const codeFromStatus: Record<number, Code> = {
  400: Code.InvalidArgument,
  401: Code.Unauthenticated,
  403: Code.PermissionDenied,
  404: Code.NotFound,
  429: Code.ResourceExhausted,
  499: Code.Canceled,
  501: Code.Unimplemented,
  503: Code.Unavailable,
  504: Code.DeadlineExceeded,
};

function restOutcome(response: RestResponse): Outcome {
  const retryAfter = response.headers["retry-after"];
  const common = {
    httpStatus: response.status,
    retryAfter: typeof retryAfter === "string" ? retryAfter : undefined,
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
  return { ...common, code: codeFromStatus[response.status] ?? Code.Unknown, message };
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

/** The HTTP status REST answers with for each code the checks expect. */
export const restStatusOf: Partial<Record<Code, number>> = {
  [Code.InvalidArgument]: 400,
  [Code.Unauthenticated]: 401,
  [Code.PermissionDenied]: 403,
  [Code.NotFound]: 404,
  [Code.ResourceExhausted]: 429,
  [Code.Unavailable]: 503,
};

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

/** A temporary folder, removed by the returned cleanup. */
export async function makeTempDir(): Promise<{ path: string; remove(): Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), "modelmora-production-"));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/** A self-signed certificate for localhost and 127.0.0.1, made with openssl. */
export async function makeCertificate(
  dir: string,
): Promise<{ certPath: string; keyPath: string; cert: string }> {
  const certPath = join(dir, "cert.pem");
  const keyPath = join(dir, "key.pem");
  const result = await run("openssl", [
    "req",
    "-x509",
    "-newkey",
    "rsa:2048",
    "-nodes",
    "-keyout",
    keyPath,
    "-out",
    certPath,
    "-subj",
    "/CN=localhost",
    "-days",
    "1",
    "-addext",
    "subjectAltName=DNS:localhost,IP:127.0.0.1",
  ]);
  assert.equal(result.code, 0, `openssl failed: ${result.stderr}`);
  return { certPath, keyPath, cert: await readFile(certPath, "utf8") };
}

/** One JSON log line of the server. */
export type LogLine = Record<string, unknown> & { level: string; msg: string };

/** The CLI running as a subprocess. */
export interface CliServer extends Target {
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The JSON log lines written to stderr so far (other lines are skipped). */
  logLines(): LogLine[];
  /** Resolves when the process exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Sends a signal (default SIGTERM) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** The environment of a CLI subprocess: this one's, without any MODELMORA_* setting. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("MODELMORA_") && name !== "PORT" && name !== "HOST") {
      env[name] = value;
    }
  }
  return { ...env, ...extra };
}

/** The command line of the CLI, as the tests run it. */
export const cliCommand = ["--import", "tsx", "src/cli.ts"];

/**
 * Starts `node --import tsx src/cli.ts --port 0 ARGS` and waits for its
 * "modelmora listening on URL (...)" line. Rejects with its stderr when it
 * exits first.
 */
export async function startCli(
  args: readonly string[],
  options: { env?: Record<string, string>; ca?: string } = {},
): Promise<CliServer> {
  const child = spawn(process.execPath, [...cliCommand, "--port", "0", ...args], {
    cwd: repoRoot,
    env: cliEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (data: string) => {
    stderr += data;
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (data: string) => {
      stdout += data;
      const match = /modelmora listening on (\S+) \(/.exec(stdout);
      if (match !== null) resolve(match[1] as string);
    });
    void exited.then(({ code, signal }) =>
      reject(new Error(`the CLI exited (${code ?? signal}) before listening: ${stderr}`)),
    );
  });
  return {
    url,
    ca: options.ca,
    child,
    stderr: () => stderr,
    logLines: () => parseLogLines(stderr),
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
      return exited;
    },
  };
}

/** The JSON lines of a log; other lines (plain diagnostics) are skipped. */
export function parseLogLines(text: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    lines.push(JSON.parse(line) as LogLine);
  }
  return lines;
}

/** Runs the CLI to its end with the given flags and environment (for flags it rejects). */
export function runCli(args: readonly string[], env: Record<string, string> = {}) {
  return run(process.execPath, [...cliCommand, ...args], { env: cliEnv(env) });
}

/** One sample of a Prometheus text exposition. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses the samples of a Prometheus text exposition (comments skipped). */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    assert.ok(match, `not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

/** The sum of the samples of one metric whose labels include `labels`. */
export function sumOf(
  samples: readonly Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return samples
    .filter(
      (sample) =>
        sample.name === name &&
        Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((sum, sample) => sum + sample.value, 0);
}

/** Waits until the process has exited or fails the test. */
export async function waitForExit(server: CliServer): Promise<{
  code: number | null;
  signal: NodeJS.Signals | null;
}> {
  let result: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  void server.exited.then((value) => {
    result = value;
  });
  await waitFor(() => result !== undefined, "the CLI to exit", 30_000);
  return result as { code: number | null; signal: NodeJS.Signals | null };
}
