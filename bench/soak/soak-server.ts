/**
 * The server the soak drives: spawned as the CLI in its own process (with
 * short connection timeouts, so stalled connections come and go during the
 * run), or one already running; and what its /metrics says about it.
 * Library module of bench/soak/run-soak.ts.
 */
import { type ChildProcess, spawn } from "node:child_process";
import http from "node:http";
import { fileURLToPath } from "node:url";

const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/**
 * The timeouts of a spawned server, ms: short, so the soak's stalled
 * connections are closed often. A server given by --url keeps its own.
 */
export const soakTimeouts = {
  firstByteTimeoutMs: 2000,
  headersTimeoutMs: 2000,
  bodyTimeoutMs: 3000,
  keepAliveTimeoutMs: 2000,
  idleTimeoutMs: 5000,
};

/** The server under soak. */
export interface SoakServer {
  readonly url: string;
  /** Why the spawned server ended, if it did; undefined while it runs (or when not spawned). */
  exited(): string | undefined;
  /** The last lines it wrote to stderr (spawned only). */
  stderrTail(): string;
  stop(): Promise<void>;
}

/** Spawns `node --import tsx src/cli.ts --port 0` and waits for its "listening" line. */
export function spawnServer(): Promise<SoakServer> {
  const args = ["--import", "tsx", "src/cli.ts", "--port", "0", "--log-level", "warn"];
  // Through the environment, as every flag can be: a server that does not
  // know a variable ignores it.
  const env = {
    ...process.env,
    MODELMORA_FIRST_BYTE_TIMEOUT_MS: String(soakTimeouts.firstByteTimeoutMs),
    MODELMORA_HEADERS_TIMEOUT_MS: String(soakTimeouts.headersTimeoutMs),
    MODELMORA_BODY_TIMEOUT_MS: String(soakTimeouts.bodyTimeoutMs),
    MODELMORA_KEEP_ALIVE_TIMEOUT_MS: String(soakTimeouts.keepAliveTimeoutMs),
    MODELMORA_IDLE_TIMEOUT_MS: String(soakTimeouts.idleTimeoutMs),
  };
  const child: ChildProcess = spawn(process.execPath, args, {
    cwd: repoRoot,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let exit: string | undefined;
  let stopping = false;
  child.stderr?.setEncoding("utf8");
  child.stderr?.on("data", (text: string) => {
    stderr = (stderr + text).slice(-8000);
  });
  const exited = new Promise<void>((resolve) => {
    child.once("exit", (code, signal) => {
      if (!stopping) exit = `exited with ${code ?? signal}`;
      resolve();
    });
  });
  // A soak stopped with Ctrl-C must not leave the server running.
  const killChild = () => child.kill("SIGKILL");
  process.once("exit", killChild);
  return new Promise((resolve, reject) => {
    let stdout = "";
    child.stdout?.setEncoding("utf8");
    child.stdout?.on("data", (text: string) => {
      stdout += text;
      const match = /modelmora listening on (\S+) \(/.exec(stdout);
      if (match !== null) {
        resolve({
          url: match[1] as string,
          exited: () => exit,
          stderrTail: () => stderr,
          async stop() {
            stopping = true;
            process.off("exit", killChild);
            child.kill("SIGTERM");
            await exited;
          },
        });
      }
    });
    void exited.then(() => reject(new Error(`the server did not start: ${stderr}`)));
  });
}

/** A server already running at url. */
export function attachServer(url: string): SoakServer {
  return {
    url,
    exited: () => undefined,
    stderrTail: () => "",
    stop: async () => {},
  };
}

/** What /metrics says, summed over series. */
export interface ServerSample {
  readonly rssBytes: number;
  readonly cpuSeconds: number;
  readonly memoryBytes: number;
  /** What streams hold: modelmora_memory_bytes of parts images and write_ahead (the cache aside). */
  readonly streamBytes: number;
  readonly memoryBudgetBytes: number;
  readonly rendersRunning: number;
  readonly rendersQueued: number;
  readonly activeStreams: number;
  readonly openConnections: number;
  /** modelmora_connections_closed_total by reason. */
  readonly closedByReason: Readonly<Record<string, number>>;
}

/** Reads GET /metrics (over HTTP/1.1, a connection of its own). */
export function sampleServer(url: string): Promise<ServerSample> {
  return new Promise((resolve, reject) => {
    const req = http.get(new URL("/metrics", url), { agent: false, timeout: 10_000 }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (part: string) => {
        text += part;
      });
      res.on("error", reject);
      res.on("end", () => resolve(parseSample(text)));
    });
    req.on("timeout", () => req.destroy(new Error("GET /metrics timed out")));
    req.on("error", reject);
  });
}

function parseSample(text: string): ServerSample {
  const sums = new Map<string, number>();
  const closedByReason: Record<string, number> = {};
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match === null) continue;
    const [, name, labels = "", value] = match as unknown as [string, string, string, string];
    const key =
      name === "modelmora_renders_in_progress" || name === "modelmora_memory_bytes"
        ? `${name}${labels}`
        : name;
    if (key !== name) sums.set(name, (sums.get(name) ?? 0) + Number(value));
    sums.set(key, (sums.get(key) ?? 0) + Number(value));
    if (name === "modelmora_connections_closed_total") {
      const reason = /reason="([^"]*)"/.exec(labels)?.[1] ?? "?";
      closedByReason[reason] = (closedByReason[reason] ?? 0) + Number(value);
    }
  }
  const get = (name: string) => sums.get(name) ?? 0;
  return {
    rssBytes: get("process_resident_memory_bytes"),
    cpuSeconds: get("process_cpu_seconds_total"),
    memoryBytes: get("modelmora_memory_bytes"),
    streamBytes:
      get('modelmora_memory_bytes{part="images"}') +
      get('modelmora_memory_bytes{part="write_ahead"}'),
    memoryBudgetBytes: get("modelmora_memory_budget_bytes"),
    rendersRunning: get('modelmora_renders_in_progress{state="running"}'),
    rendersQueued: get('modelmora_renders_in_progress{state="queued"}'),
    activeStreams: get("modelmora_active_streams"),
    openConnections: get("modelmora_open_connections"),
    closedByReason,
  };
}
