#!/usr/bin/env node
/**
 * `npm run bench`: measures every protocol of the ModelMora server from a
 * client, next to bare-Node, grpc-js and Python grpcio baselines, and
 * applies the seed's decision rule. See bench/README.md.
 *
 *   npm run bench                       full run (about 4-5 minutes on 2 cores)
 *   npm run bench -- --quick            under a minute
 *   npm run bench -- --smoke            CI: tiny sizes, exit 1 on any failure
 *   npm run bench -- --url http://127.0.0.1:8080   a server already running
 *   npm run bench -- --help             every flag
 *
 * Reads its flags (bench/options.ts) and NO_COLOR; the spawned server also
 * reads its MODELMORA_* variables. Results go to stdout, progress and
 * diagnostics to stderr, files to --out (default results/). Exit code: 0,
 * 1 if any row failed or the run could not start, 2 for bad flags.
 */
// First: protobuf-es reads the base64 methods when it loads.
import "../src/base64-polyfill.js";
import { randomBytes } from "node:crypto";
import { loadavg } from "node:os";
import { generationCosts, sameBytesCheck, withRatios } from "./analysis.js";
import { type Baselines, startBaselines } from "./baselines/index.js";
import { gitInfo, machineInfo, packageVersions } from "./machine.js";
import { authHeaders, type BenchOptions, optionsFromArgs, UsageError, usage } from "./options.js";
import { createProgress } from "./progress.js";
import { renderTerminal, writeReports } from "./report/index.js";
import type { BenchReport, RowResult } from "./results.js";
import { baselineRowIds, baselineRows, matchesFilter, type RowSpec, targetRows } from "./rows.js";
import { fixedPrompt, runScenario, scenarioSpecs } from "./scenarios.js";
import { installCleanupHandlers, repoRoot } from "./server-process.js";
import { openTarget, probeRow, type Target } from "./target.js";
import { checkTargets } from "./targets.js";
import { verdictOf } from "./verdict.js";

async function main(): Promise<number> {
  let options: BenchOptions | undefined;
  try {
    options = optionsFromArgs(process.argv.slice(2));
  } catch (err) {
    if (
      err instanceof UsageError ||
      (err as { code?: string }).code?.startsWith("ERR_PARSE_ARGS")
    ) {
      process.stderr.write(`bench: ${(err as Error).message}\n\n${usage}\n`);
      return 2;
    }
    throw err;
  }
  if (options === undefined) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }

  const startedMs = performance.now();
  const startedAt = new Date().toISOString();
  const loadAverageAtStart = loadavg();
  const progress = createProgress(process.stderr, startedMs);
  installCleanupHandlers(() => progress.clear());
  const skipped: { row: string; reason: string; failure?: boolean }[] = [];
  const skip = (row: string, reason: string) => {
    skipped.push({ row, reason });
    progress.note(`bench: skipping ${row}: ${reason}`);
  };
  /** Something that should have run and could not: reported with the skips, and counted as a failure. */
  const fail = (row: string, reason: string) => {
    skipped.push({ row, reason, failure: true });
    progress.note(`bench: FAILED ${row}: ${reason}`);
  };

  const headers = authHeaders(options);
  // The spawned server reads these variables too; the baselines get the same settings as flags.
  const envChunkBytes = Number(process.env.MODELMORA_CHUNK_BYTES);
  const defaultChunkBytes =
    options.chunkBytes ??
    (Number.isSafeInteger(envChunkBytes) && envChunkBytes > 0 ? envChunkBytes : 1_000_000);
  const renderer = options.renderer ?? process.env.MODELMORA_RENDERER;

  let target: Target | undefined;
  let baselines: Baselines | undefined;
  const results: RowResult[] = [];
  try {
    progress.update(
      "start",
      options.url ? `probing ${options.url}` : "starting the server and the baselines",
    );
    const wanted = new Set<string>(
      options.baselines
        ? baselineRowIds.filter((id) => matchesFilter(id, options.baselineFilter))
        : [],
    );
    const fixedImages = new Map<string, number>();
    const need = (model: string, count: number) =>
      fixedImages.set(model, Math.max(fixedImages.get(model) ?? 0, count));
    if (options.scenarios.includes("single")) need(options.model, options.batch);
    if (options.scenarios.includes("load")) need(options.model, options.loadBatch);
    if (options.scenarios.includes("small")) need(options.smallModel, options.smallBatch);
    const openingTarget = openTarget({
      url: options.url,
      chunkBytes: options.chunkBytes,
      renderer: options.renderer,
      windowBytes: options.windowBytes,
      headers,
    });
    // A server given by --url says its chunk size in ListModels: the baselines
    // wait for it. A spawned one gets the size the bench passed, so both start at once.
    let baselineChunkBytes = defaultChunkBytes;
    if (options.url !== undefined) {
      target = await openingTarget;
      baselineChunkBytes = options.chunkBytes ?? target.info?.chunkBytes ?? defaultChunkBytes;
    }
    [target, baselines] = await Promise.all([
      openingTarget,
      wanted.size === 0
        ? undefined
        : startBaselines({
            wanted,
            windowBytes: options.windowBytes,
            chunkBytes: baselineChunkBytes,
            renderer,
            python: options.python,
            fixedPrompt,
            fixedImages: [...fixedImages].map(([model, count]) => ({ model, count })),
            onSkip: skip,
            onFail: fail,
          }),
    ]);
    const targetChunkBytes = target.info?.chunkBytes ?? baselineChunkBytes;
    if (baselines !== undefined && targetChunkBytes !== baselineChunkBytes) {
      progress.note(
        `bench: the server cuts chunks of ${targetChunkBytes} bytes, the baselines ${baselineChunkBytes}; pass --chunk-bytes ${targetChunkBytes} to compare like with like`,
      );
    }

    // One tiny call per row: a protocol the target doesn't serve is skipped once, here.
    const rows: RowSpec[] = [];
    const candidates = [
      ...targetRows({
        baseUrl: target.url,
        windowBytes: options.windowBytes,
        chunkBytes: targetChunkBytes,
        headers,
        stats: target.stats,
      }).filter((row) => matchesFilter(row.id, options.protocolFilter)),
      ...(baselines === undefined
        ? []
        : baselineRows({
            ...baselines.endpoints,
            windowBytes: options.windowBytes,
            chunkBytes: baselineChunkBytes,
          }).filter((row) => wanted.has(row.id))),
    ];
    for (const row of candidates) {
      progress.update(`probe/${row.id}`, `probing ${row.label}`);
      const failure = await probeRow(row);
      if (failure === undefined) {
        rows.push(row);
        continue;
      }
      const probe = row.id.startsWith("rest")
        ? "GET /v1/models"
        : row.id.startsWith("bare")
          ? "GET /models"
          : "ListModels";
      if (failure.auth) {
        fail(
          row.id,
          `the server refused the credentials (probe ${probe}: ${failure.reason}); pass --api-key KEY or --token TOKEN`,
        );
      } else if (row.kind === "protocol" && target.spawned) {
        // The spawned server is this project's: a protocol it does not answer is a failure.
        fail(
          row.id,
          `the server under test does not answer it (probe ${probe}: ${failure.reason})`,
        );
      } else {
        skip(
          row.id,
          `${row.kind === "protocol" ? "the target does not serve it" : "the baseline does not answer"} (probe ${probe}: ${failure.reason})`,
        );
      }
    }

    const runId = randomBytes(4).toString("hex");
    scenarios: for (const spec of scenarioSpecs(options)) {
      const scenarioRows = rows.filter(
        (row) => spec.rows === undefined || spec.rows.includes(row.id),
      );
      if (scenarioRows.length === 0) {
        skip(
          spec.id,
          `no row to measure (${spec.rows ? `needs ${spec.rows.join(", ")}` : "none left"})`,
        );
        continue;
      }
      // Unary has no images: it runs once whatever --mode says.
      const modes =
        spec.id === "unary" ? spec.modes : spec.modes.filter((m) => options.modes.includes(m));
      if (modes.length === 0) {
        skip(spec.id, `runs in ${spec.modes.join(", ")} mode only; --mode excludes it`);
      }
      for (const mode of modes) {
        const plan = options.plans[spec.id][mode];
        if (plan === undefined) {
          skip(`${spec.id}/${mode}`, `not part of the ${options.profile} profile`);
          continue;
        }
        results.push(...(await runScenario(spec, mode, plan, scenarioRows, { runId, progress })));
        const died = target.process?.unexpectedExit();
        if (died !== undefined) {
          const log = target.process?.stderrTail().trim().split("\n").slice(-6).join(" | ");
          fail(
            "server",
            `the server under test ended (${died}) during ${spec.id}/${mode}; the rest of the run was not measured. Its last stderr lines: ${log}`,
          );
          break scenarios;
        }
      }
    }
  } catch (err) {
    progress.clear();
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    progress.update("stop", "stopping the server and the baselines");
    await Promise.all([target?.process?.stop(), baselines?.stop()]);
    progress.clear();
  }

  if (target === undefined) return 1;
  const withFigures = withRatios(results);
  const failures =
    withFigures.filter((r) => r.status === "failed").length +
    skipped.filter((s) => s.failure === true).length;
  const report: BenchReport = {
    formatVersion: 1,
    startedAt,
    finishedAt: new Date().toISOString(),
    wallMs: performance.now() - startedMs,
    profile: options.profile,
    argv: options.argv,
    options: {
      ...options,
      apiKey: options.apiKey === undefined ? undefined : "(set)",
      token: options.token === undefined ? undefined : "(set)",
    },
    machine: machineInfo(loadAverageAtStart),
    packages: packageVersions(),
    git: gitInfo(),
    target: {
      id: "modelmora",
      url: target.url,
      pid: target.process?.pid,
      command: target.process?.command.map((part) => part.replace(repoRoot, "")),
      banner: target.process?.banner,
      spawned: target.spawned,
      renderer: target.info?.renderer,
      chunkBytes: target.info?.chunkBytes,
      maxBatchSize: target.info?.maxBatchSize,
      notes:
        target.stats === undefined ? "no GET /healthz: server CPU and RSS not measured" : undefined,
    },
    baselines: baselines?.processes ?? [],
    skipped,
    results: withFigures,
    generation: generationCosts(withFigures),
    verdict: verdictOf(withFigures),
    targets: checkTargets(withFigures),
    sameBytes: sameBytesCheck(withFigures),
    failures,
  };
  const color = process.stdout.isTTY === true && process.env.NO_COLOR === undefined;
  process.stdout.write(renderTerminal(report, color));
  const files = await writeReports(report, options.outDir);
  process.stderr.write(
    `bench: wrote ${files.join(", ")} (and latest.*) in ${(report.wallMs / 1000).toFixed(1)} s\n`,
  );
  return failures > 0 ? 1 : 0;
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
