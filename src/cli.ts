#!/usr/bin/env node
/**
 * `npm run serve`: starts the ModelMora server.
 *
 *   npm run serve -- --port 9000 --cache-bytes 0
 *
 * Every flag has an environment variable; a flag wins over its variable.
 * `npm run serve -- --help` lists them (src/cli/flags.ts). Exit codes: 0
 * after a clean shutdown (SIGTERM, SIGINT), 2 for a bad setting, 1 for
 * anything else (a port in use, say).
 */
// First: protobuf-es reads the base64 methods when it loads.
import "./base64-polyfill.js";
import cluster from "node:cluster";
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type CliOptions, optionsFromSettings } from "./cli/options.js";
import { settingsFromArgs, usage } from "./cli/settings.js";
import { joinCluster, rendersPerWorker, startCluster, type WorkerLink } from "./cluster/index.js";
import { isSettingError, ModelMoraError } from "./errors.js";
import { createRedisLimitStore } from "./limits/index.js";
import { createMetrics, createServerLogger, type ServerLogger } from "./observability/index.js";
import { createServer } from "./server/index.js";

async function main(argv: string[], command: string): Promise<void> {
  const settings = settingsFromArgs(argv, process.env);
  if (settings.has("help")) {
    process.stdout.write(`${usage(command)}\n`);
    process.exit(0);
  }
  const options: CliOptions = optionsFromSettings(settings, process.env);
  const logger = createServerLogger({ level: options.logLevel });
  if (options.workers > 1 && cluster.isPrimary) {
    await runPrimary(options, logger);
    return;
  }
  const link = cluster.isWorker ? joinCluster() : undefined;
  try {
    await runServer(options, logger, link);
  } catch (err) {
    if (link === undefined) throw err;
    // The primary says it once, for every worker.
    const { message, code } = failureOf(err);
    await link.fatal(message, code);
    process.exit(code);
  }
}

/** One server process: the only one, or a worker of the cluster (link). */
async function runServer(
  options: CliOptions,
  logger: ServerLogger,
  link: WorkerLink | undefined,
): Promise<void> {
  const metrics = link?.metrics ?? createMetrics();
  const redis =
    options.redis === undefined
      ? undefined
      : createRedisLimitStore({
          ...options.redis,
          instanceId: link?.instanceId,
          logger,
          registry: metrics.registry,
        });
  // Calls made before Redis answers would go uncounted: wait a moment for it.
  await redis?.ready();
  // A worker draws with its share of the cores, not all of them.
  const maxConcurrentRenders = link === undefined ? undefined : rendersPerWorker(options.workers);
  const server = createServer({
    ...options.server,
    maxConcurrentRenders,
    logger,
    metrics,
    limitStore: redis ?? link?.limitStore(logger),
    readiness: link?.readiness,
  });
  // Handlers go in before the "listening" line: a supervisor may signal as
  // soon as it reads that line, and a signal with no handler yet would kill
  // the process at once (exit by signal, no graceful shutdown).
  let stopping = false;
  const stop = (signal: NodeJS.Signals | "primary") => {
    if (stopping) {
      if (signal === "primary") return; // The primary asks after a signal did.
      process.stderr.write(`modelmora: ${signal} again, exiting now\n`);
      process.exit(1);
    }
    stopping = true;
    if (signal !== "primary") link?.draining();
    logger.info("shutting down", { signal, grace_ms: options.graceMs });
    server
      .close(options.graceMs)
      .then(() => redis?.close())
      .then(
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
  link?.onShutdown(() => stop("primary"));
  // Workers listen with the same arguments, so node:cluster gives them one
  // socket (with --port 0, one free port for all).
  const { url, port } = await server.listen(options.port, options.host);
  if (link === undefined) {
    process.stdout.write(`${listeningLine(url, options, server.rendererName)}\n`);
  } else {
    link.listening({ url, port, renderer: server.rendererName });
  }
  logger.info("listening", {
    url,
    renderer: server.rendererName,
    tls: options.server.tls !== undefined,
    auth: options.server.auth !== undefined,
    ...(link === undefined
      ? {}
      : { worker: link.slot, max_concurrent_renders: maxConcurrentRenders }),
  });
}

/** The primary of `--workers N`: forks the workers, prints the line once all listen. */
async function runPrimary(options: CliOptions, logger: ServerLogger): Promise<void> {
  const primary = startCluster({
    workers: options.workers,
    sharedLimits: options.redis === undefined,
    logger,
  });
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      process.stderr.write(`modelmora: ${signal} again, exiting now\n`);
      primary.kill();
      process.exit(1);
    }
    stopping = true;
    logger.info("shutting down", { signal, grace_ms: options.graceMs, workers: options.workers });
    primary.stop(options.graceMs);
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  try {
    const { url, renderer } = await primary.listening;
    process.stdout.write(`${listeningLine(url, options, renderer)}\n`);
    logger.info("listening", { url, renderer, workers: options.workers });
  } catch {
    // A worker could not start: `exited` says why.
  }
  const exit = await primary.exited;
  if (exit.message !== undefined) {
    process.stderr.write(`modelmora: ${exit.message}\n`);
  } else {
    logger.info("stopped");
  }
  process.exit(exit.code);
}

/** The one line on stdout once the server listens. */
function listeningLine(url: string, options: CliOptions, renderer: string): string {
  const transports = options.server.tls
    ? "HTTPS, h2 and http/1.1 by ALPN"
    : "HTTP/1.1 and HTTP/2 cleartext";
  const auth = options.server.auth === undefined ? "auth off" : "auth on";
  const workers = options.workers > 1 ? `; ${options.workers} workers` : "";
  const limits = options.redis === undefined ? "" : "; limits in Redis";
  return `modelmora listening on ${url} (${transports}; gRPC, gRPC-Web, Connect, REST; renderer ${renderer}; ${auth}${workers}${limits})`;
}

/** What to print for an error that stops the server, and the exit code. */
function failureOf(err: unknown): { message: string; code: number } {
  if (isSettingError(err)) {
    const hint = err.code === "usage" ? "\n\nRun with --help for every flag." : "";
    return { message: `${err.message}${hint}`, code: 2 };
  }
  if (err instanceof ModelMoraError) {
    return { message: err.message, code: 1 };
  }
  return { message: err instanceof Error ? (err.stack ?? err.message) : String(err), code: 1 };
}

/**
 * Runs the server with these flags (no node or script path before them);
 * `command` is how the user started it, as --help shows it. Owns
 * process.exit. The package's `modelmora serve` command calls this.
 */
export function runCli(argv: string[], command = "npm run serve --"): void {
  main(argv, command).catch((err: unknown) => {
    const { message, code } = failureOf(err);
    process.stderr.write(`modelmora: ${message}\n`);
    process.exit(code);
  });
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
