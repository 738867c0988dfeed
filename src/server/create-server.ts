import { Code, ConnectError, createConnectRouter } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { InferenceService } from "../gen/modelmora/inference_pb.js";
import { createImageGenerator, loadRenderer, type RendererName } from "../imaging/index.js";
import { ServerError } from "./errors.js";
import { defaultInferenceLimits, type InferenceLimits } from "./inference-core.js";
import { createInferenceService } from "./inference-service.js";
import { createListener, type TlsOptions } from "./listener.js";
import { type AnyRequest, type AnyResponse, createRestRoutes, sendError } from "./rest-route.js";

/** Receives diagnostics. The server itself never writes to the console. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/** Options for createServer. Every field has a default. */
export interface ServerOptions {
  /** Size of the chunks images are cut into, in bytes. Default 1,000,000. */
  chunkBytes?: number;
  /** Largest accepted batch_size. Default 32. */
  maxBatchSize?: number;
  /** Budget of the generated-image cache in bytes; 0 turns it off. Default 64 MiB. */
  cacheBytes?: number;
  /** Canvas implementation: "auto" (default) prefers node-canvas. */
  renderer?: RendererName | "auto";
  /**
   * Largest accepted request body in bytes, for every protocol. A larger one
   * is rejected with INVALID_ARGUMENT (REST 400). Default 64 KiB.
   */
  maxRequestBytes?: number;
  /** Serve HTTPS with ALPN (h2, http/1.1) instead of cleartext. */
  tls?: TlsOptions;
  /** Where diagnostics go. Default: nowhere. */
  logger?: Logger;
}

/** A ModelMora server, built but not yet listening. */
export interface ModelMoraServer {
  /** The Canvas implementation in use: "canvas" or "@napi-rs/canvas". */
  readonly rendererName: RendererName;
  /** Starts listening. Resolves with the URL clients should use. */
  listen(port?: number, host?: string): Promise<{ url: string; port: number; host: string }>;
  /** Stops: new calls are refused, calls in flight get up to graceMs (default 5 s). */
  close(graceMs?: number): Promise<void>;
  /** Open connections. */
  readonly connectionCount: number;
}

const noopLogger: Logger = { info() {}, warn() {}, error() {} };

/** Creates a server. It does not listen until listen() is called. */
export function createServer(options: ServerOptions = {}): ModelMoraServer {
  const logger = options.logger ?? noopLogger;
  const limits: InferenceLimits = {
    chunkBytes: options.chunkBytes ?? defaultInferenceLimits.chunkBytes,
    maxBatchSize: options.maxBatchSize ?? defaultInferenceLimits.maxBatchSize,
    maxPromptBytes: defaultInferenceLimits.maxPromptBytes,
  };
  const maxRequestBytes = options.maxRequestBytes ?? 64 * 1024;

  let renderer: ReturnType<typeof loadRenderer>;
  try {
    renderer = loadRenderer({ prefer: options.renderer ?? "auto" });
  } catch (err) {
    throw new ServerError("renderer", (err as Error).message, { cause: err });
  }
  const generator = createImageGenerator({ renderer, cacheBytes: options.cacheBytes });
  const service = createInferenceService({ generator, limits });
  let serving = true;

  const restRoutes = createRestRoutes({
    generator,
    limits,
    service,
    maxRequestBytes,
    health: () => ({
      status: serving ? "SERVING" : "NOT_SERVING",
      renderer: renderer.name,
      cache: generator.cacheStats(),
      process: processStats(),
    }),
  });

  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    // The body limit is enforced below, with INVALID_ARGUMENT; this one only
    // bounds what a compressed request may inflate to.
    readMaxBytes: 4 * 1024 * 1024,
  });
  router.rpc(InferenceService.method.streamInference, service.streamInference, {
    // PNG is compressed already: gzip would spend a core to save nothing and
    // cut throughput about 4× (connect-node clients offer gzip by default).
    // Messages smaller than compressMinBytes are sent as they are, so this
    // turns response compression off for this method alone.
    compressMinBytes: Number.MAX_SAFE_INTEGER,
  });
  router.rpc(InferenceService.method.listModels, service.listModels);
  const rpcHandlers = new Map(router.handlers.map((h) => [h.requestPath, h]));

  function handleRequest(req: AnyRequest, res: AnyResponse): void {
    const path = (req.url ?? "/").split("?", 1)[0] as string;
    if (restRoutes(req, res, path)) {
      return;
    }
    const rpc = rpcHandlers.get(path);
    if (rpc === undefined) {
      sendError(res, 404, new ConnectError(`no route for ${path}`, Code.NotFound));
      return;
    }
    let uReq: UniversalServerRequest;
    try {
      uReq = limitRequestBody(
        universalRequestFromNodeRequest(req, res, undefined, undefined),
        maxRequestBytes,
      );
    } catch (err) {
      sendError(res, 400, ConnectError.from(err, Code.InvalidArgument));
      return;
    }
    rpc(uReq)
      .then((uRes) => universalResponseToNodeResponse(uRes, res))
      .catch((reason: unknown) => {
        const error = ConnectError.from(reason);
        if (error.code !== Code.Aborted && error.code !== Code.Canceled) {
          logger.error("rpc failed", { method: rpc.method.name, error: error.message });
        }
      });
  }

  const listener = createListener(handleRequest, { tls: options.tls });

  return {
    rendererName: renderer.name,
    async listen(port = 8080, host = "127.0.0.1") {
      let address: Awaited<ReturnType<typeof listener.listen>>;
      try {
        address = await listener.listen(port, host);
      } catch (err) {
        throw listenError(err, port, host);
      }
      const scheme = options.tls ? "https" : "http";
      const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
      return {
        url: `${scheme}://${shownHost}:${address.port}`,
        port: address.port,
        host: address.address,
      };
    },
    async close(graceMs = 5000) {
      serving = false;
      await listener.close(graceMs);
    },
    get connectionCount() {
      return listener.connectionCount;
    },
  };
}

/**
 * Bounds the raw request body at maxBytes, failing with INVALID_ARGUMENT.
 * Connect's own readMaxBytes answers RESOURCE_EXHAUSTED, and checks the
 * Content-Length header before reading; the header is dropped here so the
 * one limit and the one error apply to every protocol.
 */
function limitRequestBody(req: UniversalServerRequest, maxBytes: number): UniversalServerRequest {
  const declared = Number(req.header.get("content-length") ?? Number.NaN);
  req.header.delete("content-length");
  const body = req.body;
  if (!isAsyncIterable(body)) {
    return req;
  }
  async function* limited(): AsyncIterable<Uint8Array> {
    if (declared > maxBytes) {
      throw bodyTooLarge(declared, maxBytes);
    }
    let total = 0;
    for await (const chunk of body as AsyncIterable<Uint8Array>) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        throw bodyTooLarge(total, maxBytes);
      }
      yield chunk;
    }
  }
  return { ...req, body: limited() };
}

function bodyTooLarge(bytes: number, maxBytes: number): ConnectError {
  return new ConnectError(
    `request body is ${bytes} bytes or more; the limit is ${maxBytes}`,
    Code.InvalidArgument,
  );
}

/**
 * The server process's CPU time and memory, so a benchmark on another
 * machine can report the server's cost next to its throughput.
 */
function processStats() {
  const usage = process.resourceUsage();
  return {
    cpu_user_us: usage.userCPUTime,
    cpu_system_us: usage.systemCPUTime,
    rss_bytes: process.memoryUsage.rss(),
    // maxRSS is in kilobytes.
    max_rss_bytes: usage.maxRSS * 1024,
  };
}

function isAsyncIterable(value: unknown): value is AsyncIterable<Uint8Array> {
  return typeof value === "object" && value !== null && Symbol.asyncIterator in value;
}

function listenError(err: unknown, port: number, host: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") {
    return new ServerError(
      "port_in_use",
      `port ${port} on ${host} is already in use; pick another with --port or PORT (0 picks a free one)`,
      { cause: err },
    );
  }
  if (code === "EACCES") {
    return new ServerError(
      "permission_denied_port",
      `no permission to listen on port ${port}; ports below 1024 need privileges, pick another with --port or PORT`,
      { cause: err },
    );
  }
  return err as Error;
}
