/**
 * HAProxy for the tests: deploy/haproxy/haproxy.cfg as it ships, run in
 * the foreground on free ports, its addresses given by environment. Tests
 * that need it skip with one line where haproxy is missing, unless
 * MODELMORA_REQUIRE_HAPROXY=1 (CI) makes that a failure.
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { freePort } from "./free-port.js";
import { run } from "./processes.js";
import { repoRoot, waitFor } from "./server.js";

/** The shipped configuration. */
export const haproxyConfig = join(repoRoot, "deploy/haproxy/haproxy.cfg");

/** A running HAProxy. */
export interface HaproxyProcess {
  /** Where clients connect, for example "http://127.0.0.1:40123". */
  readonly url: string;
  /** Its stats page, for example "http://127.0.0.1:40124/stats". */
  readonly statsUrl: string;
  /** What it wrote so far (its log lines go to stdout). */
  output(): string;
  /** Each server's status ("UP", "DOWN", "MAINT", …) by name (modelmora-1, modelmora-2). */
  serverStatus(): Promise<Record<string, string>>;
  /** Stops it and waits for the exit. */
  stop(): Promise<void>;
}

/**
 * Why haproxy can't be used here, or undefined when it can. With
 * MODELMORA_REQUIRE_HAPROXY=1 a missing haproxy fails instead.
 */
export async function haproxySkipReason(): Promise<string | undefined> {
  const probe = await run("haproxy", ["-v"]).catch(() => undefined);
  if (probe?.code === 0) {
    return undefined;
  }
  assert.notEqual(
    process.env.MODELMORA_REQUIRE_HAPROXY,
    "1",
    "MODELMORA_REQUIRE_HAPROXY=1 but haproxy does not run here (apt-get install haproxy)",
  );
  return "haproxy is not installed (apt-get install haproxy)";
}

/**
 * Starts HAProxy in front of two backends ("host:port" each) and waits
 * until it reports both UP.
 */
export async function startHaproxy(backends: readonly [string, string]): Promise<HaproxyProcess> {
  const port = await freePort();
  const statsPort = await freePort();
  const child: ChildProcess = spawn("haproxy", ["-db", "-f", haproxyConfig], {
    env: {
      ...process.env,
      MODELMORA_LB_BIND: `127.0.0.1:${port}`,
      MODELMORA_LB_STATS_BIND: `127.0.0.1:${statsPort}`,
      MODELMORA_BACKEND_1: backends[0],
      MODELMORA_BACKEND_2: backends[1],
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (data: Buffer) => {
    output += data.toString("utf8");
  });
  child.stderr?.on("data", (data: Buffer) => {
    output += data.toString("utf8");
  });
  const exited = once(child, "exit");
  const statsUrl = `http://127.0.0.1:${statsPort}/stats`;
  const process_: HaproxyProcess = {
    url: `http://127.0.0.1:${port}`,
    statsUrl,
    output: () => output,
    async serverStatus() {
      const response = await fetch(`${statsUrl};csv`);
      const lines = (await response.text()).split("\n");
      const header = (lines[0] ?? "").replace(/^# /, "").split(",");
      const name = header.indexOf("svname");
      const status = header.indexOf("status");
      const statuses: Record<string, string> = {};
      for (const line of lines.slice(1)) {
        const fields = line.split(",");
        if (fields[0] === "modelmora" && /^modelmora-\d+$/.test(fields[name] ?? "")) {
          statuses[fields[name] as string] = fields[status] as string;
        }
      }
      return statuses;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) {
        assert.fail(`haproxy exited (${child.exitCode}):\n${output}`);
      }
      const statuses = await process_.serverStatus().catch(() => ({}));
      return Object.values(statuses).filter((status) => status === "UP").length === 2;
    }, "haproxy to report both instances UP");
  } catch (err) {
    await process_.stop();
    throw err;
  }
  return process_;
}
