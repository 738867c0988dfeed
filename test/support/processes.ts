/**
 * Subprocesses: any command run to its end, curl as a client, the CLI as a
 * server (one "spawn and wait for the listening line" helper), and the
 * Python that has grpcio.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdir, readFile, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { ChunkLike } from "./images.js";
import { chunkFromJson, envelope, parseEnvelopes, type Target } from "./raw-http.js";
import { makeTempDir, repoRoot, within } from "./server.js";

/** What a finished subprocess left. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Runs a command (in the repository root unless told) to its end. Never throws for a non-zero exit. */
export function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; input?: Uint8Array | string; env?: NodeJS.ProcessEnv } = {},
): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd ?? repoRoot,
      env: options.env ?? process.env,
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (data: Buffer) => out.push(data));
    child.stderr.on("data", (data: Buffer) => err.push(data));
    child.on("error", reject);
    child.on("close", (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin.end(options.input);
  });
}

/** Runs curl with -sS; asserts it exits 0 unless allowFailure. */
export async function curl(args: readonly string[], allowFailure = false): Promise<RunResult> {
  const result = await run("curl", ["-sS", ...args]);
  if (!allowFailure) {
    assert.equal(result.code, 0, `curl ${args.join(" ")} failed: ${result.stderr}`);
  }
  return result;
}

/**
 * Calls StreamInference with curl over the Connect protocol with JSON:
 * an enveloped JSON request body, enveloped JSON messages back, and an
 * end-of-stream envelope (flag 2) last.
 */
export async function curlConnectStream(
  url: string,
  request: Record<string, unknown>,
  curlArgs: readonly string[] = [],
): Promise<{ chunks: ChunkLike[]; endStream: { error?: { code: string; message: string } } }> {
  const dir = await makeTempDir();
  try {
    const bodyPath = join(dir.path, "request.bin");
    await writeFile(bodyPath, envelope(JSON.stringify(request)));
    const result = await curl([
      ...curlArgs,
      "-H",
      "content-type: application/connect+json",
      "--data-binary",
      `@${bodyPath}`,
      `${url}/modelmora.InferenceService/StreamInference`,
    ]);
    const envelopes = parseEnvelopes(result.stdout);
    const last = envelopes.pop();
    assert.ok(last, "no envelopes in the response");
    assert.equal(last.flags, 2, "the last envelope is not the end of the stream");
    for (const { flags } of envelopes) {
      assert.equal(flags, 0, "a message envelope has flags set");
    }
    return {
      chunks: envelopes.map(({ data }) => chunkFromJson(JSON.parse(data.toString("utf8")))),
      endStream: JSON.parse(last.data.toString("utf8")),
    };
  } finally {
    await dir.remove();
  }
}

/** POSTs to /infer/stream with curl; returns status, headers and body. */
export async function curlRest(
  url: string,
  body: string,
  curlArgs: readonly string[] = [],
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const dir = await makeTempDir();
  try {
    // A file, not /dev/stderr: curl 7.88 crashes writing headers there
    // when stderr is a pipe.
    const headerPath = join(dir.path, "headers.txt");
    const result = await curl([
      ...curlArgs,
      "-D",
      headerPath,
      "-H",
      "content-type: application/json",
      "--data-binary",
      body,
      `${url}/infer/stream`,
    ]);
    return { ...parseHeaderDump(await readFile(headerPath, "utf8")), body: result.stdout };
  } finally {
    await dir.remove();
  }
}

/** Parses the header block curl writes with -D (the last one, after any 100). */
export function parseHeaderDump(dump: string): { status: number; headers: Record<string, string> } {
  const blocks = dump.split(/\r?\n\r?\n/).filter((block) => /^HTTP\//.test(block));
  const block = blocks[blocks.length - 1];
  assert.ok(block, `no HTTP status line in ${dump}`);
  const [statusLine, ...lines] = block.split(/\r?\n/);
  const status = Number(/^HTTP\/[\d.]+ (\d{3})/.exec(statusLine as string)?.[1]);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(":");
    if (colon > 0) {
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
  }
  return { status, headers };
}

/** One JSON log line of the server. */
export type LogLine = Record<string, unknown> & { level: string; msg: string };

/** The JSON lines of a log; other lines (plain diagnostics) are skipped. */
export function parseLogLines(text: string): LogLine[] {
  const lines: LogLine[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    lines.push(JSON.parse(line) as LogLine);
  }
  return lines;
}

/** How a process ended. */
export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** The CLI running as a subprocess. */
export interface CliServer extends Target {
  readonly child: ChildProcess;
  /** Everything written to stderr so far. */
  stderr(): string;
  /** The JSON log lines written to stderr so far (other lines are skipped). */
  logLines(): LogLine[];
  /** Resolves when the process exits. */
  readonly exited: Promise<Exit>;
  /** Sends a signal (default SIGTERM) unless it has exited, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
}

/** The command line of the CLI, as the tests run it: `node --import tsx src/cli.ts`. */
const cliCommand = ["--import", "tsx", "src/cli.ts"];

/** The environment of a CLI subprocess: this one's, without PORT, HOST or any MODELMORA_* setting. */
export function cliEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith("MODELMORA_") && name !== "PORT" && name !== "HOST") {
      env[name] = value;
    }
  }
  return { ...env, ...extra };
}

/**
 * Starts `node --import tsx src/cli.ts --port 0 ARGS` and waits for its
 * "modelmora listening on URL (...)" line. Rejects with its stderr when it
 * exits first. `ca` is kept on the result for clients of an HTTPS server.
 */
export async function startCli(
  args: readonly string[],
  options: { env?: Record<string, string>; ca?: string } = {},
): Promise<CliServer> {
  const child = spawn(process.execPath, [...cliCommand, "--port", "0", ...args], {
    cwd: repoRoot,
    env: cliEnv(options.env),
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (data: string) => {
    stderr += data;
  });
  const exited = new Promise<Exit>((resolve) => {
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  const url = await within(
    new Promise<string>((resolve, reject) => {
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (data: string) => {
        stdout += data;
        const match = /^modelmora listening on (\S+) \(/m.exec(stdout);
        if (match !== null) resolve(match[1] as string);
      });
      void exited.then(({ code, signal }) =>
        reject(new Error(`the CLI exited (${code ?? signal}) before listening: ${stderr}`)),
      );
    }),
    "the CLI's listening line",
  ).catch((err: unknown) => {
    child.kill("SIGKILL");
    throw err;
  });
  return {
    url,
    ca: options.ca,
    child,
    stderr: () => stderr,
    logLines: () => parseLogLines(stderr),
    exited,
    async stop(signal: NodeJS.Signals = "SIGTERM") {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill(signal);
      }
      return exited;
    },
  };
}

/** Waits (up to 30 s) for the CLI to exit. */
export function waitForExit(cli: CliServer): Promise<Exit> {
  return within(cli.exited, "the CLI to exit");
}

/** Runs the CLI to its end with the given flags and environment (for settings it rejects). */
export function runCli(args: readonly string[], env: Record<string, string> = {}) {
  return run(process.execPath, [...cliCommand, ...args], { env: cliEnv(env) });
}

/**
 * A Python 3 that can import grpc, grpc_tools and google.protobuf:
 * MODELMORA_PYTHON when set, else Debian's /usr/bin/python3 (the python3
 * first on PATH may lack them), else python3. Resolves with the
 * interpreter, or with the reason there is none.
 */
export async function findPython(): Promise<{ python: string } | { reason: string }> {
  const candidates =
    process.env.MODELMORA_PYTHON !== undefined
      ? [process.env.MODELMORA_PYTHON]
      : ["/usr/bin/python3", "python3"];
  const reasons: string[] = [];
  for (const python of candidates) {
    const probe = await run(python, ["-c", "import grpc, grpc_tools, google.protobuf"]).catch(
      (err: Error) => ({ code: -1, stderr: err.message }),
    );
    if (probe.code === 0) return { python };
    reasons.push(`${python}: ${probe.stderr.trim().split("\n").pop()}`);
  }
  return {
    reason: `no Python with grpc, grpc_tools and google.protobuf (apt-get install python3-grpcio python3-grpc-tools python3-protobuf): ${reasons.join("; ")}`,
  };
}

/** The Python a folder's examples run: see pythonForExamples. */
export interface ExamplesPython {
  /** The interpreter with grpcio; undefined when there is none. */
  readonly python: string | undefined;
  /** Why there is none (findPython's reason); "" when there is one. */
  readonly noPython: string;
  /** A folder to put first on PATH: its `python3` is that interpreter. */
  readonly bin: string;
}

/**
 * Finds a Python with grpcio (findPython) and makes it the `python3` of a
 * new folder `bin` under dir, since the docs' examples say `python3`.
 */
export async function pythonForExamples(dir: string): Promise<ExamplesPython> {
  const found = await findPython();
  const bin = join(dir, "bin");
  await mkdir(bin);
  if (!("python" in found)) return { python: undefined, noPython: found.reason, bin };
  // Ask the interpreter itself: a shell's `command -v` may search another
  // PATH (npm puts its own directories first).
  const resolved = (await run(found.python, ["-c", "import sys; print(sys.executable)"])).stdout
    .toString("utf8")
    .trim();
  await symlink(resolved, join(bin, "python3"));
  return { python: found.python, noPython: "", bin };
}

/**
 * Skips test t for want of Python, or fails it when MODELMORA_REQUIRE_PYTHON=1
 * (as CI sets it).
 */
export function skipWithoutPython(t: TestContext, reason: string): void {
  if (process.env.MODELMORA_REQUIRE_PYTHON === "1") {
    assert.fail(`MODELMORA_REQUIRE_PYTHON=1 but ${reason}`);
  }
  t.skip(reason);
}
