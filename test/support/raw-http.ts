/**
 * Requests sent by hand, over HTTP/1.1 (node:http, node:https) or HTTP/2
 * (node:http2), for REST calls and for the bytes no well-behaved client
 * sends: malformed bodies, wrong methods, unknown paths. Also the message
 * envelope of gRPC and Connect, and reading each protocol's status.
 */
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import https from "node:https";
import { gunzipSync } from "node:zlib";
import { codeLabels } from "../../src/observability/index.js";
import type { ChunkLike } from "./images.js";

/** A server to call: its URL and, for HTTPS, the CA that signed its certificate. */
export interface Target {
  readonly url: string;
  readonly ca?: string;
}

/** A request to send as it is. */
export interface RawRequest {
  /** Default "1.1". */
  httpVersion?: "1.1" | "2";
  method: string;
  /** Path and query, for example "/healthz". */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

/** The whole response (trailers included), or why there was none. */
export interface RawResponse {
  /** 0 when no response came (connection refused, reset, ...). */
  status: number;
  /** Header names in lower case; repeated headers joined with ", ". */
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: Buffer;
  /** True when the connection or stream ended before the body did. */
  truncated: boolean;
  /** Status 0: why no response came. */
  error?: Error;
}

/**
 * Sends one request on a connection of its own and closes it. Never
 * rejects: a request that got no answer has status 0, one whose body was
 * cut off is truncated.
 */
export function httpRequest(target: Target | string, request: RawRequest): Promise<RawResponse> {
  const { url, ca } = typeof target === "string" ? { url: target, ca: undefined } : target;
  return request.httpVersion === "2"
    ? http2Request(url, ca, request)
    : http1Request(url, ca, request);
}

/**
 * httpRequest for tests that send odd bytes: rejects when no response came
 * or its body was cut off, so only whole answers reach the checks.
 */
export async function rawRequest(
  target: Target | string,
  request: RawRequest,
): Promise<RawResponse> {
  const response = await httpRequest(target, request);
  if (response.error !== undefined) {
    throw response.error;
  }
  if (response.truncated) {
    throw new Error(`the HTTP ${response.status} response to ${request.path} was cut off`);
  }
  return response;
}

function http1Request(
  baseUrl: string,
  ca: string | undefined,
  request: RawRequest,
): Promise<RawResponse> {
  const url = new URL(request.path, baseUrl);
  return new Promise((resolve) => {
    const req = (url.protocol === "https:" ? https : http).request(url, {
      method: request.method,
      headers: request.headers,
      ca,
      agent: false,
    });
    let answered = false;
    req.on("error", (error) => {
      req.destroy();
      // After the response began, its own close event reports the cut.
      if (!answered) resolve(noResponse(error));
    });
    req.on("response", (res) => {
      answered = true;
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
          headers: flatten(res.headers),
          trailers: flatten(res.trailers),
          body: Buffer.concat(parts),
          truncated: truncated || !res.complete,
        });
        res.socket?.destroy();
      });
    });
    req.end(request.body);
  });
}

function http2Request(
  baseUrl: string,
  ca: string | undefined,
  request: RawRequest,
): Promise<RawResponse> {
  return new Promise((resolve) => {
    const session = http2.connect(baseUrl, { ca });
    let status = 0;
    let headers: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    let truncated = false;
    const parts: Buffer[] = [];
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      // Not close(): after an early answer to an oversized body the request
      // side may still be waiting for flow-control window that never comes.
      session.destroy();
      resolve({ status, headers, trailers, body: Buffer.concat(parts), truncated });
    };
    session.on("error", (error) => {
      if (status === 0) {
        done = true;
        session.destroy();
        resolve(noResponse(error));
      } else {
        truncated = true;
        finish();
      }
    });
    const stream = session.request(
      { ":method": request.method, ":path": request.path, ...request.headers },
      // Node ends GET, HEAD and DELETE streams at once unless told otherwise.
      { endStream: request.body === undefined },
    );
    stream.on("response", (h) => {
      status = Number(h[":status"]);
      headers = flatten(h);
    });
    stream.on("trailers", (t) => {
      trailers = flatten(t);
    });
    stream.on("data", (part: Buffer) => parts.push(part));
    stream.on("error", () => {
      truncated = true;
    });
    stream.on("end", finish);
    stream.on("close", () => {
      truncated ||= stream.rstCode !== http2.constants.NGHTTP2_NO_ERROR;
      if (status === 0 && !done) {
        done = true;
        session.destroy();
        resolve(noResponse(new Error(`stream closed (code ${stream.rstCode}) before a response`)));
        return;
      }
      finish();
    });
    if (request.body !== undefined) {
      stream.end(request.body);
    }
  });
}

function noResponse(error: Error): RawResponse {
  return { status: 0, headers: {}, trailers: {}, body: Buffer.alloc(0), truncated: true, error };
}

/** Header names in lower case, values joined with ", ". */
export function flatten(
  headers: http.IncomingHttpHeaders | http2.IncomingHttpHeaders | NodeJS.Dict<string | string[]>,
): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) {
      flat[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : String(value);
    }
  }
  return flat;
}

/**
 * A Connect or gRPC message envelope: flags byte, big-endian uint32 length,
 * then the message.
 */
export function envelope(message: Uint8Array | string, flags = 0): Buffer {
  const body = typeof message === "string" ? Buffer.from(message, "utf8") : Buffer.from(message);
  const head = Buffer.alloc(5);
  head.writeUInt8(flags, 0);
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

/** Splits a body into envelopes; fails on a truncated one. */
export function parseEnvelopes(body: Buffer): { flags: number; data: Buffer }[] {
  const envelopes: { flags: number; data: Buffer }[] = [];
  let offset = 0;
  while (offset < body.length) {
    assert.ok(offset + 5 <= body.length, "truncated envelope header");
    const flags = body.readUInt8(offset);
    const length = body.readUInt32BE(offset + 1);
    assert.ok(offset + 5 + length <= body.length, "truncated envelope");
    envelopes.push({ flags, data: body.subarray(offset + 5, offset + 5 + length) });
    offset += 5 + length;
  }
  return envelopes;
}

/** An InferenceResponse in proto JSON, as Connect JSON sends it. */
interface InferenceResponseJson {
  requestId?: string;
  chunkIndex?: number;
  totalChunks?: number;
  data?: string;
  metadata?: Record<string, string>;
}

/** Turns proto JSON InferenceResponse messages (zero values omitted) into chunks. */
export function chunkFromJson(json: InferenceResponseJson): ChunkLike {
  return {
    requestId: json.requestId ?? "",
    chunkIndex: json.chunkIndex ?? 0,
    totalChunks: json.totalChunks ?? 0,
    data: Buffer.from(json.data ?? "", "base64"),
    metadata: json.metadata ?? {},
  };
}

/** A call's outcome in Connect terms, whatever protocol reported it. */
export interface WireStatus {
  /** Connect's code name, for example "invalid_argument"; "ok" for success. */
  code: string;
  message: string;
}

/** gRPC status numbers by Connect code name: a status's index in codeLabels. */
const grpcCodeNames: readonly string[] = codeLabels;

/** The status of a gRPC response: trailers, or headers for a trailers-only one. */
export function grpcStatus(res: RawResponse): WireStatus {
  const fields = res.trailers["grpc-status"] !== undefined ? res.trailers : res.headers;
  const status = fields["grpc-status"];
  if (status === undefined) {
    throw new Error(`no grpc-status in HTTP ${res.status} response`);
  }
  return {
    code: grpcCodeNames[Number(status)] ?? `grpc-status ${status}`,
    message: decodeURIComponent(fields["grpc-message"] ?? ""),
  };
}

/** The status of a gRPC-Web response: headers (trailers-only) or the trailer frame. */
export function grpcWebStatus(res: RawResponse): WireStatus {
  if (res.headers["grpc-status"] !== undefined) {
    return grpcStatus({ ...res, trailers: {} });
  }
  const trailer = parseEnvelopes(res.body).find(({ flags }) => (flags & 0x80) !== 0);
  if (trailer === undefined) {
    throw new Error(`no grpc-web trailer frame in HTTP ${res.status} response`);
  }
  const fields: Record<string, string> = {};
  for (const line of trailer.data.toString("utf8").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      fields[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return grpcStatus({ ...res, headers: fields, trailers: {} });
}

/** The status of a Connect streaming response: the end-of-stream message. */
export function connectStreamStatus(res: RawResponse): WireStatus {
  if (res.status !== 200) {
    return connectUnaryStatus(res);
  }
  const end = parseEnvelopes(res.body).find(({ flags }) => (flags & 0x02) !== 0);
  if (end === undefined) {
    throw new Error("no end-of-stream message in Connect streaming response");
  }
  const json = JSON.parse(
    ((end.flags & 0x01) !== 0 ? gunzipSync(end.data) : end.data).toString("utf8"),
  ) as { error?: { code: string; message?: string } };
  return json.error === undefined
    ? { code: "ok", message: "" }
    : { code: json.error.code, message: json.error.message ?? "" };
}

/** The status of a Connect unary response, or of a REST error: {code, message}. */
export function connectUnaryStatus(res: RawResponse): WireStatus {
  if (res.status === 200) {
    return { code: "ok", message: "" };
  }
  const json = JSON.parse(res.body.toString("utf8")) as { code: string; message?: string };
  return { code: json.code, message: json.message ?? "" };
}
