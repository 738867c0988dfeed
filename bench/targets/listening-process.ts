/**
 * Starts the processes the bench measures (the server under test, the
 * baselines), waits for the line each prints when it listens, and makes
 * sure every one of them is stopped when the bench ends: normally, on an
 * error, or on Ctrl-C.
 *
 * Library module of `npm run bench`; reads no flags or environment (the
 * children inherit the bench's environment).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

/** The repository's root folder. */
export const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** A process the bench started or targeted. */
export interface ProcessInfo {
  readonly id: string;
  readonly url: string;
  readonly pid?: number;
  readonly command?: readonly string[];
  readonly banner?: string;
  readonly notes?: string;
}

/** A child process that is listening. */
export interface ListeningProcess {
  /** Short name, for messages. */
  readonly name: string;
  /** The URL it printed. */
  readonly url: string;
  /** The full line it printed when ready. */
  readonly banner: string;
  readonly pid: number;
  /** The command line, for the report. */
  readonly command: string[];
  /** The last few KB it wrote to stderr. */
  stderrTail(): string;
  /** How it ended, if it ended by itself (not by stop()); undefined while it runs. */
  unexpectedExit(): string | undefined;
  /** SIGTERM, then SIGKILL after graceMs (default 2 s). */
  stop(graceMs?: number): Promise<void>;
}

/** Options for startListening. */
export interface StartOptions {
  name: string;
  command: string;
  args: string[];
  /** Matched against each stdout line; group 1 is the URL. */
  readyPattern: RegExp;
  /** Give up after this long. Default 60 s (tsx compiles on first start). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /** Keeps a stderr line in the tail; default keeps all. */
  keepStderrLine?: (line: string) => boolean;
}

const running = new Set<ChildProcess>();
let handlersInstalled = false;

/**
 * Kills every child still running, synchronously (usable from an 'exit'
 * handler).
 */
export function killAllChildren(): void {
  for (const child of running) {
    child.kill("SIGKILL");
  }
  running.clear();
}

/**
 * Makes the bench stop its children on exit and on SIGINT/SIGTERM.
 * onSignal runs first (to clear the progress line, for example).
 */
export function installCleanupHandlers(onSignal: (signal: NodeJS.Signals) => void): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.on("exit", killAllChildren);
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      onSignal(signal);
      killAllChildren();
      process.exit(signal === "SIGINT" ? 130 : 143);
    });
  }
}

/** Spawns a process and resolves once it printed the ready line. */
export function startListening(options: StartOptions): Promise<ListeningProcess> {
  const child = spawn(options.command, options.args, {
    cwd: repoRoot,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  running.add(child);
  let tail = "";
  let stopping = false;
  let exitedAs: string | undefined;
  child.stderr?.setEncoding("utf8");
  let partial = "";
  const keep = options.keepStderrLine ?? (() => true);
  child.stderr?.on("data", (text: string) => {
    const lines = (partial + text).split("\n");
    partial = lines.pop() ?? "";
    const kept = lines.filter(keep);
    if (kept.length > 0) tail = `${tail}${kept.join("\n")}\n`.slice(-4096);
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      exitedAs = signal !== null ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    });
  });

  return new Promise((resolve, reject) => {
    let buffered = "";
    let settled = false;
    const timer = setTimeout(() => {
      fail(new Error(`${options.name} did not start within ${options.timeoutMs ?? 60_000} ms`));
    }, options.timeoutMs ?? 60_000);
    function fail(err: Error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill("SIGKILL");
      const detail = tail.trim() === "" ? "" : `\n${tail.trim().split("\n").slice(-8).join("\n")}`;
      reject(new Error(`${err.message}${detail}`));
    }
    child.once("error", fail);
    child.once("exit", (code, signal) => {
      fail(new Error(`${options.name} exited (${signal ?? `code ${code}`}) before listening`));
    });
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", function onStdout(text: string) {
      buffered += text;
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        const match = options.readyPattern.exec(line);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          settled = true;
          child.stdout?.off("data", onStdout);
          child.stdout?.resume();
          resolve({
            name: options.name,
            url: match[1],
            banner: line,
            pid: child.pid as number,
            command: [options.command, ...options.args],
            stderrTail: () => tail,
            unexpectedExit: () => (stopping ? undefined : exitedAs),
            async stop(graceMs = 2000) {
              stopping = true;
              if (child.exitCode !== null || child.signalCode !== null) return;
              child.kill("SIGTERM");
              const timeout = new Promise<"timeout">((done) =>
                setTimeout(() => done("timeout"), graceMs).unref(),
              );
              if ((await Promise.race([exited, timeout])) === "timeout") {
                child.kill("SIGKILL");
                await exited;
              }
            },
          });
          return;
        }
        newline = buffered.indexOf("\n");
      }
    });
  });
}

/** Arguments that run a TypeScript file with tsx under this Node. */
export function tsxArgs(file: string, args: string[]): { command: string; args: string[] } {
  return { command: process.execPath, args: ["--import", "tsx", file, ...args] };
}
