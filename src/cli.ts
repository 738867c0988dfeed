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
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { createServer, type Logger, ServerError, type ServerOptions } from "./server/index.js";

interface FlagSpec {
  env: string;
  help: string;
  kind: "int" | "string" | "path";
  fallback?: string;
}

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
  "grace-ms": {
    env: "MODELMORA_GRACE_MS",
    kind: "int",
    fallback: "5000",
    help: "on SIGINT/SIGTERM, how long calls in flight may finish",
  },
};

function usage(): string {
  const lines = ["Usage: npm run serve -- [flags]", "", "Flags (environment variable, default):"];
  for (const [name, spec] of Object.entries(flags)) {
    lines.push(
      `  --${name.padEnd(18)} ${spec.help} (${spec.env}${spec.fallback ? `, ${spec.fallback}` : ""})`,
    );
  }
  return lines.join("\n");
}

/** A flag's value: the flag, else its environment variable, else its default. */
function settingsFromArgs(argv: string[]): Map<string, string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...Object.fromEntries(Object.keys(flags).map((name) => [name, { type: "string" as const }])),
      help: { type: "boolean", short: "h" },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  const settings = new Map<string, string>();
  for (const [name, spec] of Object.entries(flags)) {
    const flag = (values as Record<string, unknown>)[name] as string | undefined;
    const value = flag ?? process.env[spec.env] ?? spec.fallback;
    if (value === undefined) continue;
    if (spec.kind === "int" && !/^\d+$/.test(value)) {
      throw new UsageError(`--${name} (${spec.env}) must be a whole number, got "${value}"`);
    }
    settings.set(name, value);
  }
  return settings;
}

class UsageError extends Error {}

function optionsFromSettings(settings: Map<string, string>): ServerOptions {
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
  return {
    chunkBytes: int("chunk-bytes"),
    maxBatchSize: int("max-batch-size"),
    cacheBytes: int("cache-bytes"),
    maxRequestBytes: int("max-request-bytes"),
    renderer,
    tls:
      certPath && keyPath
        ? { cert: readPem(certPath, "--tls-cert"), key: readPem(keyPath, "--tls-key") }
        : undefined,
  };
}

function readPem(path: string, flag: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(
      `${flag}: cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? err}`,
    );
  }
}

const stderrLogger: Logger = {
  info: (message, fields) => log("info", message, fields),
  warn: (message, fields) => log("warn", message, fields),
  error: (message, fields) => log("error", message, fields),
};

function log(level: string, message: string, fields?: Record<string, unknown>): void {
  process.stderr.write(
    `${JSON.stringify({ time: new Date().toISOString(), level, message, ...fields })}\n`,
  );
}

async function main(): Promise<void> {
  let settings: Map<string, string>;
  let options: ServerOptions;
  try {
    settings = settingsFromArgs(process.argv.slice(2));
    options = optionsFromSettings(settings);
  } catch (err) {
    process.stderr.write(`modelmora: ${(err as Error).message}\n\n${usage()}\n`);
    process.exit(2);
  }
  const server = createServer({ ...options, logger: stderrLogger });
  const { url } = await server.listen(Number(settings.get("port")), settings.get("host"));
  const transports = options.tls
    ? "HTTPS, h2 and http/1.1 by ALPN"
    : "HTTP/1.1 and HTTP/2 cleartext";
  process.stdout.write(
    `modelmora listening on ${url} (${transports}; gRPC, gRPC-Web, Connect, REST; renderer ${server.rendererName})\n`,
  );

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`modelmora: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    process.stderr.write(`modelmora: ${signal}, shutting down\n`);
    server.close(Number(settings.get("grace-ms"))).then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`modelmora: shutdown failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
}

main().catch((err: unknown) => {
  if (err instanceof ServerError) {
    process.stderr.write(`modelmora: ${err.message}\n`);
  } else {
    process.stderr.write(
      `modelmora: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
