/**
 * The CPU time and memory of a process serving the bench, read from
 * outside it:
 *
 * - the ModelMora server: its Prometheus `GET /metrics` (prom-client's
 *   `process_cpu_seconds_total` and `process_resident_memory_bytes`), which
 *   works for a server on another machine too; when the bench spawned the
 *   server, RSS is polled from /proc instead (so polling costs the server
 *   nothing) and the peak comes from /proc's VmHWM;
 * - the baselines the bench spawned: Linux's /proc/PID/stat and
 *   /proc/PID/status (utime+stime in clock ticks, VmRSS, VmHWM).
 *
 * /proc readings cover the process and its descendants (a server that forks
 * workers counts them all).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import http from "node:http";

/** One reading of a process's counters; a field is undefined when unreadable. */
export interface ProcessSnapshot {
  /** User + system CPU time since the process started, in microseconds. */
  readonly cpuUs?: number;
  /** Resident set size now, in bytes. */
  readonly rssBytes?: number;
  /** The largest resident set size so far, in bytes, where known. */
  readonly maxRssBytes?: number;
}

/** Where a process's counters come from. */
export interface StatsSource {
  /** "metrics" (GET /metrics, RSS maybe from /proc) or "procfs" (/proc only). */
  readonly kind: "metrics" | "procfs";
  /** Every counter, for the ends of a measured span; undefined if nothing could be read. */
  snapshot(): Promise<ProcessSnapshot | undefined>;
  /** Memory alone, for polling during a span: the cheapest way this source has. */
  memory(): Promise<ProcessSnapshot | undefined>;
  /** How often memory() is polled, ms. */
  readonly pollMs: number;
}

/** Sum of a Prometheus sample over every label set, or undefined when absent. */
export function prometheusValue(text: string, name: string): number | undefined {
  const pattern = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+(\\S+)`, "gm");
  let total: number | undefined;
  for (const match of text.matchAll(pattern)) {
    const value = Number(match[1]);
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

/** GETs path on baseUrl over its own keep-alive connection; the body, or undefined on any failure. */
function createGetter(baseUrl: string, headers: Record<string, string>) {
  // Its own agent: one connection, never counted with the clients' sockets.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  return function get(path: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      const req = http.get(new URL(path, baseUrl), { agent, headers, timeout: 2000 }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (part: string) => {
          text += part;
        });
        res.on("end", () => resolve(res.statusCode === 200 ? text : undefined));
        res.on("error", () => resolve(undefined));
      });
      req.on("timeout", () => req.destroy());
      req.on("error", () => resolve(undefined));
    });
  };
}

/**
 * Reads a ModelMora server's GET /metrics. With pid (a server the bench
 * spawned), RSS is polled from /proc and the lifetime peak is VmHWM.
 */
export function metricsStats(
  baseUrl: string,
  headers: Record<string, string> = {},
  pid?: number,
): StatsSource {
  const get = createGetter(baseUrl, headers);
  async function fromMetrics(): Promise<ProcessSnapshot | undefined> {
    const text = await get("/metrics");
    if (text === undefined) return undefined;
    const cpuSeconds = prometheusValue(text, "process_cpu_seconds_total");
    const rssBytes = prometheusValue(text, "process_resident_memory_bytes");
    if (cpuSeconds === undefined && rssBytes === undefined) return undefined;
    return { cpuUs: cpuSeconds === undefined ? undefined : cpuSeconds * 1e6, rssBytes };
  }
  const proc = pid === undefined ? undefined : procfsStats(pid);
  return {
    kind: "metrics",
    pollMs: proc === undefined ? 250 : 100,
    async snapshot() {
      const [metrics, memory] = await Promise.all([fromMetrics(), proc?.memory()]);
      if (metrics === undefined) return undefined;
      return {
        cpuUs: metrics.cpuUs,
        rssBytes: memory?.rssBytes ?? metrics.rssBytes,
        maxRssBytes: memory?.maxRssBytes,
      };
    },
    memory: () => (proc === undefined ? fromMetrics() : proc.memory()),
  };
}

let clockTicksPerSecond: number | undefined;

function ticksPerSecond(): number {
  if (clockTicksPerSecond === undefined) {
    try {
      clockTicksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }));
    } catch {
      clockTicksPerSecond = 100;
    }
    if (!Number.isFinite(clockTicksPerSecond) || clockTicksPerSecond <= 0) {
      clockTicksPerSecond = 100;
    }
  }
  return clockTicksPerSecond;
}

/** pid and its descendants, from /proc/PID/task/TID/children. */
async function processTree(pid: number): Promise<number[]> {
  const all: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const next = queue.shift() as number;
    all.push(next);
    try {
      for (const task of await readdir(`/proc/${next}/task`)) {
        const children = await readFile(`/proc/${next}/task/${task}/children`, "utf8").catch(
          () => "",
        );
        for (const child of children.split(" ")) {
          if (child.trim() !== "") queue.push(Number(child));
        }
      }
    } catch {
      // Gone, or not Linux: what was read so far.
    }
  }
  return all;
}

function statusKb(status: string, name: string): number {
  return Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
}

/** Reads /proc/PID (and its descendants) of a local process; Linux only, undefined elsewhere. */
export function procfsStats(pid: number): StatsSource {
  const hz = ticksPerSecond();
  async function read(withCpu: boolean): Promise<ProcessSnapshot | undefined> {
    let cpuTicks = 0;
    let rssKb = 0;
    let maxRssKb = 0;
    let read = 0;
    for (const id of await processTree(pid)) {
      try {
        const [stat, status] = await Promise.all([
          withCpu ? readFile(`/proc/${id}/stat`, "utf8") : Promise.resolve(""),
          readFile(`/proc/${id}/status`, "utf8"),
        ]);
        if (withCpu) {
          // Fields after the command name, which is in parentheses and may
          // hold spaces: state is field 3, utime 14, stime 15.
          const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
          cpuTicks += Number(fields[11]) + Number(fields[12]);
        }
        rssKb += statusKb(status, "VmRSS");
        maxRssKb += statusKb(status, "VmHWM");
        read++;
      } catch {
        // A descendant that just ended.
      }
    }
    if (read === 0 || !Number.isFinite(rssKb)) return undefined;
    return {
      cpuUs: withCpu ? (cpuTicks / hz) * 1e6 : undefined,
      rssBytes: rssKb * 1024,
      // With descendants, the sum of each one's peak: an upper bound.
      maxRssBytes: Number.isFinite(maxRssKb) ? maxRssKb * 1024 : undefined,
    };
  }
  return { kind: "procfs", pollMs: 100, snapshot: () => read(true), memory: () => read(false) };
}

/** What a StatsWatch saw over its span. */
export interface WatchResult {
  /** CPU time the process spent over the span, in ms; undefined if unreadable. */
  readonly cpuMs?: number;
  /** The largest RSS seen by polling, in bytes. */
  readonly peakRssBytes?: number;
  /** The process's lifetime largest RSS at the end (VmHWM), where known. */
  readonly maxRssBytes?: number;
  /** RSS readings taken. */
  readonly samples: number;
}

/**
 * Watches a process over a span: CPU time at both ends, RSS polled every
 * source.pollMs for its peak.
 */
export class StatsWatch {
  private first: ProcessSnapshot | undefined;
  private peak = 0;
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();

  constructor(private readonly source: StatsSource) {}

  /** Takes the first reading and starts polling. */
  async start(): Promise<void> {
    this.first = await this.source.snapshot();
    this.note(this.first);
    this.timer = setInterval(() => {
      // One reading at a time: a slow server must not pile up requests.
      this.polling = this.polling.then(async () => this.note(await this.source.memory()));
    }, this.source.pollMs);
    this.timer.unref();
  }

  /** Stops polling and takes the last reading. */
  async stop(): Promise<WatchResult> {
    clearInterval(this.timer);
    await this.polling;
    const last = await this.source.snapshot();
    this.note(last);
    const before = this.first?.cpuUs;
    const after = last?.cpuUs;
    return {
      cpuMs: before !== undefined && after !== undefined ? (after - before) / 1000 : undefined,
      peakRssBytes: this.samples > 0 ? this.peakWith(last) : undefined,
      maxRssBytes: last?.maxRssBytes,
      samples: this.samples,
    };
  }

  /**
   * The polled peak, or the lifetime peak when that rose during the span:
   * then it was reached within the span, even between two polls.
   */
  private peakWith(last: ProcessSnapshot | undefined): number {
    const before = this.first?.maxRssBytes;
    const after = last?.maxRssBytes;
    if (before !== undefined && after !== undefined && after > before) {
      return Math.max(this.peak, after);
    }
    return this.peak;
  }

  private note(snapshot: ProcessSnapshot | undefined): void {
    const rss = snapshot?.rssBytes;
    if (rss === undefined || !Number.isFinite(rss)) return;
    this.samples++;
    this.peak = Math.max(this.peak, rss);
  }
}
