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
import { settingsFromArgs, usage } from "./cli/flags.js";
import { type CliOptions, optionsFromSettings } from "./cli/options.js";
import { isSettingError, ModelMoraError } from "./errors.js";
import { createServerLogger } from "./observability/index.js";
import { createServer } from "./server/index.js";

async function main(): Promise<void> {
  const settings = settingsFromArgs(process.argv.slice(2), process.env);
  if (settings.has("help")) {
    process.stdout.write(`${usage()}\n`);
    process.exit(0);
  }
  const options: CliOptions = optionsFromSettings(settings, process.env);
  const logger = createServerLogger({ level: options.logLevel });
  const server = createServer({ ...options.server, logger });
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
    logger.info("shutting down", { signal, grace_ms: options.graceMs });
    server.close(options.graceMs).then(
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
  const { url } = await server.listen(options.port, options.host);
  const transports = options.server.tls
    ? "HTTPS, h2 and http/1.1 by ALPN"
    : "HTTP/1.1 and HTTP/2 cleartext";
  const auth = options.server.auth === undefined ? "auth off" : "auth on";
  process.stdout.write(
    `modelmora listening on ${url} (${transports}; gRPC, gRPC-Web, Connect, REST; renderer ${server.rendererName}; ${auth})\n`,
  );
  logger.info("listening", {
    url,
    renderer: server.rendererName,
    tls: options.server.tls !== undefined,
    auth: options.server.auth !== undefined,
  });
}

main().catch((err: unknown) => {
  if (isSettingError(err)) {
    const hint = err.code === "usage" ? "\n\nRun with --help for every flag." : "";
    process.stderr.write(`modelmora: ${err.message}${hint}\n`);
    process.exit(2);
  }
  if (err instanceof ModelMoraError) {
    process.stderr.write(`modelmora: ${err.message}\n`);
  } else {
    process.stderr.write(
      `modelmora: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
  process.exit(1);
});
