import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { InferenceRequestSchema, ListModelsResponseSchema } from "../gen/modelmora/inference_pb.js";
import { type GeneratedImage, generateBatch, type ImageGenerator } from "../imaging/index.js";
import { codeName, httpStatusFromCode } from "./errors.js";
import { chunksOf, type InferenceLimits, validateInferenceRequest } from "./inference-core.js";
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
  /** The body of GET /healthz. */
  health(): Record<string, unknown>;
}

/**
 * Handles the REST routes. Returns false for a path that is not one of
 * them, so the caller can try the RPC routes.
 *
 * - POST /infer/stream: JSON InferenceRequest in (proto or JSON field names),
 *   the images out as a chunked body: the PNG itself for batch_size 1,
 *   multipart/mixed with one image/png part per image otherwise.
 * - GET /healthz: {"status":"SERVING", ...}.
 * - GET /v1/models: ListModelsResponse as proto JSON.
 */
export type RestRoutes = (req: AnyRequest, res: AnyResponse, path: string) => boolean;

const routeMethods: Record<string, string[]> = {
  "/infer/stream": ["POST"],
  "/healthz": ["GET", "HEAD"],
  "/v1/models": ["GET", "HEAD"],
};

/** Creates the REST routes. */
export function createRestRoutes(options: RestRoutesOptions): RestRoutes {
  return function restRoutes(req, res, path) {
    const methods = routeMethods[path];
    if (methods === undefined) {
      return false;
    }
    const method = req.method ?? "GET";
    if (!methods.includes(method)) {
      res.setHeader("allow", methods.join(", "));
      sendError(
        res,
        405,
        new ConnectError(
          `${path} accepts ${methods.join(" or ")}, not ${method}`,
          Code.Unimplemented,
        ),
      );
      return true;
    }
    switch (path) {
      case "/healthz":
        sendJson(res, 200, options.health());
        break;
      case "/v1/models":
        options.service.listModels().then(
          (models) => sendJson(res, 200, toJson(ListModelsResponseSchema, models)),
          (err: unknown) => sendError(res, 500, ConnectError.from(err)),
        );
        break;
      default:
        streamImages(options, req, res).catch((err: unknown) => {
          const error = ConnectError.from(err);
          if (!res.headersSent) {
            sendError(res, httpStatusFromCode[error.code], error);
          } else {
            // Mid-stream there is no status left to send: cut the body off
            // so the client sees a truncated response, not a short one.
            res.destroy();
          }
        });
    }
    return true;
  };
}

async function streamImages(
  options: RestRoutesOptions,
  req: AnyRequest,
  res: AnyResponse,
): Promise<void> {
  const body = await readBody(req, options.maxRequestBytes);
  const request = parseInferenceRequest(body);
  const model = validateInferenceRequest(request, options.limits);

  const abort = new AbortController();
  const onClose = () => abort.abort();
  res.once("close", onClose);
  try {
    const requestId = randomUUID();
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
        await write(res, partHeader(boundary, image));
      }
      for (const chunk of chunksOf(image, options.limits.chunkBytes)) {
        await write(res, chunk.data);
      }
      if (request.batchSize > 1) {
        await write(res, "\r\n");
      }
    }
    if (request.batchSize > 1) {
      await write(res, `--${boundary}--\r\n`);
    }
    res.end();
  } finally {
    res.off("close", onClose);
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
    throw tooLarge(maxBytes, declared);
  }
  const parts: Buffer[] = [];
  let length = 0;
  for await (const part of req as AsyncIterable<Buffer>) {
    length += part.byteLength;
    if (length > maxBytes) {
      throw tooLarge(maxBytes, length);
    }
    parts.push(part);
  }
  return Buffer.concat(parts, length);
}

function tooLarge(maxBytes: number, bytes: number): ConnectError {
  return new ConnectError(
    `request body is ${bytes} bytes or more; the limit is ${maxBytes}`,
    Code.InvalidArgument,
  );
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
function write(res: AnyResponse, data: Uint8Array | string): Promise<void> {
  if ((res as ServerResponse).write(data)) {
    return Promise.resolve();
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

/** Sends an error as JSON in the Connect error shape: {code, message}. */
export function sendError(res: AnyResponse, status: number, error: ConnectError): void {
  sendJson(res, status, { code: codeName(error.code), message: error.rawMessage });
}
