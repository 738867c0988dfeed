import { setMaxListeners } from "node:events";
import { createAuthenticator } from "../auth/index.js";
import { ModelMoraError } from "../errors.js";
import {
  createImageGenerator,
  type ImageGenerator,
  loadRenderer,
  type RendererName,
} from "../imaging/index.js";
import {
  createLimiter,
  createMemoryBudget,
  type MemoryBudget,
  unlimited,
} from "../limits/index.js";
import {
  codeLabelFromCode,
  createMetrics,
  createServerLogger,
  type Metrics,
  type ServerLogger,
} from "../observability/index.js";
import { createCors, createStaticFiles, withCors } from "../web/index.js";
import { type CallRegistry, createCallRegistry } from "./call.js";
import { type Access, type CallGuard, createCallGuard } from "./call-guard.js";
import { createDispatcher, type Route } from "./dispatch.js";
import { createHealthState, type HealthState, withReadiness } from "./health-service.js";
import type { ImageStreamOptions } from "./image-stream.js";
import { defaultInferenceLimits, type InferenceLimits } from "./inference-request.js";
import { createInferenceService } from "./inference-service.js";
import { createListener, type Listener } from "./listener.js";
import type { BodyLimits } from "./request-body.js";
import { createRestRoutes } from "./rest-routes.js";
import { createRpcRoutes } from "./rpc-routes.js";
import {
  type ResolvedServerOptions,
  resolveServerOptions,
  type ServerOptions,
} from "./server-options.js";
import { shutDown } from "./shutdown.js";

/** Receives diagnostics: the part of a ServerLogger the server uses outside calls. */
export type Logger = Pick<ServerLogger, "info" | "warn" | "error">;

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
   * UNAVAILABLE (REST 503), connections that carry no call close, calls in
   * flight get graceMs (default 5 s) to finish, and those left are ended
   * with UNAVAILABLE "server is shutting down" in their protocol's way.
   * Resolves once every connection is closed and every call reported.
   */
  close(graceMs?: number): Promise<void>;
  /** Open connections. */
  readonly connectionCount: number;
  /** Calls in flight. */
  readonly activeCallCount: number;
}

/** Creates a server. It does not listen until listen() is called. */
export function createServer(options: ServerOptions = {}): ModelMoraServer {
  const config = resolveServerOptions(options);
  const logger = options.logger ?? createServerLogger({ level: "silent" });
  const metrics = options.metrics ?? createMetrics();
  const { renderer, generator, budget } = createImaging(config, metrics);
  const health = createHealthState();
  // What health checks report: this server's own state, and readiness.
  const reported =
    options.readiness === undefined ? health : withReadiness(health, options.readiness);
  // Aborted when the grace period is over; every call listens to it.
  const shutdown = new AbortController();
  setMaxListeners(0, shutdown.signal);
  const calls = createReportedCalls(metrics, logger);
  const guard = createCallGuard({
    authenticator: createAuthenticator(options.auth ?? {}),
    limiter: createLimiter({
      defaults: { ...unlimited, ...options.keyLimits },
      maxServerStreams: config.maxServerStreams,
      now: options.now,
      store: options.limitStore,
    }),
    budget,
    streamReserveBytes: config.writeAheadBytes + config.chunkBytes,
    hasRenderRoom: () => generator.hasRenderRoom(),
    isDraining: () => !health.serving,
  });
  const parts: ServerParts = { config, generator, budget, health: reported, calls, guard, metrics };
  const listener = createListener(
    withCors(
      createCors({ origins: config.corsOrigins }),
      createDispatcher({
        routes: createRoutes(parts, shutdown.signal),
        calls,
        guard,
        body: bodyLimitsOf(config),
        limits: inferenceLimitsOf(config),
        // A spliced chunk is appended after compression would have run, so the
        // two exclude each other.
        zeroCopy: config.zeroCopyChunks && !config.compressStreams,
        isDraining: () => !health.serving,
        onStreamReset: (req) => listener.streamReset(req),
        onBodyTimeout: () => metrics.connectionClosed("body_timeout"),
      }),
    ),
    { ...config, onClose: (reason) => metrics.connectionClosed(reason) },
  );
  metrics.watchRenders(() => generator.renderStats());
  metrics.watchConnections(() => listener.connectionCount);
  metrics.watchMemory(() => ({ limit: budget.limitBytes, ...budget.usage() }));

  let closing: Promise<void> | undefined;
  return {
    rendererName: renderer.name,
    metrics,
    listen: (port = 8080, host = "127.0.0.1") => listenOn(listener, port, host, options.tls),
    close(graceMs = 5000) {
      closing ??= shutDown({ health, listener, calls, cut: shutdown, logger }, graceMs);
      return closing;
    },
    get connectionCount() {
      return listener.connectionCount;
    },
    get activeCallCount() {
      return calls.size;
    },
  };
}

/** The parts of a server its routes are built from. */
interface ServerParts {
  readonly config: ResolvedServerOptions;
  readonly generator: ImageGenerator;
  readonly budget: MemoryBudget;
  readonly health: HealthState;
  readonly calls: CallRegistry;
  readonly guard: CallGuard;
  readonly metrics: Metrics;
}

/** The renderer, the image generator and the memory budget the cache counts in. */
function createImaging(config: ResolvedServerOptions, metrics: Metrics) {
  const renderer = loadRendererOrFail(config.renderer);
  const generator = createImageGenerator({
    renderer,
    cacheBytes: config.cacheBytes,
    maxConcurrentRenders: config.maxConcurrentRenders,
    maxQueuedRenders: config.maxQueuedRenders,
    onImage(image) {
      metrics.imageGenerated(
        { model: image.modelId, renderer: renderer.name, cached: image.cached },
        image.renderMs / 1000,
      );
    },
  });
  try {
    const budget = createMemoryBudget({
      limitBytes: config.memoryBudgetBytes,
      cacheBytes: config.cacheBytes,
      cacheSize: () => generator.cacheStats().bytes,
    });
    return { renderer, generator, budget };
  } catch (err) {
    throw new ModelMoraError("config", (err as Error).message, { cause: err });
  }
}

/** Every route: InferenceService and Health over RPC, the REST routes, and the browser page's. */
function createRoutes(parts: ServerParts, shutdownSignal: AbortSignal): Route[] {
  const { config, generator, budget, health, calls, guard, metrics } = parts;
  const limits = inferenceLimitsOf(config);
  const images: ImageStreamOptions = {
    generator,
    budget,
    chunkBytes: config.chunkBytes,
    memoryWaitMs: config.memoryWaitMs,
  };
  const service = createInferenceService({ ...images, limits });
  const healthAccess: Access = config.publicHealth ? "public" : "monitoring";
  return [
    ...createRpcRoutes({
      service,
      health,
      healthAccess,
      shutdownSignal,
      compressStreams: config.compressStreams,
      writer: { aheadBytes: config.writeAheadBytes, stallTimeoutMs: config.streamIdleTimeoutMs },
    }),
    ...createRestRoutes({
      service,
      guard,
      limits,
      body: bodyLimitsOf(config),
      images,
      shutdownSignal,
      stallTimeoutMs: config.streamIdleTimeoutMs,
      access: { health: healthAccess, metrics: config.publicMetrics ? "public" : "monitoring" },
      health: () => ({
        serving: health.serving,
        body: {
          status: health.serving ? "SERVING" : "NOT_SERVING",
          renderer: generator.rendererName,
          cache: generator.cacheStats(),
          active_calls: calls.size,
          process: processStats(),
        },
      }),
      metrics: () => metrics.render(),
    }),
    ...(config.webPage ? createStaticFiles().routes : []),
  ];
}

function inferenceLimitsOf(config: ResolvedServerOptions): InferenceLimits {
  return {
    chunkBytes: config.chunkBytes,
    maxBatchSize: config.maxBatchSize,
    maxPromptBytes: defaultInferenceLimits.maxPromptBytes,
  };
}

function bodyLimitsOf(config: ResolvedServerOptions): BodyLimits {
  return { maxBytes: config.maxRequestBytes, timeoutMs: config.bodyTimeoutMs };
}

/** Listens, and says where: the URL clients should use. */
async function listenOn(
  listener: Listener,
  port: number,
  host: string,
  tls: unknown,
): Promise<{ url: string; port: number; host: string }> {
  let address: Awaited<ReturnType<Listener["listen"]>>;
  try {
    address = await listener.listen(port, host);
  } catch (err) {
    throw listenError(err, port, host);
  }
  const scheme = tls ? "https" : "http";
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `${scheme}://${shownHost}:${address.port}`,
    port: address.port,
    host: address.address,
  };
}

/** The registry of calls in flight, each reported once to the metrics and the log as it ends. */
function createReportedCalls(metrics: Metrics, logger: ServerLogger): CallRegistry {
  return createCallRegistry({
    onStart: (call) => metrics.callStarted(call.info),
    onEnd(call, outcome) {
      const summary = {
        ...call.info,
        code: codeLabelFromCode(outcome.error?.code),
        bytesSent: call.bytesSent,
        durationMs: performance.now() - call.startedMs,
        firstChunkMs:
          call.firstChunkMs === undefined ? undefined : call.firstChunkMs - call.startedMs,
        keyId: call.keyId,
        requestId: call.requestId,
        error: outcome.error?.rawMessage,
        endedBy: outcome.endedBy,
      };
      metrics.callFinished(summary);
      logger.call(summary);
    },
  });
}

function loadRendererOrFail(prefer: RendererName | "auto") {
  try {
    return loadRenderer({ prefer });
  } catch (err) {
    throw new ModelMoraError("renderer", (err as Error).message, { cause: err });
  }
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

function listenError(err: unknown, port: number, host: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === "EADDRINUSE") {
    return new ModelMoraError(
      "port_in_use",
      `port ${port} on ${host} is already in use; pick another with --port or PORT (0 picks a free one)`,
      { cause: err },
    );
  }
  if (code === "EACCES") {
    return new ModelMoraError(
      "port_permission",
      `no permission to listen on port ${port}; ports below 1024 need privileges, pick another with --port or PORT`,
      { cause: err },
    );
  }
  return err as Error;
}
