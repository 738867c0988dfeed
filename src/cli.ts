#!/usr/bin/env node
/**
 * `npm run serve`: starts the ModelMora server.
 *
 *   npm run serve -- --port 9000 --cache-bytes 0
 *
 * Every flag has an environment variable; a flag wins over its variable.
 * `npm run serve -- --help` lists them.
 */
// First: protobuf-es reads the base64 methods when it loads.
import "./base64-polyfill.js";
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import {
  type ApiKeyEntry,
  AuthConfigError,
  type AuthOptions,
  parseApiKeysEnv,
  parseApiKeysJson,
  parseJwks,
} from "./auth/index.js";
import { createServerLogger, type LogLevel, logLevelFromString } from "./observability/index.js";
import { createServer, ServerError, type ServerOptions } from "./server/index.js";

interface FlagSpec {
  env: string;
  help: string;
  kind: "int" | "string" | "path" | "bool";
  fallback?: string;
}

/** Every flag, its environment variable, default and meaning. README's table mirrors it. */
const flags: Record<string, FlagSpec> = {
  port: { env: "PORT", kind: "int", fallback: "8080", help: "TCP port; 0 picks a free one" },
  host: {
    env: "HOST",
    kind: "string",
    fallback: "127.0.0.1",
    help: "address to bind; 0.0.0.0 or :: for every interface",
  },
  "chunk-bytes": {
    env: "MODELMORA_CHUNK_BYTES",
    kind: "int",
    fallback: "1000000",
    help: "size of the chunks images are streamed in",
  },
  "max-batch-size": {
    env: "MODELMORA_MAX_BATCH_SIZE",
    kind: "int",
    fallback: "32",
    help: "largest accepted batch_size",
  },
  "cache-bytes": {
    env: "MODELMORA_CACHE_BYTES",
    kind: "int",
    fallback: String(64 * 1024 * 1024),
    help: "generated-image cache budget; 0 turns it off",
  },
  "max-request-bytes": {
    env: "MODELMORA_MAX_REQUEST_BYTES",
    kind: "int",
    fallback: "65536",
    help: "largest accepted request body",
  },
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
    help: "health (GET /healthz, grpc.health.v1) needs no credentials",
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
  "max-streams": {
    env: "MODELMORA_MAX_STREAMS",
    kind: "int",
    fallback: "0",
    help: "concurrent image streams across all keys; 0 = unlimited",
  },
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
};

class UsageError extends Error {}

function usage(command: string): string {
  const lines = [`Usage: ${command} [flags]`, "", "Flags (environment variable, default):"];
  for (const [name, spec] of Object.entries(flags)) {
    const shown = spec.fallback === undefined ? spec.env : `${spec.env}, ${spec.fallback}`;
    lines.push(`  --${name.padEnd(20)} ${spec.help} (${shown})`);
  }
  return lines.join("\n");
}

/** Each flag's value: the flag, else its environment variable, else its default. */
function settingsFromArgs(argv: string[], command: string): Map<string, string> {
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        ...Object.fromEntries(
          Object.keys(flags).map((name) => [name, { type: "string" as const }]),
        ),
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${usage(command)}\n`);
    process.exit(0);
  }
  const settings = new Map<string, string>();
  for (const [name, spec] of Object.entries(flags)) {
    const value = (values[name] as string | undefined) ?? process.env[spec.env] ?? spec.fallback;
    if (value === undefined) continue;
    if (spec.kind === "int" && !/^\d+$/.test(value)) {
      throw new UsageError(`--${name} (${spec.env}) must be a whole number, got "${value}"`);
    }
    if (spec.kind === "bool" && value !== "true" && value !== "false") {
      throw new UsageError(`--${name} (${spec.env}) must be true or false, got "${value}"`);
    }
    settings.set(name, value);
  }
  return settings;
}

function optionsFromSettings(
  settings: Map<string, string>,
): ServerOptions & { logLevel: LogLevel } {
  const int = (name: string) => Number(settings.get(name));
  const renderer = settings.get("renderer");
  if (renderer !== "auto" && renderer !== "canvas" && renderer !== "@napi-rs/canvas") {
    throw new UsageError(`--renderer must be auto, canvas or @napi-rs/canvas, got "${renderer}"`);
  }
  if (int("chunk-bytes") < 1) throw new UsageError("--chunk-bytes must be at least 1");
  if (int("max-batch-size") < 1) throw new UsageError("--max-batch-size must be at least 1");
  const certPath = settings.get("tls-cert");
  const keyPath = settings.get("tls-key");
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw new UsageError("--tls-cert and --tls-key go together: give both or neither");
  }
  let logLevel: LogLevel;
  try {
    logLevel = logLevelFromString(settings.get("log-level") ?? "info");
  } catch (err) {
    throw new UsageError(`--log-level: ${(err as Error).message}`);
  }
  return {
    chunkBytes: int("chunk-bytes"),
    maxBatchSize: int("max-batch-size"),
    cacheBytes: int("cache-bytes"),
    maxRequestBytes: int("max-request-bytes"),
    renderer,
    tls:
      certPath && keyPath
        ? { cert: readFile(certPath, "--tls-cert"), key: readFile(keyPath, "--tls-key") }
        : undefined,
    auth: authFromSettings(settings),
    publicHealth: settings.get("public-health") === "true",
    publicMetrics: settings.get("public-metrics") === "true",
    keyLimits: {
      requestsPerSecond: int("rate-limit-rps"),
      burst: int("rate-limit-burst"),
      bytesPerDay: int("quota-bytes-per-day"),
      maxConcurrentStreams: int("max-streams-per-key"),
    },
    maxServerStreams: int("max-streams"),
    logLevel,
  };
}

/** Auth settings: keys from a file and/or MODELMORA_API_KEYS, JWT from a secret or JWKS. */
function authFromSettings(settings: Map<string, string>): AuthOptions | undefined {
  let apiKeys: ApiKeyEntry[] | undefined;
  const keysFile = settings.get("api-keys-file");
  if (keysFile !== undefined) {
    apiKeys = parseApiKeysJson(readFile(keysFile, "--api-keys-file").toString("utf8"), keysFile);
  }
  const inlineKeys = process.env.MODELMORA_API_KEYS;
  if (inlineKeys !== undefined) {
    apiKeys = [...(apiKeys ?? []), ...parseApiKeysEnv(inlineKeys)];
  }
  const secretFile = settings.get("jwt-secret-file");
  const jwksFile = settings.get("jwks-file");
  const jwt =
    secretFile !== undefined || jwksFile !== undefined
      ? {
          hs256Secret:
            secretFile === undefined
              ? undefined
              : new Uint8Array(trimNewline(readFile(secretFile, "--jwt-secret-file"))),
          jwks:
            jwksFile === undefined
              ? undefined
              : parseJwks(readFile(jwksFile, "--jwks-file").toString("utf8"), jwksFile),
          issuer: settings.get("jwt-issuer"),
          audience: settings.get("jwt-audience"),
        }
      : undefined;
  if (apiKeys === undefined && jwt === undefined) {
    return undefined;
  }
  return { apiKeys, jwt };
}

/** A secret file written with `echo` ends in a newline that is not part of the secret. */
function trimNewline(data: Buffer): Buffer {
  let end = data.length;
  while (end > 0 && (data[end - 1] === 0x0a || data[end - 1] === 0x0d)) end--;
  return data.subarray(0, end);
}

function readFile(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(
      `${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

async function main(argv: string[], command: string): Promise<void> {
  let settings: Map<string, string>;
  let options: ReturnType<typeof optionsFromSettings>;
  try {
    settings = settingsFromArgs(argv, command);
    options = optionsFromSettings(settings);
  } catch (err) {
    if (err instanceof UsageError || err instanceof AuthConfigError) {
      process.stderr.write(`modelmora: ${err.message}\n\nRun with --help for every flag.\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createServerLogger({ level: options.logLevel });
  const server = createServer({ ...options, logger });
  // Handlers go in before the "listening" line: a supervisor may signal as
  // soon as it reads that line, and a signal with no handler yet would kill
  // the process at once (exit by signal, no graceful shutdown).
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`modelmora: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    logger.info("shutting down", { signal, grace_ms: Number(settings.get("grace-ms")) });
    server.close(Number(settings.get("grace-ms"))).then(
      () => {
        logger.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        process.stderr.write(`modelmora: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const { url } = await server.listen(Number(settings.get("port")), settings.get("host"));
  const transports = options.tls
    ? "HTTPS, h2 and http/1.1 by ALPN"
    : "HTTP/1.1 and HTTP/2 cleartext";
  const auth = options.auth === undefined ? "auth off" : "auth on";
  process.stdout.write(
    `modelmora listening on ${url} (${transports}; gRPC, gRPC-Web, Connect, REST; renderer ${server.rendererName}; ${auth})\n`,
  );
  logger.info("listening", {
    url,
    renderer: server.rendererName,
    tls: options.tls !== undefined,
    auth: options.auth !== undefined,
  });
}

/** Reports a failure to start or run the server, and exits 2 (a setting) or 1. */
function exitOnError(err: unknown): void {
  if (err instanceof AuthConfigError) {
    // Found as the server is built (a short HS256 secret, say): a setting
    // is wrong, as with the checks made while parsing, so the same code 2.
    process.stderr.write(`modelmora: ${err.message}\n`);
    process.exit(2);
  }
  if (err instanceof ServerError) {
    process.stderr.write(`modelmora: ${err.message}\n`);
  } else {
    process.stderr.write(
      `modelmora: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
}

/**
 * Runs the server with these flags (no node or script path before them);
 * `command` is how the user started it, as --help shows it. Owns
 * process.exit. The package's `modelmora serve` command calls this.
 */
export function runCli(argv: string[], command = "npm run serve --"): void {
  main(argv, command).catch(exitOnError);
}

/** True when node was started with this file (`npm run serve`), not when it is imported. */
function isEntryPoint(): boolean {
  try {
    return realpathSync(process.argv[1] ?? "") === fileURLToPath(import.meta.url);
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  runCli(process.argv.slice(2));
}
