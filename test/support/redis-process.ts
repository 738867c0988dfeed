/**
 * A real redis-server for the tests: started on a free port of 127.0.0.1
 * with no persistence and a temporary folder of its own, stopped (and its
 * folder removed) by stop(). Tests that need one skip with one line where
 * redis-server is missing, unless MODELMORA_REQUIRE_REDIS=1 (CI) makes that
 * a failure.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { run } from "./processes.js";

/** A redis-server the test started. */
export interface RedisProcess {
  /** For example "redis://127.0.0.1:40123". */
  readonly url: string;
  readonly port: number;
  /** SIGSTOP: the server keeps its connections but answers nothing (a hang). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** Stops the server (SIGTERM) and waits for it to exit; its data is gone. */
  kill(): Promise<void>;
  /** Starts a new server on the same port, after kill(). */
  restart(): Promise<void>;
  /** Stops the server if it runs and removes its folder. */
  stop(): Promise<void>;
}

/**
 * Why redis-server can't be used here, or undefined when it can. With
 * MODELMORA_REQUIRE_REDIS=1 a missing redis-server fails instead.
 */
export async function redisSkipReason(): Promise<string | undefined> {
  const probe = await run("redis-server", ["--version"]).catch(() => undefined);
  if (probe?.code === 0) {
    return undefined;
  }
  assert.notEqual(
    process.env.MODELMORA_REQUIRE_REDIS,
    "1",
    "MODELMORA_REQUIRE_REDIS=1 but redis-server does not run here (apt-get install redis-server)",
  );
  return "redis-server is not installed (apt-get install redis-server)";
}

/** Starts redis-server on a free port; resolves once it accepts connections. */
export async function startRedis(): Promise<RedisProcess> {
  const dir = await mkdtemp(join(tmpdir(), "modelmora-redis-"));
  const port = await freePort();
  let child: ChildProcess | undefined;

  async function start(): Promise<void> {
    const server = spawn(
      "redis-server",
      [
        "--port",
        String(port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        dir,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    child = server;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const onData = (data: Buffer) => {
        output += data.toString("utf8");
        if (output.includes("Ready to accept connections")) {
          server.stdout?.off("data", onData);
          server.stdout?.resume();
          resolve();
        }
      };
      server.stdout?.on("data", onData);
      server.stderr?.on("data", (data: Buffer) => {
        output += data.toString("utf8");
      });
      server.once("error", reject);
      server.once("exit", (code) =>
        reject(new Error(`redis-server exited (${code}) before it was ready:\n${output}`)),
      );
    });
  }

  async function kill(): Promise<void> {
    const server = child;
    child = undefined;
    if (server === undefined || server.exitCode !== null || server.signalCode !== null) {
      return;
    }
    server.kill("SIGCONT");
    const exited = once(server, "exit");
    server.kill("SIGTERM");
    await exited;
  }

  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    pause: () => child?.kill("SIGSTOP"),
    resume: () => child?.kill("SIGCONT"),
    kill,
    restart: start,
    async stop() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
