/**
 * The server under test: spawned as `node --import tsx
 * bench/targets/server-entry.ts --port 0 --host 127.0.0.1 [flags]` in its
 * own process, or an already running one given by --url. Reads what
 * ListModels says about it (renderer, chunk size) and whether its GET
 * /metrics gives the bench its CPU and memory.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { createInferenceClient } from "../../src/index.js";
import { type ListeningProcess, startListening, tsxArgs } from "./listening-process.js";
import { metricsStats, type StatsSource } from "./process-stats.js";

/** The server under test. */
export interface Target {
  readonly url: string;
  readonly spawned: boolean;
  readonly process?: ListeningProcess;
  /** The flags it was started with (spawned only). */
  readonly serverArgs: readonly string[];
  /** Its CPU and memory, through GET /metrics; undefined if it has no such route. */
  readonly stats: StatsSource | undefined;
  /** What ListModels said, when it answered. */
  readonly info?: { renderer: string; chunkBytes: number; maxBatchSize: number };
}

/** Options for openTarget. */
export interface OpenTargetOptions {
  /** A running server to measure; spawns one when undefined. */
  url?: string;
  /** Flags for the spawned server beyond --port and --host (--chunk-bytes, --renderer, …). */
  serverArgs: readonly string[];
  /** HTTP/2 windows of the ListModels client, bytes. */
  windowBytes: number;
  /** Auth headers, sent with ListModels and the /metrics polls. */
  headers: Record<string, string>;
}

/** Options for spawnServer. */
export interface SpawnServerOptions {
  /** Name in messages. Default "modelmora server". */
  readonly name?: string;
  /** The server's environment. Default: the bench's. */
  readonly env?: NodeJS.ProcessEnv;
  /** Keeps a stderr line in the tail kept for messages; default keeps all. */
  readonly keepStderrLine?: (line: string) => boolean;
}

/** The flags every spawned server gets before its own: a free port on loopback. */
const listenArgs = ["--port", "0", "--host", "127.0.0.1"];

/**
 * Spawns a ModelMora server, `src/cli.ts` with `--port 0 --host 127.0.0.1`
 * and args, through server-entry.ts (see that file for why), and resolves
 * once it printed its listening line. The server under test, and the
 * servers the browser rows start, come from here.
 */
export function spawnServer(
  args: readonly string[],
  options: SpawnServerOptions = {},
): Promise<ListeningProcess> {
  const { command, args: argv } = tsxArgs("bench/targets/server-entry.ts", [
    ...listenArgs,
    ...args,
  ]);
  return startListening({
    name: options.name ?? "modelmora server",
    command,
    args: argv,
    readyPattern: /^modelmora listening on (\S+)/,
    env: options.env,
    keepStderrLine: options.keepStderrLine,
  });
}

/** Spawns the server (or takes --url), then reads ListModels and checks GET /metrics. */
export async function openTarget(options: OpenTargetOptions): Promise<Target> {
  let url = options.url;
  let process: ListeningProcess | undefined;
  const serverArgs = [...listenArgs, ...options.serverArgs];
  if (url === undefined) {
    process = await spawnServer(options.serverArgs, {
      // The bench reads /metrics at every row's ends; those log lines would hide the rest.
      keepStderrLine: (line) => !line.includes("/metrics"),
    });
    url = process.url;
  }
  const info = await listModels(url, options.windowBytes, options.headers);
  const metrics = metricsStats(url, options.headers, process?.pid);
  const stats = (await metrics.snapshot()) === undefined ? undefined : metrics;
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
  // Whichever protocol answers; the probes decide row by row.
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
