import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { InferenceRequestSchema, ListModelsResponseSchema } from "../gen/modelmora/inference_pb.js";
import { type GeneratedImage, generateBatch, type ImageGenerator } from "../imaging/index.js";
import { retryAfterSeconds, type StreamTicket } from "../limits/index.js";
import type { Access, CallGuard } from "./call-guard.js";
import type { CallRecord } from "./call-record.js";
import { codeName, httpStatusFromCode } from "./errors.js";
import {
  bodyTooLarge,
  chunksOf,
  type InferenceLimits,
  validateInferenceRequest,
} from "./inference-core.js";
import type { InferenceServiceImpl } from "./inference-service.js";

/** A request or response of either HTTP version. */
export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** What the REST routes need from the server. */
export interface RestRoutesOptions {
  generator: ImageGenerator;
  limits: InferenceLimits;
  service: InferenceServiceImpl;
  /** Largest accepted request body, in bytes. */
  maxRequestBytes: number;
  /** The body of GET /healthz, and whether the server is ready (200) or not (503). */
  health(): { serving: boolean; body: Record<string, unknown> };
  /** The Prometheus exposition for GET /metrics. */
  metrics(): Promise<{ contentType: string; body: string }>;
  /** Credentials, scopes and limits, as for RPCs. */
  guard: CallGuard;
  /** What each route needs; see Access. */
  access: { health: Access; metrics: Access };
  /** Aborted when the server gives up on calls in flight at shutdown. */
  shutdownSignal: AbortSignal;
}

/**
 * Handles the REST routes. Returns false for a path that is not one of
 * them, so the caller can try the RPC routes.
 *
 * - POST /infer/stream: JSON InferenceRequest in (proto or JSON field names),
 *   the images out as a chunked body: the PNG itself for batch_size 1,
 *   multipart/mixed with one image/png part per image otherwise.
 * - GET /healthz: {"status":"SERVING", ...}.
 * - GET /health: {"status":"healthy"}, the proof of concept's FastAPI health
 *   route, which its client probes before it tries REST.
 * - GET /v1/models: ListModelsResponse as proto JSON.
 */
export type RestRoutes = (
  req: AnyRequest,
  res: AnyResponse,
  path: string,
  call: CallRecord,
) => boolean;

/** The REST routes and the methods each accepts. */
export const restRouteMethods: Readonly<Record<string, readonly string[]>> = {
  "/infer/stream": ["POST"],
  "/healthz": ["GET", "HEAD"],
  "/health": ["GET", "HEAD"],
  "/v1/models": ["GET", "HEAD"],
  "/metrics": ["GET", "HEAD"],
};

/** Creates the REST routes. */
export function createRestRoutes(options: RestRoutesOptions): RestRoutes {
  return function restRoutes(req, res, path, call) {
    const methods = restRouteMethods[path];
    if (methods === undefined) {
      return false;
    }
    const method = req.method ?? "GET";
    if (!methods.includes(method)) {
      res.setHeader("allow", methods.join(", "));
      call.error = new ConnectError(
        `${path} accepts ${methods.join(" or ")}, not ${method}`,
        Code.Unimplemented,
      );
      sendError(res, 405, call.error);
      return true;
    }
    const fail = (err: unknown) => {
      const error = ConnectError.from(err);
      call.error = error;
      if (!res.headersSent) {
        sendError(res, httpStatusFromCode[error.code], error);
      } else {
        // Mid-stream there is no status left to send: cut the body off so
        // the client sees a truncated response, not a short one.
        res.destroy();
      }
    };
    const access: Access =
      path === "/healthz" || path === "/health"
        ? options.access.health
        : path === "/metrics"
          ? options.access.metrics
          : path === "/v1/models"
            ? "models"
            : "inference";
    const handled = options.guard
      .admit(headersOf(req), access, path === "/infer/stream", call)
      .then(async ({ ticket }) => {
        try {
          switch (path) {
            case "/healthz": {
              const health = options.health();
              sendJson(res, health.serving ? 200 : 503, health.body);
              break;
            }
            case "/health": {
              const { serving } = options.health();
              sendJson(res, serving ? 200 : 503, { status: serving ? "healthy" : "unhealthy" });
              break;
            }
            case "/metrics": {
              const metrics = await options.metrics();
              res.setHeader("content-type", metrics.contentType);
              res.writeHead(200);
              res.end(metrics.body);
              break;
            }
            case "/v1/models":
              sendJson(
                res,
                200,
                toJson(ListModelsResponseSchema, await options.service.listModels()),
              );
              break;
            default:
              await streamImages(options, req, res, call, ticket);
          }
          call.ok = true;
        } finally {
          ticket?.release();
        }
      });
    handled.catch(fail);
    return true;
  };
}

async function streamImages(
  options: RestRoutesOptions,
  req: AnyRequest,
  res: AnyResponse,
  call: CallRecord,
  ticket: StreamTicket | undefined,
): Promise<void> {
  const body = await readBody(req, options.maxRequestBytes);
  const request = parseInferenceRequest(body);
  const model = validateInferenceRequest(request, options.limits);

  const abort = new AbortController();
  const onClose = () => abort.abort(new ConnectError("client closed the response", Code.Canceled));
  const onShutdown = () => abort.abort(options.shutdownSignal.reason);
  res.once("close", onClose);
  options.shutdownSignal.addEventListener("abort", onShutdown);
  try {
    const requestId = randomUUID();
    call.requestId = requestId;
    const images = generateBatch(
      options.generator,
      model,
      request.prompt,
      request.batchSize,
      abort.signal,
    );
    const boundary = `modelmora-${requestId}`;
    let first = true;
    for await (const image of images) {
      if (first) {
        first = false;
        res.setHeader("x-request-id", requestId);
        if (request.batchSize === 1) {
          setImageHeaders(res, image);
          res.setHeader("content-type", "image/png");
        } else {
          res.setHeader("content-type", `multipart/mixed; boundary=${boundary}`);
        }
        res.writeHead(200);
      }
      if (request.batchSize > 1) {
        await write(res, partHeader(boundary, image), call);
      }
      for (const chunk of chunksOf(image, options.limits.chunkBytes)) {
        ticket?.addBytes(chunk.data.byteLength);
        abort.signal.throwIfAborted();
        await write(res, chunk.data, call);
      }
      if (request.batchSize > 1) {
        await write(res, "\r\n", call);
      }
    }
    if (request.batchSize > 1) {
      await write(res, `--${boundary}--\r\n`, call);
    }
    res.end();
  } finally {
    res.off("close", onClose);
    options.shutdownSignal.removeEventListener("abort", onShutdown);
  }
}

function parseInferenceRequest(body: Buffer) {
  let json: JsonValue;
  try {
    json = JSON.parse(body.toString("utf8")) as JsonValue;
  } catch (err) {
    throw new ConnectError(
      `request body is not valid JSON: ${(err as Error).message}`,
      Code.InvalidArgument,
    );
  }
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ConnectError(
      'request body must be a JSON object such as {"model_id":"noise-1000","prompt":"a cat","batch_size":1}',
      Code.InvalidArgument,
    );
  }
  try {
    // fromJson accepts both the proto names (batch_size) and the JSON names
    // (batchSize), and rejects unknown fields and wrong types by name.
    return fromJson(InferenceRequestSchema, json);
  } catch (err) {
    throw new ConnectError(
      `request body is not an InferenceRequest: ${(err as Error).message}`,
      Code.InvalidArgument,
    );
  }
}

/** Reads the whole body, failing with InvalidArgument past maxBytes. */
export async function readBody(req: AnyRequest, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > maxBytes) {
    throw bodyTooLarge(declared, maxBytes);
  }
  const parts: Buffer[] = [];
  let length = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    length += part.byteLength;
    if (length > maxBytes) {
      throw bodyTooLarge(length, maxBytes);
    }
    parts.push(part);
  }
  return Buffer.concat(parts, length);
}

function setImageHeaders(res: AnyResponse, image: GeneratedImage): void {
  res.setHeader("x-image-index", String(image.index));
  res.setHeader("x-image-bytes", String(image.png.byteLength));
  res.setHeader("x-image-sha256", image.sha256);
  res.setHeader("x-image-width", String(image.widthPx));
  res.setHeader("x-image-height", String(image.heightPx));
}

function partHeader(boundary: string, image: GeneratedImage): string {
  return (
    `--${boundary}\r\n` +
    "content-type: image/png\r\n" +
    `content-length: ${image.png.byteLength}\r\n` +
    `x-image-index: ${image.index}\r\n` +
    `x-image-sha256: ${image.sha256}\r\n` +
    `x-image-width: ${image.widthPx}\r\n` +
    `x-image-height: ${image.heightPx}\r\n\r\n`
  );
}

/** Writes and waits while the socket's buffer is full: backpressure. */
function write(res: AnyResponse, data: Uint8Array | string, call: CallRecord): Promise<void> {
  call.firstChunkMs ??= performance.now();
  call.bytesSent += typeof data === "string" ? Buffer.byteLength(data) : data.byteLength;
  if ((res as ServerResponse).write(data)) {
    return Promise.resolve();
  }
  // A response the client already closed takes the write and returns false,
  // but 'drain' and 'close' will never come again: fail now, or the stream
  // (and its per-key stream slot) would wait forever.
  if (res.destroyed) {
    return Promise.reject(new ConnectError("client closed the response", Code.Canceled));
  }
  return new Promise<void>((resolve, reject) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", closed);
      resolve();
    };
    const closed = () => {
      res.off("drain", done);
      reject(new ConnectError("client closed the response", Code.Canceled));
    };
    res.on("drain", done);
    res.on("close", closed);
  });
}

/** Sends a JSON body with the given status. */
export function sendJson(res: AnyResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.setHeader("content-type", "application/json");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.writeHead(status);
  res.end(text);
}

/**
 * Sends an error as JSON in the Connect error shape: {code, message}, with
 * Retry-After when the error says when to retry.
 */
export function sendError(res: AnyResponse, status: number, error: ConnectError): void {
  const retryAfter = retryAfterSeconds(error);
  if (retryAfter !== undefined) {
    res.setHeader("retry-after", String(retryAfter));
  }
  sendJson(res, status, { code: codeName(error.code), message: error.rawMessage });
}

/** The request headers as a Fetch Headers object, as the guard reads them. */
function headersOf(req: AnyRequest): Headers {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(":") || value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(", ") : value);
  }
  return headers;
}
