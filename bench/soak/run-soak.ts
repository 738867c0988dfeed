/**
 * `npm run soak -- --minutes N [--url URL]`: drives mixed traffic at a
 * ModelMora server for N minutes and checks that it stays within its
 * memory budget and answers every call the way it should.
 *
 * Spawns the server (`node --import tsx src/cli.ts --port 0`, short
 * connection timeouts) unless --url names a running one. Traffic, all at
 * once: ordinary calls over every protocol and HTTP version (images checked
 * against their SHA-256), streams cancelled after their first chunk, calls
 * past a 300 ms deadline, the malformed-input corpus, connections that
 * stall; and, in turns of a third of a minute each, a steady phase, a
 * slow-reader phase (50 HTTP/2 clients that never open their window) and a
 * reset phase (a storm of 300 streams opened and reset at once every 5 s).
 *
 * Prints a line every --report-seconds (10) with the server's RSS, CPU and
 * the error counts (stdout), and a summary at the end with the peak RSS of
 * each phase. Exit code 1 if RSS grows past the memory budget plus
 * --allowance-mib over the baseline taken after a warm-up, if any call ends
 * with a code it should not, if the server is not idle once the traffic
 * stops, or if a spawned server exits; 2 for bad flags.
 *
 * Reads no environment. See bench/soak/README.md.
 */
import { callCases, cancelledCall, deadlineCall, ordinaryCall } from "./call-traffic.js";
import {
  badInput,
  resetStorm,
  type SlowReaders,
  stalledConnection,
  startSlowReaders,
} from "./raw-traffic.js";
import { parseSoakOptions, type SoakOptions, usage } from "./soak-options.js";
import {
  attachServer,
  type ServerSample,
  type SoakServer,
  sampleServer,
  soakTimeouts,
  spawnServer,
} from "./soak-server.js";
import { createTally, type Tally } from "./tally.js";

type Phase = "steady" | "slow-readers" | "resets";
const phases: readonly Phase[] = ["steady", "slow-readers", "resets"];
const mib = 1024 * 1024;
/** Slow readers opened in each slow-reader phase. */
const slowReaderCount = 50;
/** Streams of each reset storm. */
const resetStreams = 300;

function mb(bytes: number): string {
  return `${Math.round(bytes / mib)} MiB`;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

async function main(): Promise<number> {
  let options: SoakOptions | "help";
  try {
    options = parseSoakOptions(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (options === "help") {
    process.stdout.write(usage);
    return 0;
  }
  const server: SoakServer =
    options.url === undefined ? await spawnServer() : attachServer(options.url);
  try {
    return await soak(server, options);
  } finally {
    await server.stop();
  }
}

async function soak(server: SoakServer, options: SoakOptions): Promise<number> {
  const { url } = server;
  const runId = `${process.pid}-${Date.now()}`;
  process.stderr.write(
    `soak: ${options.minutes} min against ${url}${options.url ? "" : " (spawned)"}\n`,
  );

  // Warm up: every protocol once, and a noise-1000 render, before the baseline.
  const warmUp = createTally();
  for (const callCase of callCases) await ordinaryCall(url, callCase, `warm ${runId}`, warmUp);
  await deadlineCall(url, `warm ${runId}`, warmUp, true);
  if (warmUp.totals().unexpected > 0) {
    process.stderr.write(`soak: the warm-up failed: ${warmUp.unexpected().join("; ")}\n`);
    return 1;
  }
  const baseline = await sampleServer(url);
  let budget = baseline.memoryBudgetBytes;
  if (budget === 0) {
    budget = options.fallbackBudgetBytes;
    process.stdout.write(
      `note: the server has no modelmora_memory_budget_bytes; holding it to --budget-mib ${budget / mib}\n`,
    );
  }
  const rssLimit = baseline.rssBytes + budget + options.allowanceBytes;
  process.stdout.write(
    `baseline RSS ${mb(baseline.rssBytes)}; memory budget ${mb(budget)}; allowance ${mb(options.allowanceBytes)}: RSS must stay under ${mb(rssLimit)}\n`,
  );

  const tally = createTally();
  const durationMs = options.minutes * 60_000;
  const cycleMs = Math.min(60_000, durationMs);
  const started = performance.now();
  const elapsed = () => performance.now() - started;
  const phaseAt = (ms: number): Phase =>
    phases[Math.min(2, Math.floor(((ms % cycleMs) / cycleMs) * 3))] as Phase;
  let running = true;
  const latencies: Record<Phase, number[]> = { steady: [], "slow-readers": [], resets: [] };
  const peakRss: Record<Phase, number> = { steady: 0, "slow-readers": 0, resets: 0 };
  let peakHeld = 0;
  /** Renders queued just before each reset storm, and 1 s after its client left. */
  const queuedAroundStorms: { before: number; after: number }[] = [];
  let overLimit: string | undefined;
  const scrapeFailures: string[] = [];

  const loop = async (body: (i: number) => Promise<void>) => {
    for (let i = 0; running; i++) await body(i);
  };
  const stallLimitMs =
    (options.url === undefined ? Math.max(...Object.values(soakTimeouts)) : 30_000) + 10_000;
  const workers = [
    ...[0, 1, 2].map((w) =>
      loop(async (i) => {
        const callCase = callCases[(i * 3 + w) % callCases.length] as (typeof callCases)[number];
        const phase = phaseAt(elapsed());
        latencies[phase].push(
          await ordinaryCall(url, callCase, `ordinary ${runId} ${w} ${i % 50}`, tally),
        );
      }),
    ),
    loop((i) => cancelledCall(url, `cancel ${runId} ${i}`, tally)),
    loop((i) => deadlineCall(url, `deadline ${runId} ${i}`, tally, i % 2 === 0)),
    loop((i) => badInput(url, i, tally)),
    ...[0, 1, 2].map((w) => loop((i) => stalledConnection(url, i * 3 + w, stallLimitMs, tally))),
  ];

  // The phases: slow readers while in theirs, reset storms every 5 s in theirs.
  const phaseDriver = (async () => {
    let readers: SlowReaders | undefined;
    let storm = 0;
    while (running) {
      const phase = phaseAt(elapsed());
      if (phase === "slow-readers" && readers === undefined) {
        readers = await startSlowReaders(url, slowReaderCount, `${runId} ${storm++}`, tally);
      } else if (phase !== "slow-readers" && readers !== undefined) {
        readers.stop();
        readers = undefined;
      }
      if (phase === "resets") {
        // The other traffic keeps renders queued; a storm must add none
        // once its client has left (without the fix each left ~3 a stream).
        const before = await sampleServer(url);
        await resetStorm(url, `${runId} ${storm++}`, tally, resetStreams);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        const after = await sampleServer(url);
        queuedAroundStorms.push({ before: before.rendersQueued, after: after.rendersQueued });
        await new Promise((resolve) => setTimeout(resolve, 5000));
      } else {
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    }
    readers?.stop();
  })();

  // Samples every second; a line every reportSeconds.
  let last: ServerSample = baseline;
  let lastAt = 0;
  let lastCpu = baseline.cpuSeconds;
  let lastReport = 0;
  while (elapsed() < durationMs && overLimit === undefined) {
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const exit = server.exited();
    if (exit !== undefined) {
      overLimit = `the server ${exit}: ${server.stderrTail().slice(-500)}`;
      break;
    }
    let sample: ServerSample;
    try {
      sample = await sampleServer(url);
    } catch (err) {
      // Not a call of the traffic: a busy machine can be slow to answer it.
      scrapeFailures.push((err as Error).message);
      continue;
    }
    const phase = phaseAt(elapsed());
    peakRss[phase] = Math.max(peakRss[phase], sample.rssBytes);
    peakHeld = Math.max(peakHeld, sample.memoryBytes);
    if (sample.rssBytes > rssLimit) {
      overLimit = `RSS ${mb(sample.rssBytes)} is past ${mb(rssLimit)} (baseline ${mb(baseline.rssBytes)} + budget ${mb(budget)} + allowance ${mb(options.allowanceBytes)})`;
    }
    if (elapsed() - lastReport >= options.reportSeconds * 1000) {
      const seconds = (elapsed() - lastAt) / 1000;
      const cpu = ((sample.cpuSeconds - lastCpu) / seconds) * 100;
      lastAt = elapsed();
      lastCpu = sample.cpuSeconds;
      lastReport = elapsed();
      progress(elapsed(), phase, sample, cpu, budget, tally);
    }
    last = sample;
  }
  running = false;
  await Promise.all([...workers, phaseDriver]);

  // Once the traffic stops, the server must go idle.
  let idle = false;
  for (let n = 0; n < 300 && !idle; n++) {
    last = await sampleServer(url);
    idle =
      last.rendersRunning + last.rendersQueued === 0 &&
      last.activeStreams === 0 &&
      last.streamBytes === 0;
    if (!idle) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  if (!idle) {
    tally.record(
      "end",
      "not_idle",
      false,
      `30 s after the traffic stopped: ${last.rendersRunning} renders running, ${last.rendersQueued} queued, ${last.activeStreams} streams, ${mb(last.streamBytes)} of the memory budget held for streams`,
    );
  }
  summary({
    baseline,
    budget,
    rssLimit,
    peakRss,
    peakHeld,
    latencies,
    queuedAroundStorms,
    tally,
    last,
    elapsedMs: elapsed(),
  });
  if (overLimit !== undefined) process.stdout.write(`FAIL: ${overLimit}\n`);
  const { unexpected } = tally.totals();
  if (unexpected > 0) {
    process.stdout.write(
      `FAIL: ${unexpected} calls ended unexpectedly:\n  ${tally.unexpected().join("\n  ")}\n`,
    );
  }
  const failed = overLimit !== undefined || unexpected > 0;
  process.stdout.write(failed ? "soak FAILED\n" : "soak passed\n");
  return failed ? 1 : 0;
}

function progress(
  ms: number,
  phase: Phase,
  s: ServerSample,
  cpu: number,
  budget: number,
  tally: Tally,
): void {
  const { expected, unexpected } = tally.totals();
  const counts = tally.counts();
  const total = (kind: string) => Object.values(counts[kind] ?? {}).reduce((a, b) => a + b, 0);
  const kinds = [
    "ordinary",
    "cancel",
    "deadline",
    "bad-input",
    "stall",
    "slow-reader",
    "reset-storm",
  ]
    .map((kind) => `${kind} ${total(kind)}`)
    .join(", ");
  process.stdout.write(
    `${String(Math.round(ms / 1000)).padStart(4)} s  ${phase.padEnd(12)} RSS ${mb(s.rssBytes).padStart(8)}  CPU ${String(Math.round(cpu)).padStart(3)}%  held ${mb(s.memoryBytes)}/${mb(budget)}  renders ${s.rendersRunning}+${s.rendersQueued}  streams ${s.activeStreams}  conns ${s.openConnections}  calls ${expected} as expected, ${unexpected} unexpected  (${kinds})\n`,
  );
}

function summary(r: {
  baseline: ServerSample;
  budget: number;
  rssLimit: number;
  peakRss: Record<Phase, number>;
  peakHeld: number;
  latencies: Record<Phase, number[]>;
  queuedAroundStorms: readonly { before: number; after: number }[];
  tally: Tally;
  last: ServerSample;
  elapsedMs: number;
}): void {
  const lines = [
    "",
    `summary after ${Math.round(r.elapsedMs / 1000)} s`,
    `  RSS: baseline ${mb(r.baseline.rssBytes)}, limit ${mb(r.rssLimit)}; peak ${mb(Math.max(...Object.values(r.peakRss)))}`,
    `  peak RSS by phase: steady ${mb(r.peakRss.steady)}, slow readers ${mb(r.peakRss["slow-readers"])}, reset storms ${mb(r.peakRss.resets)}`,
    `  modelmora_memory_bytes peak ${mb(r.peakHeld)} of a ${mb(r.budget)} budget`,
    `  ordinary calls (ms, p50 / max) by phase: ${(["steady", "slow-readers", "resets"] as const)
      .map(
        (phase) =>
          `${phase} ${Math.round(percentile(r.latencies[phase], 50))} / ${Math.round(Math.max(0, ...r.latencies[phase]))} (${r.latencies[phase].length} calls)`,
      )
      .join("; ")}`,
    `  renders queued just before each reset storm of ${resetStreams} streams → 1 s after its client left: ${r.queuedAroundStorms.map((q) => `${q.before} → ${q.after}`).join(", ") || "no storm"}`,
    `  connections the server closed, by reason: ${JSON.stringify(r.last.closedByReason)}`,
    "  outcomes by kind:",
    ...Object.entries(r.tally.counts()).map(
      ([kind, outcomes]) => `    ${kind}: ${JSON.stringify(outcomes)}`,
    ),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = 1;
  },
);
