/**
 * The CPU time and memory of a process serving the bench, read from outside
 * it: the server's GET /healthz (`process.cpu_user_us`, `cpu_system_us`,
 * `rss_bytes`, `max_rss_bytes`), which works for a server on another
 * machine too, or Linux's /proc/PID/stat and /proc/PID/status for the
 * baselines the bench spawned (utime+stime in clock ticks, VmRSS, VmHWM).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";
import http from "node:http";

/** One reading of a process's counters. */
export interface ProcessSnapshot {
  /** User + system CPU time since the process started, in microseconds. */
  readonly cpuUs: number;
  /** Resident set size now, in bytes. */
  readonly rssBytes: number;
  /** The largest resident set size so far, in bytes, where known. */
  readonly maxRssBytes?: number;
}

/** Where a process's counters come from. */
export interface StatsSource {
  /** "healthz" or "procfs". */
  readonly kind: "healthz" | "procfs";
  /** Reads the counters; undefined if they can't be read. */
  snapshot(): Promise<ProcessSnapshot | undefined>;
}

/** Reads GET /healthz of a ModelMora server. */
export function healthzStats(baseUrl: string, headers: Record<string, string> = {}): StatsSource {
  // Its own keep-alive agent: one connection polled every 100 ms, never
  // counted with the clients' sockets.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const url = new URL("/healthz", baseUrl);
  return {
    kind: "healthz",
    snapshot() {
      return new Promise((resolve) => {
        const req = http.get(url, { agent, headers, timeout: 2000 }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (part: string) => {
            text += part;
          });
          res.on("end", () => {
            try {
              const body = JSON.parse(text) as {
                process?: {
                  cpu_user_us: number;
                  cpu_system_us: number;
                  rss_bytes: number;
                  max_rss_bytes?: number;
                };
              };
              const p = body.process;
              resolve(
                p === undefined
                  ? undefined
                  : {
                      cpuUs: p.cpu_user_us + p.cpu_system_us,
                      rssBytes: p.rss_bytes,
                      maxRssBytes: p.max_rss_bytes,
                    },
              );
            } catch {
              resolve(undefined);
            }
          });
          res.on("error", () => resolve(undefined));
        });
        req.on("timeout", () => req.destroy());
        req.on("error", () => resolve(undefined));
      });
    },
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

/** Reads /proc/PID of a local process (Linux only; elsewhere every read is undefined). */
export function procfsStats(pid: number): StatsSource {
  const hz = ticksPerSecond();
  return {
    kind: "procfs",
    async snapshot() {
      try {
        const [stat, status] = await Promise.all([
          readFile(`/proc/${pid}/stat`, "utf8"),
          readFile(`/proc/${pid}/status`, "utf8"),
        ]);
        // Fields after the command name, which is in parentheses and may hold spaces:
        // state is field 3, utime 14, stime 15.
        const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
        const ticks = Number(fields[11]) + Number(fields[12]);
        const kb = (name: string) =>
          Number(new RegExp(`^${name}:\\s+(\\d+) kB`, "m").exec(status)?.[1]);
        return {
          cpuUs: (ticks / hz) * 1e6,
          rssBytes: kb("VmRSS") * 1024,
          maxRssBytes: kb("VmHWM") * 1024,
        };
      } catch {
        return undefined;
      }
    },
  };
}

/** What a StatsWatch saw over its span. */
export interface WatchResult {
  /** CPU time the process spent over the span, in ms; undefined if unreadable. */
  readonly cpuMs?: number;
  /** The largest RSS seen by polling, in bytes. */
  readonly peakRssBytes?: number;
  /** The process's lifetime largest RSS at the end (healthz max_rss_bytes or VmHWM). */
  readonly maxRssBytes?: number;
  /** RSS readings taken. */
  readonly samples: number;
}

/**
 * Watches a process over a span: CPU time at both ends, RSS polled every
 * intervalMs (default 100 ms) for its peak.
 */
export class StatsWatch {
  private first: ProcessSnapshot | undefined;
  private peak = 0;
  private samples = 0;
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: StatsSource,
    private readonly intervalMs = 100,
  ) {}

  /** Takes the first reading and starts polling. */
  async start(): Promise<void> {
    this.first = await this.source.snapshot();
    this.note(this.first);
    this.timer = setInterval(() => {
      // One reading at a time: a slow server must not pile up requests.
      this.polling = this.polling.then(async () => this.note(await this.source.snapshot()));
    }, this.intervalMs);
    this.timer.unref();
  }

  /** Stops polling and takes the last reading. */
  async stop(): Promise<WatchResult> {
    clearInterval(this.timer);
    await this.polling;
    const last = await this.source.snapshot();
    this.note(last);
    return {
      cpuMs:
        this.first !== undefined && last !== undefined
          ? (last.cpuUs - this.first.cpuUs) / 1000
          : undefined,
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
    if (snapshot === undefined || !Number.isFinite(snapshot.rssBytes)) return;
    this.samples++;
    this.peak = Math.max(this.peak, snapshot.rssBytes);
  }
}
