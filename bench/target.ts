/**
 * The server under test: spawned as `node --import tsx src/cli.ts --port 0`
 * in its own process, or an already running one given by --url. Also the
 * probe that finds which protocols it serves: one tiny call per row
 * (ListModels, or GET /v1/models for REST), so a protocol the target does
 * not serve is skipped with one line instead of failing every scenario.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import "../src/base64-polyfill.js";
import { createInferenceClient } from "../src/client/index.js";
import { healthzStats, type StatsSource } from "./process-stats.js";
import type { RowSpec } from "./rows.js";
import { errorMessage } from "./scenarios.js";
import { type ListeningProcess, startListening, tsxArgs } from "./server-process.js";

/** The server under test. */
export interface Target {
  readonly url: string;
  readonly spawned: boolean;
  readonly process?: ListeningProcess;
  /** The flags it was started with (spawned only). */
  readonly serverArgs: readonly string[];
  /** Its CPU and memory, through GET /healthz; undefined if it has no such route. */
  readonly stats: StatsSource | undefined;
  /** What ListModels said, when it answered. */
  readonly info?: { renderer: string; chunkBytes: number; maxBatchSize: number };
}

/** Options for openTarget. */
export interface OpenTargetOptions {
  url?: string;
  chunkBytes?: number;
  renderer?: string;
  windowBytes: number;
  headers: Record<string, string>;
}

/** Spawns the server (or takes --url), then reads ListModels and checks /healthz. */
export async function openTarget(options: OpenTargetOptions): Promise<Target> {
  let url = options.url;
  let process: ListeningProcess | undefined;
  const serverArgs = ["--port", "0", "--host", "127.0.0.1"];
  if (options.chunkBytes !== undefined)
    serverArgs.push("--chunk-bytes", String(options.chunkBytes));
  if (options.renderer !== undefined) serverArgs.push("--renderer", options.renderer);
  if (url === undefined) {
    // bench/server-under-test.ts runs src/cli.ts as it is; see that file for why.
    const { command, args } = tsxArgs("bench/server-under-test.ts", serverArgs);
    process = await startListening({
      name: "modelmora server",
      command,
      args,
      readyPattern: /^modelmora listening on (\S+)/,
      // The bench polls /healthz ten times a second; its log lines would hide the rest.
      keepStderrLine: (line) => !line.includes("/healthz"),
    });
    url = process.url;
  }
  const info = await listModels(url, options.windowBytes, options.headers);
  const healthz = healthzStats(url, options.headers);
  const stats = (await healthz.snapshot()) === undefined ? undefined : healthz;
  return {
    url,
    spawned: process !== undefined,
    process,
    serverArgs: process === undefined ? [] : serverArgs,
    stats,
    info,
  };
}

async function listModels(url: string, windowBytes: number, headers: Record<string, string>) {
  // Whichever protocol answers; the probe below decides row by row.
  for (const protocol of ["grpc", "connect"] as const) {
    const { client, close } = createInferenceClient({
      baseUrl: url,
      protocol,
      windowBytes,
      headers,
    });
    try {
      const response = await client.listModels({}, { timeoutMs: 30_000 });
      return {
        renderer: response.renderer,
        chunkBytes: response.chunkBytes,
        maxBatchSize: response.maxBatchSize,
      };
    } catch {
      // try the next one
    } finally {
      close();
    }
  }
  return undefined;
}

/** Why a probe failed; `auth` when the server refused the credentials, not the protocol. */
export interface ProbeFailure {
  readonly reason: string;
  readonly auth: boolean;
}

/** Why a row can't be measured on its server, or undefined if one small call worked. */
export async function probeRow(row: RowSpec): Promise<ProbeFailure | undefined> {
  const client = row.createClient();
  try {
    await Promise.race([
      client.unary(),
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("no answer within 30 s")), 30_000).unref(),
      ),
    ]);
    return undefined;
  } catch (err) {
    const reason = errorMessage(err);
    // Connect codes 16 (unauthenticated) and 7 (permission denied); REST 401 and 403.
    const code = (err as { code?: unknown }).code;
    const auth = code === 16 || code === 7 || /HTTP 40[13]\b/.test(reason);
    return { reason, auth };
  } finally {
    client.close();
  }
}
