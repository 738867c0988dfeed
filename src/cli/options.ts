import { readFileSync } from "node:fs";
import {
  type ApiKeyEntry,
  type AuthOptions,
  parseApiKeysEnv,
  parseApiKeysJson,
  parseJwks,
} from "../auth/index.js";
import { workerCountFromString } from "../cluster/index.js";
import { ModelMoraError } from "../errors.js";
import { checkRedisUrl } from "../limits/index.js";
import { type LogLevel, logLevelFromString } from "../observability/index.js";
import type { ServerOptions } from "../server/index.js";
import { corsOriginFromString } from "../web/index.js";
import { flags } from "./flags.js";

/** What the CLI runs: the server's options and its own settings. */
export interface CliOptions {
  readonly server: ServerOptions;
  readonly logLevel: LogLevel;
  readonly port: number;
  readonly host: string;
  readonly graceMs: number;
  /** Worker processes (--workers); 1 runs the server in this process. */
  readonly workers: number;
  /** Limits in Redis (--redis-url), or undefined to keep them in memory. */
  readonly redis?: {
    readonly url: string;
    readonly commandTimeoutMs: number;
    readonly streamLeaseMs: number;
  };
}

/**
 * The CLI's options from its settings (settingsFromArgs). Reads the files
 * they name. Throws ModelMoraError "usage" naming the flag, or
 * "auth_config" for bad authentication settings.
 */
export function optionsFromSettings(
  settings: ReadonlyMap<string, string>,
  env: NodeJS.ProcessEnv,
): CliOptions {
  const int = (name: string) => Number(settings.get(name));
  const renderer = settings.get("renderer");
  if (renderer !== "auto" && renderer !== "canvas" && renderer !== "@napi-rs/canvas") {
    throw usage(`--renderer must be auto, canvas or @napi-rs/canvas, got "${renderer}"`);
  }
  const certPath = settings.get("tls-cert");
  const keyPath = settings.get("tls-key");
  if ((certPath === undefined) !== (keyPath === undefined)) {
    throw usage("--tls-cert and --tls-key go together: give both or neither");
  }
  let logLevel: LogLevel;
  try {
    logLevel = logLevelFromString(settings.get("log-level") ?? "info");
  } catch (err) {
    throw usage(`--log-level: ${(err as Error).message}`);
  }
  const numbers: Record<string, number> = {};
  for (const [name, spec] of Object.entries(flags)) {
    if (spec.option !== undefined) numbers[spec.option] = int(name);
  }
  const server: ServerOptions = {
    ...numbers,
    renderer,
    tls:
      certPath && keyPath
        ? { cert: readFile(certPath, "--tls-cert"), key: readFile(keyPath, "--tls-key") }
        : undefined,
    auth: authFromSettings(settings, env),
    publicHealth: settings.get("public-health") === "true",
    publicMetrics: settings.get("public-metrics") === "true",
    keyLimits: {
      requestsPerSecond: int("rate-limit-rps"),
      burst: int("rate-limit-burst"),
      bytesPerDay: int("quota-bytes-per-day"),
      maxConcurrentStreams: int("max-streams-per-key"),
    },
    corsOrigins: corsOriginsFromSetting(settings.get("cors-origin")),
    webPage: settings.get("web-page") === "true",
  };
  return {
    server,
    logLevel,
    port: int("port"),
    host: settings.get("host") ?? "127.0.0.1",
    graceMs: int("grace-ms"),
    ...scaleFromSettings(settings),
  };
}

/** --workers and the Redis settings. */
function scaleFromSettings(
  settings: ReadonlyMap<string, string>,
): Pick<CliOptions, "workers" | "redis"> {
  let workers: number;
  try {
    workers = workerCountFromString(settings.get("workers") ?? "1");
  } catch (err) {
    throw usage(`--workers (MODELMORA_WORKERS) ${(err as Error).message}`);
  }
  const url = settings.get("redis-url");
  if (url === undefined) {
    return { workers };
  }
  try {
    checkRedisUrl(url);
  } catch (err) {
    throw usage(`--redis-url (MODELMORA_REDIS_URL) ${(err as Error).message}`);
  }
  return {
    workers,
    redis: {
      url,
      commandTimeoutMs: Number(settings.get("redis-timeout-ms")),
      streamLeaseMs: Number(settings.get("stream-lease-ms")),
    },
  };
}

/** The allowed CORS origins of a comma-separated list, each checked. */
function corsOriginsFromSetting(list: string | undefined): string[] {
  const origins = (list ?? "").split(",").filter((origin) => origin.trim() !== "");
  try {
    return origins.map(corsOriginFromString);
  } catch (err) {
    throw usage(`--cors-origin (MODELMORA_CORS_ORIGINS): ${(err as Error).message}`);
  }
}

/** Auth settings: keys from a file and/or MODELMORA_API_KEYS, JWT from a secret or JWKS. */
function authFromSettings(
  settings: ReadonlyMap<string, string>,
  env: NodeJS.ProcessEnv,
): AuthOptions | undefined {
  let apiKeys: ApiKeyEntry[] | undefined;
  const keysFile = settings.get("api-keys-file");
  if (keysFile !== undefined) {
    apiKeys = parseApiKeysJson(readFile(keysFile, "--api-keys-file").toString("utf8"), keysFile);
  }
  const inlineKeys = env.MODELMORA_API_KEYS;
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
    throw usage(`${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`);
  }
}

function usage(message: string): ModelMoraError {
  return new ModelMoraError("usage", message);
}
