/**
 * What a run's figures depend on besides the code: the machine, the OS,
 * Node, the package versions and the git commit, recorded with every report
 * so a run can be compared and reproduced.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { repoRoot } from "../targets/index.js";

/**
 * The machine and runtime. loadAverageAtStart (1, 5, 15 minutes) tells
 * whether other processes were competing for the CPU.
 */
export function machineInfo(loadAverageAtStart: number[]): Record<string, unknown> {
  const cpus = os.cpus();
  return {
    loadAverageAtStart,
    loadAverageAtEnd: os.loadavg(),
    cpuModel: cpus[0]?.model ?? "unknown",
    cpuCount: cpus.length,
    availableParallelism: os.availableParallelism(),
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    v8: process.versions.v8,
    hostname: os.hostname(),
  };
}

/** Installed versions of the packages that shape the figures. */
export function packageVersions(): Record<string, string> {
  const names = [
    "@connectrpc/connect",
    "@connectrpc/connect-node",
    "@bufbuild/protobuf",
    "@grpc/grpc-js",
    "@grpc/proto-loader",
    "tinybench",
    "canvas",
    "@napi-rs/canvas",
    "tsx",
  ];
  const versions: Record<string, string> = {};
  for (const name of names) {
    try {
      const manifest = JSON.parse(
        readFileSync(join(repoRoot, "node_modules", name, "package.json"), "utf8"),
      ) as { version: string };
      versions[name] = manifest.version;
    } catch {
      versions[name] = "not installed";
    }
  }
  return versions;
}

/** The commit the run measured, and whether the work tree had changes. */
export function gitInfo(): { commit?: string; dirty?: boolean } | undefined {
  try {
    const commit = execFileSync("git", ["rev-parse", "HEAD"], {
      cwd: repoRoot,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    const status = execFileSync("git", ["status", "--porcelain", "--untracked-files=no"], {
      cwd: repoRoot,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    });
    return { commit, dirty: status.trim() !== "" };
  } catch {
    return undefined;
  }
}
