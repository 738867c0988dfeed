/**
 * Every flag of `npm run serve`: its environment variable, default, bounds
 * and help text. settings.ts reads them; options.ts turns them into
 * ServerOptions.
 */
import { type ServerOptions, serverDefaults } from "../server/index.js";

/** One command-line flag. */
export interface FlagSpec {
  /** Its environment variable. */
  readonly env: string;
  readonly help: string;
  /** int: a whole number of at least `min` (default 0); bool: true or false. */
  readonly kind: "int" | "string" | "path" | "bool";
  /** Its default, as text; none when it has no default. */
  readonly fallback?: string;
  /** The smallest value of an int flag. Default 0. */
  readonly min?: number;
  /** The ServerOptions field an int flag sets as it is. */
  readonly option?: keyof ServerOptions;
  /** Repeatable: the flag's values are joined with commas, as its variable lists them. */
  readonly multiple?: boolean;
}

/** An int flag that sets a ServerOptions field, defaulting to the server's default. */
function numeric(
  option: keyof typeof serverDefaults & keyof ServerOptions,
  env: string,
  help: string,
  min = 1,
): FlagSpec {
  return { env, help, kind: "int", fallback: String(serverDefaults[option]), min, option };
}

/** Every flag, its environment variable, default and meaning. The README's table mirrors it. */
export const flags: Readonly<Record<string, FlagSpec>> = {
  port: { env: "PORT", kind: "int", fallback: "8080", help: "TCP port; 0 picks a free one" },
  host: {
    env: "HOST",
    kind: "string",
    fallback: "127.0.0.1",
    help: "address to bind; 0.0.0.0 or :: for every interface",
  },
  "chunk-bytes": numeric(
    "chunkBytes",
    "MODELMORA_CHUNK_BYTES",
    "size of the chunks images are streamed in",
  ),
  "max-batch-size": numeric(
    "maxBatchSize",
    "MODELMORA_MAX_BATCH_SIZE",
    "largest accepted batch_size",
  ),
  "cache-bytes": numeric(
    "cacheBytes",
    "MODELMORA_CACHE_BYTES",
    "generated-image cache budget; 0 turns it off",
    0,
  ),
  "max-request-bytes": numeric(
    "maxRequestBytes",
    "MODELMORA_MAX_REQUEST_BYTES",
    "largest accepted request body, after decompression too",
  ),
  renderer: {
    env: "MODELMORA_RENDERER",
    kind: "string",
    fallback: "auto",
    help: "auto, canvas (node-canvas) or @napi-rs/canvas",
  },
  "tls-cert": {
    env: "MODELMORA_TLS_CERT",
    kind: "path",
    help: "PEM certificate file; with --tls-key serves HTTPS (h2 + http/1.1 by ALPN)",
  },
  "tls-key": { env: "MODELMORA_TLS_KEY", kind: "path", help: "PEM private key file" },
  "api-keys-file": {
    env: "MODELMORA_API_KEYS_FILE",
    kind: "path",
    help: "JSON file of API keys (turns auth on); MODELMORA_API_KEYS=id:key[:scope+scope],… gives them inline",
  },
  "jwt-secret-file": {
    env: "MODELMORA_JWT_SECRET_FILE",
    kind: "path",
    help: "file holding the HS256 secret for JWT bearer tokens (≥ 32 bytes; turns auth on)",
  },
  "jwks-file": {
    env: "MODELMORA_JWKS_FILE",
    kind: "path",
    help: "JWKS JSON file of public keys for RS256/ES256/EdDSA tokens (turns auth on)",
  },
  "jwt-issuer": { env: "MODELMORA_JWT_ISSUER", kind: "string", help: "required iss claim of JWTs" },
  "jwt-audience": {
    env: "MODELMORA_JWT_AUDIENCE",
    kind: "string",
    help: "required aud claim of JWTs",
  },
  "public-health": {
    env: "MODELMORA_PUBLIC_HEALTH",
    kind: "bool",
    fallback: "true",
    help: "health (GET /healthz, GET /health, grpc.health.v1) needs no credentials",
  },
  "public-metrics": {
    env: "MODELMORA_PUBLIC_METRICS",
    kind: "bool",
    fallback: "true",
    help: "GET /metrics needs no credentials",
  },
  "rate-limit-rps": {
    env: "MODELMORA_RATE_LIMIT_RPS",
    kind: "int",
    fallback: "0",
    help: "calls per second per key; 0 = unlimited",
  },
  "rate-limit-burst": {
    env: "MODELMORA_RATE_LIMIT_BURST",
    kind: "int",
    fallback: "0",
    help: "calls a key may make at once before the rate applies; 0 = the rate",
  },
  "quota-bytes-per-day": {
    env: "MODELMORA_QUOTA_BYTES_PER_DAY",
    kind: "int",
    fallback: "0",
    help: "image bytes per key per UTC day; 0 = unlimited",
  },
  "max-streams-per-key": {
    env: "MODELMORA_MAX_STREAMS_PER_KEY",
    kind: "int",
    fallback: "0",
    help: "concurrent image streams per key; 0 = unlimited",
  },
  "max-streams": numeric(
    "maxServerStreams",
    "MODELMORA_MAX_STREAMS",
    "concurrent image streams across all keys; 0 = unlimited",
    0,
  ),
  "memory-budget-bytes": numeric(
    "memoryBudgetBytes",
    "MODELMORA_MEMORY_BUDGET_BYTES",
    "memory image streams may hold: cache + images held + write-ahead buffers",
  ),
  "max-queued-renders": numeric(
    "maxQueuedRenders",
    "MODELMORA_MAX_QUEUED_RENDERS",
    "renders that may wait for a render slot; past it new streams are refused",
  ),
  "max-connections": numeric(
    "maxConnections",
    "MODELMORA_MAX_CONNECTIONS",
    "connections kept open at once; more are closed as they arrive",
  ),
  "max-concurrent-streams": numeric(
    "maxConcurrentStreams",
    "MODELMORA_MAX_CONCURRENT_STREAMS",
    "HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per connection",
  ),
  "max-header-bytes": numeric(
    "maxHeaderBytes",
    "MODELMORA_MAX_HEADER_BYTES",
    "largest request header block (HTTP/1.1 and HTTP/2)",
  ),
  "max-reset-streams": numeric(
    "maxResetStreams",
    "MODELMORA_MAX_RESET_STREAMS",
    "HTTP/2 streams a client may reset per connection per 10 s after they reached a handler",
  ),
  "first-byte-timeout-ms": numeric(
    "firstByteTimeoutMs",
    "MODELMORA_FIRST_BYTE_TIMEOUT_MS",
    "a new cleartext connection must send its first bytes within this",
  ),
  "tls-handshake-timeout-ms": numeric(
    "tlsHandshakeTimeoutMs",
    "MODELMORA_TLS_HANDSHAKE_TIMEOUT_MS",
    "a TLS handshake must end within this",
  ),
  "headers-timeout-ms": numeric(
    "headersTimeoutMs",
    "MODELMORA_HEADERS_TIMEOUT_MS",
    "request headers (HTTP/2: a connection's first stream) must arrive within this",
  ),
  "body-timeout-ms": numeric(
    "bodyTimeoutMs",
    "MODELMORA_BODY_TIMEOUT_MS",
    "a request body must end within this of its headers",
  ),
  "keep-alive-timeout-ms": numeric(
    "keepAliveTimeoutMs",
    "MODELMORA_KEEP_ALIVE_TIMEOUT_MS",
    "an idle HTTP/1.1 keep-alive connection is closed after this",
  ),
  "idle-timeout-ms": numeric(
    "idleTimeoutMs",
    "MODELMORA_IDLE_TIMEOUT_MS",
    "an HTTP/2 connection without streams is closed after this; with streams, a silent one is PINGed",
  ),
  "stream-idle-timeout-ms": numeric(
    "streamIdleTimeoutMs",
    "MODELMORA_STREAM_IDLE_TIMEOUT_MS",
    "a response stream the client does not read from for this long is ended",
  ),
  "log-level": {
    env: "MODELMORA_LOG_LEVEL",
    kind: "string",
    fallback: "info",
    help: "trace, debug, info, warn, error, fatal or silent",
  },
  "grace-ms": {
    env: "MODELMORA_GRACE_MS",
    kind: "int",
    fallback: "5000",
    help: "on SIGINT/SIGTERM, how long calls in flight may finish",
  },
  "cors-origin": {
    env: "MODELMORA_CORS_ORIGINS",
    kind: "string",
    multiple: true,
    help: "origin whose browser pages may call the server (https://app.example.com, or * for any); repeat the flag or separate with commas",
  },
  "web-page": {
    env: "MODELMORA_WEB_PAGE",
    kind: "bool",
    fallback: "true",
    help: "serve the browser page at /",
  },
  // Scale-out: workers and limits shared in Redis (docs/production.md, deploy/README.md).
  workers: {
    env: "MODELMORA_WORKERS",
    kind: "string",
    fallback: "1",
    help: "worker processes sharing the port; auto = one per core",
  },
  "redis-url": {
    env: "MODELMORA_REDIS_URL",
    kind: "string",
    help: "redis:// or rediss:// URL: rate limits, quotas and stream counts shared by every instance",
  },
  "redis-timeout-ms": {
    env: "MODELMORA_REDIS_TIMEOUT_MS",
    kind: "int",
    fallback: "500",
    min: 1,
    help: "how long a Redis command may take before limits fail open",
  },
  "stream-lease-ms": {
    env: "MODELMORA_STREAM_LEASE_MS",
    kind: "int",
    fallback: "30000",
    min: 100,
    help: "with Redis: how long the streams of an instance that died still count",
  },
};
