/**
 * Rows measured from Python clients (client stack "python"): grpcio for
 * gRPC, httpx for REST, the proof of concept's client stack, and the
 * project's Python SDK over both. Each row's clients live in one Python
 * process (bench/clients/python-client.py --serve) that times and verifies
 * every call itself and answers over stdin/stdout; this module turns that
 * process into BenchClients.
 *
 * Library module of `npm run bench`; reads no flags or environment (the
 * Python interpreter comes from --python).
 */
import { type ChildProcessWithoutNullStreams, spawn, spawnSync } from "node:child_process";
import { once } from "node:events";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { Mode, ScenarioId } from "../cli/index.js";
import { type HashingMode, VerificationError, type VerifiedImage } from "../verify/index.js";
import type { OpenedFamily, RowFamily, RowInfo, RowSpec, TargetRowContext } from "./rows.js";
import type { BenchClient, StreamCall, StreamOutcome } from "./types.js";

const driverPath = fileURLToPath(new URL("python-client.py", import.meta.url));

/** The driver's --client for each row. */
const driverClients: Readonly<Record<string, string>> = {
  "python-grpcio": "grpcio",
  "python-httpx-h1": "httpx",
  "python-sdk-grpc": "sdk-grpc",
  "python-sdk-rest-h1": "sdk-rest",
};

/**
 * Where the Python SDK rows take part: everywhere but the end-to-end load,
 * which is drawing-bound (every client gets the server's drawing rate) and
 * already has the proof of concept's own Python clients; leaving them out
 * of it keeps a full run under 10 minutes.
 */
function pythonSdkTakesPart(scenario: ScenarioId, mode: Mode): boolean {
  return !(scenario === "load" && mode === "e2e");
}

/** The Python rows, in table order: the proof of concept's stack first, so its rule uses them. */
export const pythonRowInfos: readonly RowInfo[] = [
  {
    id: "python-grpcio",
    label: "Python grpcio h2",
    kind: "protocol",
    client: "python",
    protocol: "grpc",
    library: "grpcio",
    httpVersion: "2",
    description:
      "Python grpc.aio client with the generated stub (the proof of concept's client) → ModelMora server",
  },
  {
    id: "python-httpx-h1",
    label: "Python httpx h1.1",
    kind: "protocol",
    client: "python",
    protocol: "rest",
    library: "httpx",
    httpVersion: "1.1",
    description:
      "Python httpx.AsyncClient, POST /infer/stream read with aiter_raw() (the proof of concept's REST client) → ModelMora server",
  },
  {
    id: "python-sdk-grpc",
    label: "Python SDK gRPC h2",
    kind: "protocol",
    client: "python",
    protocol: "grpc",
    library: "modelmora SDK (grpcio)",
    httpVersion: "2",
    description:
      "the project's Python SDK (AsyncModelMoraClient, gRPC): whole images, SHA-256 checked as they arrive → ModelMora server",
    takesPart: pythonSdkTakesPart,
  },
  {
    id: "python-sdk-rest-h1",
    label: "Python SDK REST h1.1",
    kind: "protocol",
    client: "python",
    protocol: "rest",
    library: "modelmora SDK (httpx)",
    httpVersion: "1.1",
    description:
      "the project's Python SDK (AsyncModelMoraClient, REST): whole images, SHA-256 checked as they arrive → ModelMora server",
    takesPart: pythonSdkTakesPart,
  },
];

/** One answer of the driver. */
interface DriverAnswer {
  id: number;
  ok: boolean;
  error?: string;
  [field: string]: unknown;
}

/** A driver process: commands out, answers in, matched by id. */
class PythonDriver {
  private nextId = 1;
  private nextClient = 0;
  private readonly pending = new Map<
    number,
    { resolve(answer: DriverAnswer): void; reject(err: Error): void }
  >();
  private exited: Error | undefined;

  /** Resolves on the driver's first line, {"ready": true, …}. */
  private readonly ready: Promise<void>;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {
    const stderr: string[] = [];
    child.stderr.on("data", (data: Buffer) => stderr.push(data.toString("utf8")));
    child.stdin.on("error", () => {}); // the exit handler reports a dead process
    let started: { resolve(): void; reject(err: Error): void } | undefined;
    this.ready = new Promise<void>((resolve, reject) => {
      started = { resolve, reject };
    });
    // One reader for every line: a second readline on the same stream would
    // pause it when closed.
    const lines = createInterface({ input: child.stdout });
    lines.on("line", (line) => {
      let answer: DriverAnswer & { ready?: boolean };
      try {
        answer = JSON.parse(line) as DriverAnswer & { ready?: boolean };
      } catch {
        started?.reject(new Error(`unexpected line from ${driverPath}: ${line}`));
        return;
      }
      if (answer.ready === true) {
        started?.resolve();
        return;
      }
      const waiter = this.pending.get(answer.id);
      if (waiter === undefined) return;
      this.pending.delete(answer.id);
      waiter.resolve(answer);
    });
    child.once("error", (err) => started?.reject(err));
    child.on("exit", (code, signal) => {
      const last = stderr.join("").trim().split("\n").pop() ?? "";
      this.exited = new Error(
        `the Python client process ended (${signal ?? `exit ${code}`})${last ? `: ${last}` : ""}`,
      );
      started?.reject(this.exited);
      for (const waiter of this.pending.values()) waiter.reject(this.exited);
      this.pending.clear();
    });
  }

  /** Starts a driver and waits for its ready line. */
  static async start(python: string, args: readonly string[]): Promise<PythonDriver> {
    const child = spawn(python, [driverPath, "--serve", ...args], {
      stdio: ["pipe", "pipe", "pipe"],
    });
    const driver = new PythonDriver(child);
    await driver.ready;
    return driver;
  }

  /** Sends one command and waits for its answer; rejects with the driver's error. */
  async call(op: string, fields: Record<string, unknown> = {}): Promise<DriverAnswer> {
    if (this.exited) throw this.exited;
    const id = this.nextId++;
    const answer = new Promise<DriverAnswer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
    });
    this.child.stdin.write(`${JSON.stringify({ id, op, ...fields })}\n`);
    const result = await answer;
    if (!result.ok) {
      const message = result.error ?? "failed";
      throw message.startsWith("VerificationError")
        ? new VerificationError(message.replace(/^VerificationError: /, ""))
        : new Error(message);
    }
    return result;
  }

  /** A new client in the driver (a new connection). */
  createClient(): BenchClient {
    const client = this.nextClient++;
    const opened = this.call("open", { client });
    opened.catch(() => {}); // reported by the first call that awaits it
    const driver = this;
    return {
      async stream(call: StreamCall, hashing: HashingMode): Promise<StreamOutcome> {
        await opened;
        const answer = await driver.call("stream", {
          client,
          model_id: call.modelId,
          prompt: call.prompt,
          batch_size: call.batchSize,
          hashing,
        });
        const images = answer.images as VerifiedImage[];
        return {
          firstChunkMs: answer.firstChunkMs as number,
          totalMs: answer.totalMs as number,
          payloadBytes: answer.payloadBytes as number,
          chunks: answer.chunks as number,
          chunksNominal: answer.chunksNominal as boolean,
          // Verified in Python, after its timed part; finish() reports what it checked.
          assembler: { finish: () => images },
        };
      },
      async unary(): Promise<void> {
        await opened;
        await driver.call("unary", { client });
      },
      async timedUnary(): Promise<number> {
        await opened;
        return (await driver.call("unary", { client })).totalMs as number;
      },
      sockets: undefined,
      close(): void {
        opened.then(
          () => driver.call("close", { client }).catch(() => {}),
          () => {},
        );
      },
    };
  }

  /** This process's CPU time so far, ms (every thread, verification left out). */
  async cpuMs(): Promise<number> {
    return (await this.call("cpu")).cpuMs as number;
  }

  async stop(): Promise<void> {
    if (this.exited) return;
    const exit = once(this.child, "exit");
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exit;
    clearTimeout(timer);
  }
}

/** Why python can't run the driver, or undefined when it can. */
function missingModules(python: string): string | undefined {
  const probe = spawnSync(python, ["-c", "import grpc, google.protobuf, httpx"], {
    encoding: "utf8",
  });
  if (probe.status === 0) return undefined;
  const why = probe.error?.message ?? probe.stderr.trim().split("\n").pop();
  return `${python} cannot import grpc, google.protobuf and httpx (python3-grpcio, python3-protobuf, python3-httpx; --python PATH): ${why}`;
}

/** The Python client stack: one driver process per row. */
export const pythonFamily: RowFamily = {
  id: "python",
  rows: pythonRowInfos,
  async open(context: TargetRowContext, wanted: readonly RowInfo[]): Promise<OpenedFamily> {
    const python = context.options.python;
    const missing = missingModules(python);
    if (missing !== undefined) {
      return {
        rows: [],
        skipped: wanted.map((row) => ({ row: row.id, reason: missing })),
        async close() {},
      };
    }
    const drivers: PythonDriver[] = [];
    const rows: RowSpec[] = [];
    try {
      for (const row of wanted) {
        const args = [
          "--url",
          context.baseUrl,
          "--client",
          driverClients[row.id] as string,
          "--chunk-bytes",
          String(context.chunkBytes),
        ];
        const apiKey = context.headers["x-api-key"];
        if (apiKey !== undefined) args.push("--api-key", apiKey);
        const driver = await PythonDriver.start(python, args);
        drivers.push(driver);
        rows.push({
          ...row,
          stats: context.stats,
          createClient: () => driver.createClient(),
          clientCpuMs: () => driver.cpuMs(),
        });
      }
    } catch (err) {
      await Promise.all(drivers.map((driver) => driver.stop()));
      throw err;
    }
    return {
      rows,
      async close() {
        await Promise.all(drivers.map((driver) => driver.stop()));
      },
    };
  },
};
