import http2 from "node:http2";
import {
  Code,
  ConnectError,
  createConnectRouter,
  createContextValues,
  type Interceptor,
} from "@connectrpc/connect";
import type { UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import {
  compressionBrotli,
  compressionGzip,
  universalRequestFromNodeRequest,
} from "@connectrpc/connect-node";
import { type AuthOptions, createAuthenticator } from "../auth/index.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import { InferenceService } from "../gen/modelmora/inference_pb.js";
import { createImageGenerator, loadRenderer, type RendererName } from "../imaging/index.js";
import { createLimiter, type KeyLimits, unlimited } from "../limits/index.js";
import {
  type CallSummary,
  codeLabelFromCode,
  createMetrics,
  createServerLogger,
  type Metrics,
  type ServerLogger,
} from "../observability/index.js";
import { createCors, createStaticFiles } from "../web/index.js";
import {
  type Access,
  callRecordKey,
  createCallGuard,
  createGuardInterceptor,
} from "./call-guard.js";
import {
  type CallRecord,
  errorFromResponse,
  httpVersionOf,
  isBinaryContentType,
  protocolOf,
} from "./call-record.js";
import { ServerError } from "./errors.js";
import { createHealthService, createHealthState } from "./health-service.js";
import { bodyTooLarge, defaultInferenceLimits, type InferenceLimits } from "./inference-core.js";
import { createInferenceService } from "./inference-service.js";
import { createListener, type TlsOptions } from "./listener.js";
import { writeUniversalResponse } from "./response-writer.js";
import { type AnyRequest, type AnyResponse, createRestRoutes, sendError } from "./rest-route.js";

/** Receives diagnostics: the part of a ServerLogger the server uses outside calls. */
export type Logger = Pick<ServerLogger, "info" | "warn" | "error">;

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
  /**
   * API keys and/or JWT verification. Without it every call is anonymous
   * and allowed (limits still apply, to the one key "anonymous").
   */
  auth?: AuthOptions;
  /** Whether health (GET /healthz, grpc.health.v1) needs no credentials. Default true. */
  publicHealth?: boolean;
  /** Whether GET /metrics needs no credentials. Default true. */
  publicMetrics?: boolean;
  /** Limits of each key (and of anonymous callers); a key's own override them. Default: none. */
  keyLimits?: Partial<KeyLimits>;
  /** Concurrent image streams across all keys; 0 = unlimited. Default 0. */
  maxServerStreams?: number;
  /**
   * Bytes of one response the server queues ahead of what the socket has
   * taken, before it waits. Default 2 MiB: two 1 MB chunks, enough to keep
   * the socket busy while the next message is encoded.
   */
  writeAheadBytes?: number;
  /**
   * HTTP/2 flow-control window the server offers per stream and per
   * connection, in bytes. Default 16 MiB. (Downloads are paced by the
   * client's window; see the client settings in the README.)
   */
  windowBytes?: number;
  /**
   * Gzip or Brotli StreamInference responses when the client offers it.
   * Default false: PNG is compressed already, so this spends a core to
   * save nothing and cut throughput about 4× (measured; bench/README.md).
   * Small answers (ListModels, health) are compressed either way.
   */
  compressStreams?: boolean;
  /**
   * Send image chunks of binary protocols without copying them through
   * protobuf serialization (see splicedPayload in call-record.ts). Default
   * true; false serializes every message with protobuf-es, as JSON always is.
   */
  zeroCopyChunks?: boolean;
  /**
   * The clock of rate limits and daily quotas, in milliseconds since the
   * epoch. Default Date.now; tests pass a fake one to move time on.
   */
  now?: () => number;
  /**
   * Origins whose browser pages may call the server (CORS), such as
   * "https://app.example.com", or "*" for any. Default none. See createCors.
   */
  corsOrigins?: readonly string[];
  /** Serve the browser page at / (built by npm run build:web). Default true. */
  webPage?: boolean;
  /** Where logs go. Default: nowhere (a silent logger). */
  logger?: ServerLogger;
  /** Where metrics go. Default: a registry of this server's own. */
  metrics?: Metrics;
}

/** A ModelMora server, built but not yet listening. */
export interface ModelMoraServer {
  /** The Canvas implementation in use: "canvas" or "@napi-rs/canvas". */
  readonly rendererName: RendererName;
  /** This server's metrics. */
  readonly metrics: Metrics;
  /** Starts listening. Resolves with the URL clients should use. */
  listen(port?: number, host?: string): Promise<{ url: string; port: number; host: string }>;
  /**
   * Shuts down: health turns NOT_SERVING, new calls are refused with
   * UNAVAILABLE (REST 503), calls in flight get graceMs (default 5 s) to
   * finish, and those left are ended with UNAVAILABLE "server is shutting
   * down". Resolves once every connection is closed.
   */
  close(graceMs?: number): Promise<void>;
  /** Open connections. */
  readonly connectionCount: number;
  /** Calls in flight. */
  readonly activeCallCount: number;
}

/** How long calls cancelled at shutdown get to send their status. */
const cancelFlushMs = 250;

/** Creates a server. It does not listen until listen() is called. */
export function createServer(options: ServerOptions = {}): ModelMoraServer {
  const logger = options.logger ?? createServerLogger({ level: "silent" });
  const metrics = options.metrics ?? createMetrics();
  const limits: InferenceLimits = {
    chunkBytes: options.chunkBytes ?? defaultInferenceLimits.chunkBytes,
    maxBatchSize: options.maxBatchSize ?? defaultInferenceLimits.maxBatchSize,
    maxPromptBytes: defaultInferenceLimits.maxPromptBytes,
  };
  const maxRequestBytes = options.maxRequestBytes ?? 64 * 1024;
  const writeAheadBytes = options.writeAheadBytes ?? 2 * 1024 * 1024;
  const windowBytes = options.windowBytes ?? 16 * 1024 * 1024;
  const zeroCopyChunks = options.zeroCopyChunks ?? true;
  // A spliced chunk is appended after compression would have run, so the
  // two exclude each other.
  const compressStreams = options.compressStreams ?? false;

  let renderer: ReturnType<typeof loadRenderer>;
  try {
    renderer = loadRenderer({ prefer: options.renderer ?? "auto" });
  } catch (err) {
    throw new ServerError("renderer", (err as Error).message, { cause: err });
  }
  const generator = createImageGenerator({
    renderer,
    cacheBytes: options.cacheBytes,
    onImage(image) {
      metrics.imageGenerated(
        { model: image.modelId, renderer: renderer.name, cached: image.cached },
        image.renderMs / 1000,
      );
    },
  });
  metrics.watchRenders(() => generator.renderStats());
  const service = createInferenceService({ generator, limits });
  const health = createHealthState();
  const shutdown = new AbortController();
  const activeCalls = new Set<CallRecord>();

  const authenticator = createAuthenticator(options.auth ?? {});
  const guard = createCallGuard({
    authenticator,
    limiter: createLimiter({
      defaults: { ...unlimited, ...options.keyLimits },
      maxServerStreams: options.maxServerStreams ?? 0,
      now: options.now,
    }),
    isDraining: () => !health.serving,
  });
  const healthAccess: Access = (options.publicHealth ?? true) ? "public" : "monitoring";
  const metricsAccess: Access = (options.publicMetrics ?? true) ? "public" : "monitoring";

  const restRoutes = createRestRoutes({
    generator,
    limits,
    service,
    maxRequestBytes,
    guard,
    access: { health: healthAccess, metrics: metricsAccess },
    shutdownSignal: shutdown.signal,
    health: () => ({
      serving: health.serving,
      body: {
        status: health.serving ? "SERVING" : "NOT_SERVING",
        renderer: renderer.name,
        cache: generator.cacheStats(),
        active_calls: activeCalls.size,
        process: processStats(),
      },
    }),
    metrics: () => metrics.render(),
  });

  const router = createConnectRouter({
    acceptCompression: [compressionGzip, compressionBrotli],
    // The body limit is enforced below, with INVALID_ARGUMENT; this one only
    // bounds what a compressed request may inflate to.
    readMaxBytes: 4 * 1024 * 1024,
    // connect-es ignores unknown JSON fields by default; the REST route and
    // the proto3 JSON spec's default reject them, so a misspelt field (say
    // "batchsize") is an INVALID_ARGUMENT that names it, not a silent default.
    jsonOptions: { ignoreUnknownFields: false },
    shutdownSignal: shutdown.signal,
    interceptors: [
      parseErrorsAsInvalidArgument,
      createGuardInterceptor(
        guard,
        new Map<string, Access>([
          ["modelmora.InferenceService/StreamInference", "inference"],
          ["modelmora.InferenceService/ListModels", "models"],
          ["grpc.health.v1.Health/Check", healthAccess],
          ["grpc.health.v1.Health/Watch", healthAccess],
        ]),
        new Set(["modelmora.InferenceService/StreamInference"]),
      ),
    ],
  });
  router.rpc(
    InferenceService.method.streamInference,
    service.streamInference,
    options.compressStreams
      ? {}
      : {
          // PNG is compressed already: gzip would spend a core to save
          // nothing and cut throughput about 4× (connect-node clients offer
          // gzip by default). Messages smaller than compressMinBytes are sent
          // as they are, so this turns response compression off for this
          // method alone.
          compressMinBytes: Number.MAX_SAFE_INTEGER,
        },
  );
  router.rpc(InferenceService.method.listModels, service.listModels);
  router.service(Health, createHealthService(health));
  const rpcHandlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  const cors = createCors({ origins: options.corsOrigins });
  const page = (options.webPage ?? true) ? createStaticFiles() : undefined;

  function handleRequest(req: AnyRequest, res: AnyResponse): void {
    const path = (req.url ?? "/").split("?", 1)[0] as string;
    cors.apply(req, res);
    if (cors.preflight(req, res)) return;
    const rpc = rpcHandlers.get(path);
    const call: CallRecord = {
      protocol: protocolOf(req, rpc !== undefined),
      httpVersion: httpVersionOf(req),
      method:
        rpc !== undefined
          ? path.slice(1)
          : (page?.label(req.method, path) ?? `${req.method ?? "GET"} ${path}`),
      streaming: rpc !== undefined ? rpc.method.methodKind !== "unary" : path === "/infer/stream",
      startedMs: performance.now(),
      bytesSent: 0,
      splice:
        zeroCopyChunks &&
        !compressStreams &&
        rpc?.method === InferenceService.method.streamInference &&
        isBinaryContentType(String(req.headers["content-type"] ?? ""))
          ? []
          : undefined,
    };
    activeCalls.add(call);
    metrics.callStarted({ ...call, method: methodLabel(call) });
    res.once("close", () => {
      // Plain bodies (errors, JSON, metrics) are written in one piece with a
      // Content-Length; count those too.
      if (call.bytesSent === 0) {
        call.bytesSent = Number(res.getHeader("content-length") ?? 0);
      }
      finishCall(call);
    });
    // A write after the client went away must not crash the process.
    res.on("error", () => {});
    discardAbandonedBody(req, res);

    if (rpc !== undefined && !rpc.allowedMethods.includes(req.method ?? "")) {
      // connect-es answers a wrong method with a bare 405; give the same
      // Allow header and JSON error as the REST routes.
      res.setHeader("allow", rpc.allowedMethods.join(", "));
      call.error = new ConnectError(
        `${path} accepts ${rpc.allowedMethods.join(" or ")}, not ${req.method}`,
        Code.Unimplemented,
      );
      sendError(res, 405, call.error);
    } else if (rpc !== undefined) {
      serveRpc(rpc, req, res, call);
    } else if (!restRoutes(req, res, path, call) && !page?.serve(req, res, path, call)) {
      call.error = new ConnectError(`no route for ${req.method} ${path}`, Code.NotFound);
      sendError(res, 404, call.error);
    }
  }

  function serveRpc(
    rpc: UniversalHandler,
    req: AnyRequest,
    res: AnyResponse,
    call: CallRecord,
  ): void {
    const contextValues = createContextValues().set(callRecordKey, call);
    const uReq = limitRequestBody(
      universalRequestFromNodeRequest(req, res, undefined, contextValues),
      maxRequestBytes,
    );
    let response: Parameters<typeof errorFromResponse> | undefined;
    rpc(uReq)
      .then(async (uRes) => {
        const last = await writeUniversalResponse(
          uRes,
          res,
          writeAheadBytes,
          (bytes) => {
            call.firstChunkMs ??= performance.now();
            call.bytesSent += bytes;
          },
          call.splice,
        );
        response = [uRes.status, uRes.header ?? new Headers(), uRes.trailer, last];
      })
      .catch((reason: unknown) => {
        call.error ??= ConnectError.from(reason);
      })
      .finally(() => {
        // The interceptor saw the outcome of calls that reached the
        // implementation; the others failed in the protocol layer, and only
        // the response says how.
        if (call.ok === undefined && call.error === undefined && response !== undefined) {
          call.error = errorFromResponse(...response);
          call.ok = call.error === undefined;
        }
      });
  }

  function finishCall(call: CallRecord): void {
    if (!activeCalls.delete(call)) return;
    // A call that ends with no outcome after shutdown gave up on calls had
    // its connection destroyed by the server, not by the client; on a busy
    // machine that can come before the call's own cancellation runs.
    const error =
      call.error ??
      (call.ok
        ? undefined
        : shutdown.signal.aborted
          ? ConnectError.from(shutdown.signal.reason)
          : new ConnectError("client went away before the response ended", Code.Canceled));
    const summary: CallSummary & { streaming: boolean } = {
      protocol: call.protocol,
      httpVersion: call.httpVersion,
      method: methodLabel(call),
      code: codeLabelFromCode(error?.code),
      bytesSent: call.bytesSent,
      durationMs: performance.now() - call.startedMs,
      firstChunkMs:
        call.firstChunkMs === undefined ? undefined : call.firstChunkMs - call.startedMs,
      keyId: call.keyId,
      requestId: call.requestId,
      error: error?.rawMessage,
      streaming: call.streaming,
    };
    metrics.callFinished(summary);
    logger.call(summary);
  }

  const listener = createListener(handleRequest, {
    tls: options.tls,
    http2Settings: { initialWindowSize: windowBytes },
    connectionWindowBytes: windowBytes,
  });

  return {
    rendererName: renderer.name,
    metrics,
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
      health.setServing(false);
      const deadline = Date.now() + graceMs;
      const stopped = listener.close(graceMs + cancelFlushMs);
      while (activeCalls.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      if (activeCalls.size > 0) {
        logger.warn("grace period over, cancelling calls in flight", { calls: activeCalls.size });
        shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
      }
      await stopped;
      // The listener resolves once its sockets are destroyed, but a call's
      // response emits "close" (which logs the call and counts it) a few
      // ticks later; on a busy machine the CLI used to exit first and lose
      // those lines. Every socket is gone, so this ends soon.
      const flushDeadline = Date.now() + cancelFlushMs;
      while (activeCalls.size > 0 && Date.now() < flushDeadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
    get connectionCount() {
      return listener.connectionCount;
    },
    get activeCallCount() {
      return activeCalls.size;
    },
  };
}

/**
 * Node pauses an HTTP/2 session's input while a stream's request body sits
 * unread. When a handler stops reading a body part way (one over
 * maxRequestBytes), the destroyed compat request keeps pausing the stream,
 * so the session never reads the client's next frames or its hang-up: the
 * response never finishes and the connection never closes. This discards
 * the rest of such a body and, once the response is sent, resets the stream
 * with NO_ERROR so the client stops sending (RFC 9113 §8.1). Node's HTTP/1
 * server discards unread bodies by itself.
 */
function discardAbandonedBody(req: AnyRequest, res: AnyResponse): void {
  if (!("stream" in req)) {
    return;
  }
  req.once("close", () => {
    if (req.complete) {
      return;
    }
    const stream = req.stream;
    // The compat layer's listener, which pushes into the destroyed request.
    stream.removeAllListeners("data");
    stream.resume();
    res.once("finish", () => stream.close(http2.constants.NGHTTP2_NO_ERROR));
  });
}

/**
 * connect-es reports a request that is not valid protobuf binary as
 * INTERNAL ("parse binary: ..."), though the fault is the client's. Streamed
 * requests are parsed as the implementation reads them, inside the
 * interceptors, so this turns that error into INVALID_ARGUMENT. (Unary
 * requests are parsed before interceptors run and keep connect-es's code.)
 */
const parseErrorsAsInvalidArgument: Interceptor = (next) =>
  async function invalidArgumentOnParseError(req) {
    if (!req.stream) {
      return next(req);
    }
    const messages = req.message;
    async function* parsed() {
      try {
        yield* messages;
      } catch (err) {
        const error = ConnectError.from(err);
        if (error.code === Code.Internal && error.rawMessage.startsWith("parse binary:")) {
          throw new ConnectError(error.rawMessage, Code.InvalidArgument, undefined, undefined, err);
        }
        throw err;
      }
    }
    return next({ ...req, message: parsed() });
  };

/** The method label of metrics and logs: RPC paths, or "METHOD /path" for known REST routes. */
function methodLabel(call: CallRecord): string {
  return call.method;
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
