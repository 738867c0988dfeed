/**
 * The server under test for the browser bench, in a process of its own:
 * `node --import tsx src/cli.ts --port 0`, cleartext (browsers then use
 * HTTP/1.1) or with a self-signed certificate made with openssl for the
 * run (browsers then use HTTP/2). Resolves once it prints its listening
 * line; stop() ends it.
 *
 * Library module of the browser bench; its children inherit the
 * environment (MODELMORA_* settings reach the server).
 */
import { execFile, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** A listening server process. */
export interface ServerProcess {
  /** The URL it printed, e.g. "https://127.0.0.1:40123". */
  readonly url: string;
  readonly pid: number;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
}

/** Starts the server; with tls, on a certificate for localhost and 127.0.0.1 made for the run. */
export async function startServerProcess(options: {
  tls: boolean;
  args?: readonly string[];
}): Promise<ServerProcess> {
  const dir = await mkdtemp(join(tmpdir(), "modelmora-browser-bench-"));
  const args = ["--import", "tsx", "src/cli.ts", "--port", "0", "--host", "127.0.0.1"];
  if (options.tls) {
    const cert = join(dir, "cert.pem");
    const key = join(dir, "key.pem");
    await promisify(execFile)("openssl", [
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-subj",
      "/CN=localhost",
      "-days",
      "1",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
    ]);
    args.push("--tls-cert", cert, "--tls-key", key);
  }
  args.push(...(options.args ?? []));
  const child = spawn(process.execPath, args, {
    cwd: repoRoot,
    env: { ...process.env, MODELMORA_LOG_LEVEL: process.env.MODELMORA_LOG_LEVEL ?? "warn" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (text: string) => {
    stderr = (stderr + text).slice(-4096);
  });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let stdout = "";
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`the server did not listen within 60 s: ${stderr}`));
    }, 60_000);
    child.stdout.setEncoding("utf8");
    child.stdout.on("data", (text: string) => {
      stdout += text;
      const match = /modelmora listening on (\S+) \(/.exec(stdout);
      if (match !== null) {
        clearTimeout(timer);
        resolve(match[1] as string);
      }
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`the server exited before listening: ${stderr}`));
    });
  });
  return {
    url,
    pid: child.pid ?? 0,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}
