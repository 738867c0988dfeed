/**
 * Starts the baselines, each in its own process: bare Node HTTP/2 and
 * HTTP/1.1 streams, the @grpc/grpc-js server, and the proof of concept's
 * Python grpcio server when a Python with grpcio is there (bench/baselines/). A baseline that can't start is
 * skipped with one line saying why.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { protoPath } from "../baselines/grpc-js-proto.js";
import type { BaselineEndpoint, BaselineEndpoints } from "../clients/index.js";
import {
  type ListeningProcess,
  type ProcessInfo,
  repoRoot,
  startListening,
  tsxArgs,
} from "./listening-process.js";
import { procfsStats } from "./process-stats.js";

/** Options for startBaselines. */
export interface StartBaselinesOptions {
  /** Which baselines: the ids of baselineRowIds, already filtered. */
  wanted: ReadonlySet<string>;
  /** Flags every Node baseline gets (--chunk-bytes, --window-bytes, --renderer). */
  args: readonly string[];
  /** The chunk size the baselines cut at, bytes (the grpcio baseline's flag). */
  chunkBytes: number;
  /** The Python interpreter with grpcio. */
  python: string;
  /** The fixed prompt and the (model, count) images the grpcio baseline must hold. */
  fixedPrompt: string;
  fixedImages: readonly { model: string; count: number }[];
  /** Called for each baseline that won't run for a reason outside the project (no Python grpcio). */
  onSkip(id: string, reason: string): void;
  /** Called for each baseline that should have started and did not. */
  onFail(id: string, reason: string): void;
}

/** Running baselines. */
export interface Baselines {
  readonly endpoints: BaselineEndpoints;
  readonly processes: readonly ProcessInfo[];
  stop(): Promise<void>;
}

const here = (file: string) => fileURLToPath(new URL(`../baselines/${file}`, import.meta.url));

/** Starts the wanted baselines in parallel (the Python one after bare-h1, which feeds it). */
export async function startBaselines(options: StartBaselinesOptions): Promise<Baselines> {
  const common = options.args;
  const started: ListeningProcess[] = [];
  const endpoint = (process: ListeningProcess): BaselineEndpoint => ({
    url: process.url,
    stats: procfsStats(process.pid),
  });

  async function start(
    id: string,
    file: string,
    args: string[],
  ): Promise<ListeningProcess | undefined> {
    try {
      const { command, args: full } = tsxArgs(here(file), [...args, ...common]);
      const process = await startListening({
        name: id,
        command,
        args: full,
        readyPattern: /listening on (\S+)/,
      });
      started.push(process);
      return process;
    } catch (err) {
      options.onFail(id, `did not start: ${(err as Error).message.split("\n")[0]}`);
      return undefined;
    }
  }

  const wantsBare = (id: string) => options.wanted.has(id);
  const wantsGrpcio = options.wanted.has("grpcio");
  const wantsGrpcJs = options.wanted.has("grpc-js") || options.wanted.has("grpc-js-client");
  // The grpcio baseline fetches its images from bare-h1, so bare-h1 starts when either is wanted.
  const [bareH2, bareH1, grpcJs] = await Promise.all([
    wantsBare("bare-h2") ? start("bare-h2", "bare-server.ts", ["--http", "2"]) : undefined,
    wantsBare("bare-h1") || wantsGrpcio
      ? start("bare-h1", "bare-server.ts", ["--http", "1.1"])
      : undefined,
    wantsGrpcJs ? start("grpc-js", "grpc-js-server.ts", []) : undefined,
  ]);

  let grpcio: ListeningProcess | undefined;
  if (wantsGrpcio) {
    const missing = await pythonLacksGrpc(options.python);
    if (missing !== undefined) {
      options.onSkip("grpcio", missing);
    } else if (bareH1 === undefined) {
      options.onSkip(
        "grpcio",
        "needs the bare-h1 baseline to fetch its images from, which did not start",
      );
    } else {
      try {
        grpcio = await startListening({
          name: "grpcio",
          command: options.python,
          args: [
            here("grpcio-server.py"),
            "--proto",
            protoPath,
            "--chunk-bytes",
            String(options.chunkBytes),
            "--source",
            bareH1.url,
            "--prompt",
            options.fixedPrompt,
            "--images",
            options.fixedImages.map((image) => `${image.model}:${image.count}`).join(","),
          ],
          readyPattern: /listening on (\S+)/,
        });
        started.push(grpcio);
      } catch (err) {
        options.onSkip("grpcio", `did not start: ${(err as Error).message.split("\n")[0]}`);
      }
    }
  }

  return {
    endpoints: {
      bareH2: bareH2 && endpoint(bareH2),
      bareH1: bareH1 && wantsBare("bare-h1") ? endpoint(bareH1) : undefined,
      grpcJs: grpcJs && endpoint(grpcJs),
      grpcio: grpcio && endpoint(grpcio),
    },
    processes: started.map((process) => ({
      id: process.name,
      url: process.url,
      pid: process.pid,
      command: process.command.map((part) => part.replace(repoRoot, "")),
      banner: process.banner,
    })),
    async stop() {
      await Promise.all(started.map((process) => process.stop()));
    },
  };
}

/** Why python can't run the grpcio baseline, or undefined if it can. */
function pythonLacksGrpc(python: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    execFile(python, ["-c", "import grpc, grpc_tools"], { timeout: 20_000 }, (error, _out, err) => {
      if (error === null) {
        resolve(undefined);
      } else if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        resolve(`${python} not found (--python PATH)`);
      } else {
        const last = err.trim().split("\n").pop() ?? error.message;
        resolve(`${python} lacks grpc (${last}); install python3-grpcio and python3-grpc-tools`);
      }
    });
  });
}
