#!/usr/bin/env node
/**
 * `npm run bench`: measures every protocol of the ModelMora server from a
 * client, next to bare-Node, grpc-js and Python grpcio baselines, and says
 * which protocol suits which traffic. See bench/README.md.
 *
 *   npm run bench                       full run
 *   npm run bench -- --quick            a reduced run
 *   npm run bench -- --smoke            CI: tiny sizes, exit 1 on any failure
 *   npm run bench -- --url http://127.0.0.1:8080   a server already running
 *   npm run bench -- --help             every flag
 *
 * Reads its flags (bench/cli/) and NO_COLOR; the spawned server also reads
 * its MODELMORA_* variables. Results go to stdout, progress and diagnostics
 * to stderr, files to --out (default results/). Exit code: 0, 1 if any row
 * failed or the run could not start, 2 for bad flags.
 *
 * This file is the table of contents of a run; each stage is a folder:
 *
 *   1. cli/         flags → options
 *   2. targets/     the server under test and the baselines, started
 *   3. clients/     the rows: a client stack × a protocol × a server; probed
 *   4. scenarios/   each scenario × mode × step measured over the rows in rounds
 *                   (verify/ checks every response), then the message sizes
 *   5. results/, conclusions/   figures and spreads; the recommendation, the
 *                   proof of concept's rule, its expectations, the targets
 *   6. report/      terminal, Markdown, HTML and JSON
 */
// First: the package installs the base64 methods protobuf-es reads when it loads.
import "../src/index.js";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import {
  authHeaders,
  type BenchOptions,
  createProgress,
  createRunLog,
  isUsageError,
  optionsFromArgs,
  usage,
} from "./cli/index.js";
import {
  baselineRowIds,
  baselineRows,
  type OpenRows,
  openFamilies,
  protocolRowInfos,
} from "./clients/index.js";
import { buildReport, renderTerminal, writeReports } from "./report/index.js";
import type { MessageSizes, RowResult } from "./results/index.js";
import { fixedPrompt, measureMessageSizes, runScenarios } from "./scenarios/index.js";
import {
  type Baselines,
  installCleanupHandlers,
  probeRows,
  startTargets,
  type Target,
} from "./targets/index.js";

const knownRows = { protocols: protocolRowInfos.map((row) => row.id), baselines: baselineRowIds };

async function main(): Promise<number> {
  // 1. Flags.
  let options: BenchOptions | undefined;
  try {
    options = optionsFromArgs(process.argv.slice(2));
  } catch (err) {
    if (!isUsageError(err)) throw err;
    process.stderr.write(`bench: ${(err as Error).message}\n\n${usage(knownRows)}\n`);
    return 2;
  }
  if (options === undefined) {
    process.stdout.write(`${usage(knownRows)}\n`);
    return 0;
  }

  const startedMs = performance.now();
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg();
  const progress = createProgress(process.stderr, startedMs);
  installCleanupHandlers(() => progress.clear());
  const log = createRunLog(progress);

  let target: Target | undefined;
  let baselines: Baselines | undefined;
  let families: OpenRows | undefined;
  let results: RowResult[] = [];
  let messageSizes: MessageSizes | undefined;
  try {
    // 2. The server under test and the baselines.
    progress.update(
      "start",
      options.url ? `probing ${options.url}` : "starting the server and the baselines",
    );
    const started = await startTargets({
      options,
      log,
      fixedPrompt,
      onStarted(running) {
        target ??= running.target;
        baselines ??= running.baselines;
      },
    });
    target = started.target;
    baselines = started.baselines;
    if (baselines !== undefined && started.targetChunkBytes !== started.baselineChunkBytes) {
      progress.note(
        `bench: the server cuts chunks of ${started.targetChunkBytes} bytes, the baselines ${started.baselineChunkBytes}; pass --chunk-bytes ${started.targetChunkBytes} to compare like with like`,
      );
    }

    // 3. The rows, each probed with one tiny call.
    families = await openFamilies(
      {
        baseUrl: target.url,
        windowBytes: options.windowBytes,
        chunkBytes: started.targetChunkBytes,
        headers: authHeaders(options),
        stats: target.stats,
        options,
      },
      log,
    );
    const rows = await probeRows({
      candidates: [
        ...families.rows,
        ...(baselines === undefined
          ? []
          : baselineRows({
              ...baselines.endpoints,
              windowBytes: options.windowBytes,
              chunkBytes: started.baselineChunkBytes,
            })),
      ],
      targetSpawned: target.spawned,
      log,
      progress,
    });

    // 4. The scenarios.
    results = await runScenarios({
      options,
      rows,
      server: target.process,
      runId: randomBytes(4).toString("hex"),
      progress,
      log,
    });
    if (target.process?.unexpectedExit() === undefined) {
      progress.update("sizes", "measuring message sizes (protobuf and JSON)");
      messageSizes = await measureMessageSizes({
        baseUrl: target.url,
        headers: authHeaders(options),
        model: options.model,
        prompt: fixedPrompt,
      }).catch((err: unknown) => {
        log.skip("message sizes", (err as Error).message);
        return undefined;
      });
    }
  } catch (err) {
    progress.clear();
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    progress.update("stop", "stopping the server and the baselines");
    await Promise.all([families?.close(), target?.process?.stop(), baselines?.stop()]);
    progress.clear();
  }
  if (target === undefined) return 1;

  // 5. Figures and conclusions.
  const report = buildReport({
    options,
    startedAt,
    startedMs,
    loadAverageAtStart,
    target,
    baselines,
    log: log.entries,
    results,
    messageSizes,
  });

  // 6. The report.
  const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
  process.stdout.write(renderTerminal(report, color));
  const files = await writeReports(report, options.outDir);
  process.stderr.write(
    `bench: wrote ${files.join(", ")} (and latest.*) in ${(report.wallMs / 1000).toFixed(1)} s\n`,
  );
  return report.failures > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
    // Sockets of failed rows may linger; the run is over.
    setTimeout(() => process.exit(code), 200).unref();
  },
  (err: unknown) => {
    process.stderr.write(
      `bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
