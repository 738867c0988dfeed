import { availableParallelism } from "node:os";
import type { AuthOptions } from "../auth/index.js";
import { defaultCacheBytes, type RendererName } from "../imaging/index.js";
import type { KeyLimits, LimitStore } from "../limits/index.js";
import type { Metrics, ServerLogger } from "../observability/index.js";
import type { TlsOptions } from "./listener.js";

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
   * Largest accepted request body in bytes, for every protocol, after any
   * decompression too. A larger one is rejected with INVALID_ARGUMENT (REST
   * 400). Default 64 KiB.
   */
  maxRequestBytes?: number;
  /** Serve HTTPS with ALPN (h2, http/1.1) instead of cleartext. */
  tls?: TlsOptions;
  /**
   * API keys and/or JWT verification. Without it every call is anonymous
   * and allowed (limits still apply, to the one key "anonymous").
   */
  auth?: AuthOptions;
  /** Whether health (GET /healthz, GET /health, grpc.health.v1) needs no credentials. Default true. */
  publicHealth?: boolean;
  /** Whether GET /metrics needs no credentials. Default true. */
  publicMetrics?: boolean;
  /** Limits of each key (and of anonymous callers); a key's own override them. Default: none. */
  keyLimits?: Partial<KeyLimits>;
  /** Concurrent image streams across all keys; 0 = unlimited. Default 0. */
  maxServerStreams?: number;
  /**
   * The memory image streams may hold, in bytes: the image cache (counted
   * at cacheBytes), the images being sent and drawn ahead (each distinct
   * image once), and each stream's write-ahead (writeAheadBytes +
   * chunkBytes). New streams that don't fit are refused with
   * RESOURCE_EXHAUSTED (REST 429, retry-after 1); a stream waits up to
   * memoryWaitMs for room for its next image. Default 512 MiB, or
   * cacheBytes + 256 MiB when that is more.
   */
  memoryBudgetBytes?: number;
  /** How long a stream waits for room in the memory budget for its next image, ms. Default 10,000. */
  memoryWaitMs?: number;
  /**
   * Images drawn and encoded at once across the server: its render slots.
   * Encoding runs on libuv's thread pool, so more than the cores only adds
   * memory. Default: os.availableParallelism(). A cluster worker gets its
   * share of the cores instead.
   */
  maxConcurrentRenders?: number;
  /** Renders that may wait for a render slot across the server; past it new streams are refused. Default 64. */
  maxQueuedRenders?: number;
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
   * Connections the server keeps open at once; more are closed as they
   * arrive, so a flood of idle connections can't take every file
   * descriptor. Default 10,000.
   */
  maxConnections?: number;
  /** SETTINGS_MAX_CONCURRENT_STREAMS of every HTTP/2 connection; more are refused. Default 100. */
  maxConcurrentStreams?: number;
  /** Largest request header block, bytes: HTTP/1.1's limit and HTTP/2's SETTINGS_MAX_HEADER_LIST_SIZE. Default 16 KiB. */
  maxHeaderBytes?: number;
  /**
   * Streams a client may reset on one HTTP/2 connection within 10 s after
   * they reached a handler (the server's real cost, unlike frames nghttp2
   * counts); past it the connection gets GOAWAY ENHANCE_YOUR_CALM and is
   * closed. Default 100.
   */
  maxResetStreams?: number;
  /** A new cleartext connection must send its first bytes (enough to tell HTTP/1 from HTTP/2) within this, ms. Default 10,000. */
  firstByteTimeoutMs?: number;
  /** A TLS handshake must end within this, ms. Default 10,000. */
  tlsHandshakeTimeoutMs?: number;
  /** HTTP/1.1: a request's headers must arrive within this of its first byte; HTTP/2: a connection's first stream within this of its start, ms. Default 10,000. */
  headersTimeoutMs?: number;
  /** A request body must end within this of its headers, ms (DEADLINE_EXCEEDED, REST 408). Default 30,000. */
  bodyTimeoutMs?: number;
  /** An HTTP/1.1 connection idle between requests is closed after this, ms. Default 5,000, Node's. */
  keepAliveTimeoutMs?: number;
  /**
   * An HTTP/2 connection with no open stream is closed after this, ms; one
   * with streams whose socket was silent this long is sent a PING and closed
   * when the PING is not answered within pingTimeoutMs. Default 60,000.
   */
  idleTimeoutMs?: number;
  /** How long a PING may go unanswered, ms. Default 10,000. */
  pingTimeoutMs?: number;
  /** A response stream the client has not read from for this long is ended (DEADLINE_EXCEEDED), ms. Default 300,000. */
  streamIdleTimeoutMs?: number;
  /**
   * Gzip or Brotli StreamInference responses when the client offers it.
   * Default false: PNG is compressed already, so this spends a core to
   * save nothing and cut throughput about 4× (measured; bench/README.md).
   * Small answers (ListModels, health) are compressed either way.
   */
  compressStreams?: boolean;
  /**
   * Send image chunks of binary protocols without copying them through
   * protobuf serialization (see ZeroCopyPayloads in call.ts). Default true;
   * false serializes every message with protobuf-es, as JSON always is.
   */
  zeroCopyChunks?: boolean;
  /**
   * The clock of rate limits and daily quotas, in milliseconds since the
   * epoch. Default Date.now; tests pass a fake one to move time on.
   */
  now?: () => number;
  /**
   * Origins whose browser pages may call the server (CORS), such as
   * "https://app.example.com", or "*" for any. Default none. See createCors
   * in src/web.
   */
  corsOrigins?: readonly string[];
  /** Serve the browser page at / (built by npm run build:web). Default true. */
  webPage?: boolean;
  /** Where logs go. Default: nowhere (a silent logger). */
  logger?: ServerLogger;
  /** Where metrics go. Default: a registry of this server's own. */
  metrics?: Metrics;
  /**
   * Where rate limits, quotas and stream counts are kept. Default: in this
   * process's memory. A Redis store (createRedisLimitStore) shares them
   * between instances, the cluster's store between workers. The caller
   * owns it: close() leaves it open.
   */
  limitStore?: LimitStore;
  /**
   * Another condition of health: while it is not serving, GET /healthz and
   * grpc.health.v1.Health answer NOT_SERVING, though this server still
   * takes calls. A cluster worker passes "every worker serves". Default:
   * none.
   */
  readiness?: Readiness;
}

/** A condition health depends on (ServerOptions.readiness), and who wants to hear when it changes. */
export interface Readiness {
  readonly serving: boolean;
  /** Calls listener on every change until the returned function is called. */
  subscribe(listener: (serving: boolean) => void): () => void;
}

/** Every option with its default applied, as the server runs. */
export type ResolvedServerOptions = Required<
  Omit<
    ServerOptions,
    | "tls"
    | "auth"
    | "now"
    | "logger"
    | "metrics"
    | "keyLimits"
    | "renderer"
    | "limitStore"
    | "readiness"
  >
> &
  Pick<
    ServerOptions,
    "tls" | "auth" | "now" | "logger" | "metrics" | "keyLimits" | "limitStore" | "readiness"
  > & {
    renderer: RendererName | "auto";
  };

/** The default of every option that has one. */
export const serverDefaults = {
  chunkBytes: 1_000_000,
  maxBatchSize: 32,
  cacheBytes: defaultCacheBytes,
  maxRequestBytes: 64 * 1024,
  publicHealth: true,
  publicMetrics: true,
  maxServerStreams: 0,
  memoryBudgetBytes: 512 * 1024 * 1024,
  memoryWaitMs: 10_000,
  maxConcurrentRenders: availableParallelism(),
  maxQueuedRenders: 64,
  writeAheadBytes: 2 * 1024 * 1024,
  windowBytes: 16 * 1024 * 1024,
  maxConnections: 10_000,
  maxConcurrentStreams: 100,
  maxHeaderBytes: 16 * 1024,
  maxResetStreams: 100,
  firstByteTimeoutMs: 10_000,
  tlsHandshakeTimeoutMs: 10_000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 30_000,
  keepAliveTimeoutMs: 5_000,
  idleTimeoutMs: 60_000,
  pingTimeoutMs: 10_000,
  streamIdleTimeoutMs: 300_000,
  compressStreams: false,
  zeroCopyChunks: true,
  renderer: "auto",
  corsOrigins: [],
  webPage: true,
} as const satisfies Partial<ResolvedServerOptions>;

/** Applies the defaults. */
export function resolveServerOptions(options: ServerOptions): ResolvedServerOptions {
  const resolved: Record<string, unknown> = { ...serverDefaults };
  for (const [name, value] of Object.entries(options)) {
    if (value !== undefined) resolved[name] = value;
  }
  const config = resolved as ResolvedServerOptions;
  if (options.memoryBudgetBytes === undefined) {
    // A cache as large as the default budget still leaves streams room.
    config.memoryBudgetBytes = Math.max(
      config.memoryBudgetBytes,
      config.cacheBytes + 256 * 1024 * 1024,
    );
  }
  return config;
}
