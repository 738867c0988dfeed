/**
 * Hand-made HTTP requests, for the bytes no well-behaved client sends:
 * malformed bodies, wrong methods, unknown paths, and a look at each message
 * envelope's compressed flag.
 */
import http from "node:http";
import http2 from "node:http2";
import { gunzipSync } from "node:zlib";
import { codeLabels } from "../src/observability/index.js";
import { parseEnvelopes } from "./helpers.js";

/** A request to send as it is. */
export interface RawRequest {
  httpVersion: "1.1" | "2";
  method: string;
  /** Path and query, for example "/healthz". */
  path: string;
  headers?: Record<string, string>;
  body?: Uint8Array | string;
}

/** The whole response, trailers included. */
export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  trailers: Record<string, string>;
  body: Buffer;
}

/** Sends one request on a connection of its own, and closes it. */
export function rawRequest(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  return request.httpVersion === "2" ? rawHttp2(baseUrl, request) : rawHttp1(baseUrl, request);
}

function rawHttp1(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  const url = new URL(request.path, baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(url, {
      method: request.method,
      headers: request.headers,
      agent: false,
    });
    req.on("error", (err) => {
      req.destroy();
      reject(err);
    });
    req.on("response", (res) => {
      const parts: Buffer[] = [];
      res.on("data", (part: Buffer) => parts.push(part));
      res.on("error", reject);
      res.on("end", () => {
        resolve({
          status: res.statusCode ?? 0,
          headers: flatten(res.headers),
          trailers: flatten(res.trailers),
          body: Buffer.concat(parts),
        });
        res.socket?.destroy();
      });
    });
    req.end(request.body);
  });
}

function rawHttp2(baseUrl: string, request: RawRequest): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(baseUrl);
    session.on("error", reject);
    const stream = session.request(
      { ":method": request.method, ":path": request.path, ...request.headers },
      // Node ends GET, HEAD and DELETE streams at once unless told otherwise.
      { endStream: request.body === undefined },
    );
    let headers: Record<string, string> = {};
    let trailers: Record<string, string> = {};
    const parts: Buffer[] = [];
    stream.on("response", (h) => {
      headers = flatten(h);
    });
    stream.on("trailers", (t) => {
      trailers = flatten(t);
    });
    stream.on("data", (part: Buffer) => parts.push(part));
    stream.on("error", (err) => {
      session.destroy();
      reject(err);
    });
    stream.on("end", () => {
      // Not close(): after an early answer to an oversized body the request
      // side may still be waiting for flow-control window that never comes.
      session.destroy();
      resolve({
        status: Number(headers[":status"]),
        headers,
        trailers,
        body: Buffer.concat(parts),
      });
    });
    if (request.body !== undefined) {
      stream.end(request.body);
    }
  });
}

function flatten(
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
