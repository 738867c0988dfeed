/**
 * The benchmark from inside Chromium: Connect binary, Connect JSON and
 * gRPC-Web through connect-web, and REST multipart through fetch, each
 * call made, timed (performance.now()) and verified (sizes, SHA-256 with
 * Web Crypto) in the server's own page, on the bench's single-request,
 * 10-concurrent and small-payload scenarios, transport-only and
 * end-to-end; the project's Node client on the same server beside them;
 * and a screenshot of the page after a Compare run.
 *
 *   npx tsx bench/browser/run-browser.ts              # full: h1.1 and h2 rows, ≈ 3 min
 *   npx tsx bench/browser/run-browser.ts --quick      # fewer iterations, ≈ 1 min
 *   npx tsx bench/browser/run-browser.ts --url http://127.0.0.1:8080   # a running server
 *
 * Flags: --url URL (measure that server; its scheme decides the HTTP
 * version, https: h2), --quick, --out DIR (results/browser), --api-key KEY,
 * --no-tls (no h2 rows), --no-node (no Node rows), -h. Environment:
 * MODELMORA_CHROMIUM (the browser, /usr/bin/chromium); MODELMORA_* reach
 * the spawned servers. Without Chromium it prints one line and exits 0.
 * Results: a table and a verdict on stdout; browser-<time>.json and .md,
 * compare-desktop.png and compare-phone.png in the out folder. Exit code
 * 1 when a row fails (an error, or a response that did not verify).
 */
// First: protobuf-es reads the base64 methods when it loads.
import "../../src/base64-polyfill.js";
import { mkdir, writeFile } from "node:fs/promises";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { Page } from "playwright-core";
import { createInferenceClient } from "../../src/client/index.js";
import { type BrowserProtocol, createBrowserBenchClient } from "./browser-client.js";
import { type BrowserSession, createBrowserSession } from "./browser-session.js";
import { chromiumMissing } from "./chromium.js";
import { saveCompareScreenshots } from "./compare-screenshot.js";
import { type ServerProcess, startServerProcess } from "./server-process.js";

const { values: flags } = parseArgs({
  options: {
    url: { type: "string" },
    quick: { type: "boolean" },
    out: { type: "string" },
    "api-key": { type: "string" },
    "no-tls": { type: "boolean" },
    "no-node": { type: "boolean" },
    help: { type: "boolean", short: "h" },
  },
});

if (flags.help) {
  process.stdout.write(
    "Usage: npx tsx bench/browser/run-browser.ts [--url URL] [--quick] [--out DIR] [--api-key KEY] [--no-tls] [--no-node]\n",
  );
  process.exit(0);
}

const protocols: readonly BrowserProtocol[] = ["connect", "connect-json", "grpc-web", "rest"];
const protocolTitles: Record<BrowserProtocol, string> = {
  connect: "Connect binary",
  "connect-json": "Connect JSON",
  "grpc-web": "gRPC-Web",
  rest: "REST multipart",
};

/** A workload, as the bench names it. */
interface Scenario {
  readonly id: "single" | "load" | "small";
  readonly title: string;
  readonly model: string;
  readonly batch: number;
  readonly clients: number;
  /** Measured iterations (rounds for load) per mode, then warm-ups (transport only). */
  readonly iterations: { transport: number; e2e: number; warmUp: number };
}

const quick = flags.quick === true;
const scenarios: readonly Scenario[] = [
  {
    id: "single",
    title: "Single request (noise-1000 × 10, 30.1 MB)",
    model: "noise-1000",
    batch: 10,
    clients: 1,
    iterations: quick ? { transport: 2, e2e: 1, warmUp: 1 } : { transport: 5, e2e: 2, warmUp: 1 },
  },
  {
    id: "load",
    title: "10 concurrent (noise-1000 × 5 each, 150.3 MB a round)",
    model: "noise-1000",
    batch: 5,
    clients: 10,
    iterations: quick ? { transport: 1, e2e: 1, warmUp: 0 } : { transport: 2, e2e: 1, warmUp: 1 },
  },
  {
    id: "small",
    title: "Small payload (thumb-64 × 10)",
    model: "thumb-64",
    batch: 10,
    clients: 1,
    iterations: quick ? { transport: 5, e2e: 3, warmUp: 2 } : { transport: 20, e2e: 10, warmUp: 3 },
  },
];
const modes = ["transport", "e2e"] as const;
type Mode = (typeof modes)[number];
const fixedPrompt = "modelmora bench: fixed prompt";
const runId = new Date().toISOString().replace(/[:.]/g, "-");

/** One row's figures in one scenario and mode. */
interface RowResult {
  readonly row: string;
  readonly client: "browser" | "node";
  readonly protocol: string;
  readonly httpVersion: string;
  readonly scenario: Scenario["id"];
  readonly mode: Mode;
  readonly error?: string;
  /** Mean time of a request (single, small) or a round (load), ms. */
  readonly meanMs?: number;
  /** Image bytes per request or round. */
  readonly bytes?: number;
  /** bytes / meanMs, MB/s (aggregate for load). */
  readonly megabytesPerSecond?: number;
  /** Median time to the first body byte, ms. */
  readonly firstChunkP50Ms?: number;
  /** Response body bytes per request over image bytes. */
  readonly overhead?: number;
  readonly samples?: number;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

function mean(values: readonly number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

let sequence = 0;
function promptOf(mode: Mode): string {
  return mode === "transport" ? fixedPrompt : `modelmora browser bench ${runId} ${sequence++}`;
}

/** The page's round hook, as a function run in the page sees it. */
interface PageRoundHooks {
  modelmoraBench: {
    round(calls: unknown[]): Promise<{
      roundMs: number;
      outcomes: {
        callError?: string;
        verifyError?: string;
        payloadBytes: number;
        httpVersion: string;
      }[];
    }>;
  };
}

/** Measures one browser row in one scenario and mode. */
async function measureBrowserRow(
  page: Page,
  protocol: BrowserProtocol,
  label: string,
  scenario: Scenario,
  mode: Mode,
  headers: Record<string, string>,
): Promise<RowResult> {
  const base = { row: label, client: "browser" as const, protocol, scenario: scenario.id, mode };
  const client = createBrowserBenchClient(page, { protocol, headers, chunkBytes: 1_000_000 });
  const call = () => ({
    modelId: scenario.model,
    prompt: promptOf(mode),
    batchSize: scenario.batch,
  });
  const measured = scenario.iterations[mode];
  const warmUps = mode === "transport" ? scenario.iterations.warmUp : 0;
  try {
    if (mode === "transport") {
      // The fixed prompt once, so the server has the images in its cache.
      (await client.stream({ ...call(), prompt: fixedPrompt })).assembler.finish();
    }
    if (scenario.clients > 1) {
      const rounds: { roundMs: number; bytes: number; version: string }[] = [];
      for (let i = 0; i < warmUps + measured; i++) {
        const calls = Array.from({ length: scenario.clients }, () => ({
          ...call(),
          protocol,
          headers,
        }));
        const round = await page.evaluate(
          (args) => (globalThis as unknown as PageRoundHooks).modelmoraBench.round(args),
          calls,
        );
        const failed = round.outcomes.find((o) => o.callError ?? o.verifyError);
        if (failed !== undefined) {
          throw new Error(failed.callError ?? failed.verifyError);
        }
        if (i >= warmUps) {
          rounds.push({
            roundMs: round.roundMs,
            bytes: round.outcomes.reduce((sum, o) => sum + o.payloadBytes, 0),
            version: round.outcomes[0]?.httpVersion ?? "",
          });
        }
      }
      const meanMs = mean(rounds.map((r) => r.roundMs));
      const bytes = rounds[0]?.bytes ?? 0;
      return {
        ...base,
        httpVersion: rounds[0]?.version ?? "",
        meanMs,
        bytes,
        megabytesPerSecond: bytes / 1e6 / (meanMs / 1000),
        samples: rounds.length,
      };
    }
    const samples: {
      totalMs: number;
      firstMs: number;
      bytes: number;
      body: number;
      version: string;
    }[] = [];
    for (let i = 0; i < warmUps + measured; i++) {
      const outcome = await client.stream(call());
      outcome.assembler.finish();
      if (i >= warmUps) {
        samples.push({
          totalMs: outcome.totalMs,
          firstMs: outcome.firstChunkMs,
          bytes: outcome.payloadBytes,
          body: outcome.bodyBytes,
          version: outcome.httpVersion,
        });
      }
    }
    const meanMs = mean(samples.map((s) => s.totalMs));
    const bytes = samples[0]?.bytes ?? 0;
    return {
      ...base,
      httpVersion: samples[0]?.version ?? "",
      meanMs,
      bytes,
      megabytesPerSecond: bytes / 1e6 / (meanMs / 1000),
      firstChunkP50Ms: median(samples.map((s) => s.firstMs)),
      overhead: mean(samples.map((s) => s.body / s.bytes)),
      samples: samples.length,
    };
  } catch (err) {
    return { ...base, httpVersion: "", error: (err as Error).message.split("\n")[0] };
  }
}

/** The project's Node client (connect-node, Connect binary) on the same scenario: the reference. */
async function measureNodeRow(
  baseUrl: string,
  httpVersion: "1.1" | "2",
  scenario: Scenario,
  mode: Mode,
  headers: Record<string, string>,
): Promise<RowResult> {
  const label = `Connect binary ${httpVersion === "2" ? "h2" : "h1.1"}, Node`;
  const base = {
    row: label,
    client: "node" as const,
    protocol: "connect",
    httpVersion: httpVersion === "2" ? "h2" : "http/1.1",
    scenario: scenario.id,
    mode,
  };
  const clients = Array.from({ length: scenario.clients }, () =>
    createInferenceClient({ baseUrl, protocol: "connect", httpVersion, headers }),
  );
  async function one(index: number, prompt: string) {
    const { client } = clients[index % clients.length] as (typeof clients)[number];
    const started = performance.now();
    let first: number | undefined;
    let bytes = 0;
    for await (const chunk of client.streamInference({
      modelId: scenario.model,
      prompt,
      batchSize: scenario.batch,
    })) {
      first ??= performance.now() - started;
      bytes += chunk.data.byteLength;
    }
    return { totalMs: performance.now() - started, firstMs: first ?? 0, bytes };
  }
  try {
    if (mode === "transport") await one(0, fixedPrompt);
    const warmUps = mode === "transport" ? scenario.iterations.warmUp : 0;
    const times: number[] = [];
    const firsts: number[] = [];
    let bytes = 0;
    for (let i = 0; i < warmUps + scenario.iterations[mode]; i++) {
      const started = performance.now();
      const results = await Promise.all(
        Array.from({ length: scenario.clients }, (_, c) => one(c, promptOf(mode))),
      );
      if (i < warmUps) continue;
      times.push(performance.now() - started);
      firsts.push(...results.map((r) => r.firstMs));
      bytes = results.reduce((sum, r) => sum + r.bytes, 0);
    }
    const meanMs = mean(times);
    return {
      ...base,
      meanMs,
      bytes,
      megabytesPerSecond: bytes / 1e6 / (meanMs / 1000),
      firstChunkP50Ms: scenario.clients === 1 ? median(firsts) : undefined,
      samples: times.length,
    };
  } catch (err) {
    return { ...base, error: (err as Error).message.split("\n")[0] };
  } finally {
    for (const { close } of clients) close();
  }
}

function fmt(value: number | undefined, digits = 1): string {
  return value === undefined ? "–" : value.toFixed(digits);
}

function tableOf(results: readonly RowResult[], scenario: Scenario, mode: Mode): string {
  const rows = results.filter((r) => r.scenario === scenario.id && r.mode === mode);
  const lines = [
    `### ${scenario.title} · ${mode === "transport" ? "transport-only" : "end-to-end"}`,
    "",
    "| row | client | HTTP | mean ms | MB/s | first byte p50 ms | body/image bytes | n |",
    "| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |",
  ];
  for (const r of rows) {
    lines.push(
      r.error !== undefined
        ? `| ${r.row} | ${r.client} | ${r.httpVersion || "–"} | FAILED: ${r.error} | | | | |`
        : `| ${r.row} | ${r.client} | ${r.httpVersion} | ${fmt(r.meanMs, 0)} | ${fmt(r.megabytesPerSecond)} | ${fmt(r.firstChunkP50Ms, 0)} | ${fmt(r.overhead, 3)} | ${r.samples} |`,
    );
  }
  return lines.join("\n");
}

/**
 * The verdict for browser clients: on the single request, transport-only,
 * the fastest browser protocol, the others as a share of it (within 10% is
 * noise on a shared machine), and the Node client beside it.
 */
function verdictOf(results: readonly RowResult[]): string[] {
  const lines: string[] = [];
  for (const version of ["h2", "http/1.1"]) {
    const rows = results.filter(
      (r) =>
        r.scenario === "single" &&
        r.mode === "transport" &&
        r.client === "browser" &&
        r.httpVersion === version &&
        r.megabytesPerSecond !== undefined,
    );
    if (rows.length === 0) continue;
    const best = rows.reduce((a, b) =>
      (a.megabytesPerSecond ?? 0) >= (b.megabytesPerSecond ?? 0) ? a : b,
    );
    const bestRate = best.megabytesPerSecond ?? 0;
    const close = rows.filter((r) => r !== best && (r.megabytesPerSecond ?? 0) >= bestRate * 0.9);
    const others = rows
      .filter((r) => r !== best && !close.includes(r))
      .sort((a, b) => (b.megabytesPerSecond ?? 0) - (a.megabytesPerSecond ?? 0))
      .map(
        (r) =>
          `${protocolTitles[r.protocol as BrowserProtocol]} ${fmt(((r.megabytesPerSecond ?? 0) / bestRate) * 100, 0)}%`,
      );
    const node = results.find(
      (r) =>
        r.client === "node" &&
        r.scenario === "single" &&
        r.mode === "transport" &&
        r.httpVersion === version &&
        r.megabytesPerSecond !== undefined,
    );
    lines.push(
      `Browser clients over ${version}: ${protocolTitles[best.protocol as BrowserProtocol]} is fastest at ${fmt(bestRate)} MB/s` +
        (close.length > 0
          ? `, with ${close.map((r) => protocolTitles[r.protocol as BrowserProtocol]).join(" and ")} within 10% (a tie on a shared machine)`
          : "") +
        (others.length > 0 ? `; then ${others.join(", ")} of it` : "") +
        (node !== undefined
          ? `. The Node client (Connect binary) gets ${fmt(node.megabytesPerSecond)} MB/s on the same request.`
          : "."),
    );
  }
  lines.push(
    "For browser pages: Connect binary, gRPC-Web or REST for images; Connect JSON only for small answers (it decodes base64 on the page's main thread).",
  );
  return lines;
}

async function main(): Promise<number> {
  const missing = chromiumMissing();
  if (missing !== undefined) {
    process.stderr.write(`browser rows skipped: ${missing}\n`);
    return 0;
  }
  const headers: Record<string, string> =
    flags["api-key"] === undefined ? {} : { "x-api-key": flags["api-key"] };
  const out = flags.out ?? "results/browser";
  const servers: ServerProcess[] = [];
  const sessions: BrowserSession[] = [];
  const results: RowResult[] = [];
  let screenshots: string[] = [];
  try {
    const targets: { url: string; label: string }[] = [];
    if (flags.url !== undefined) {
      targets.push({ url: flags.url, label: flags.url.startsWith("https:") ? "h2" : "h1.1" });
    } else {
      const plain = await startServerProcess({ tls: false });
      servers.push(plain);
      targets.push({ url: plain.url, label: "h1.1" });
      if (flags["no-tls"] !== true) {
        const secure = await startServerProcess({ tls: true });
        servers.push(secure);
        targets.push({ url: secure.url, label: "h2" });
      }
    }
    for (const target of targets) {
      const session = await createBrowserSession({ baseUrl: target.url });
      sessions.push(session);
      for (const protocol of protocols) {
        // One tab per row: its own connections, as one browser tab has.
        const page = await session.openPage();
        const label = `${protocolTitles[protocol]} ${target.label}, Chromium`;
        for (const scenario of scenarios) {
          for (const mode of modes) {
            process.stderr.write(`${label} · ${scenario.id} · ${mode}\n`);
            results.push(await measureBrowserRow(page, protocol, label, scenario, mode, headers));
          }
        }
        await page.context().close();
      }
    }
    if (flags["no-node"] !== true && flags.url === undefined) {
      const plain = targets[0]?.url as string;
      for (const httpVersion of ["1.1", "2"] as const) {
        for (const scenario of scenarios) {
          for (const mode of modes) {
            process.stderr.write(`Node Connect ${httpVersion} · ${scenario.id} · ${mode}\n`);
            results.push(await measureNodeRow(plain, httpVersion, scenario, mode, headers));
          }
        }
      }
    }
    const shots = await saveCompareScreenshots(sessions[sessions.length - 1] as BrowserSession, {
      dir: out,
      apiKey: flags["api-key"],
    });
    screenshots = shots.files;
  } finally {
    await Promise.allSettled(sessions.map((session) => session.close()));
    await Promise.allSettled(servers.map((server) => server.stop()));
  }
  const sections = scenarios.flatMap((scenario) =>
    modes.map((mode) => tableOf(results, scenario, mode)),
  );
  const verdict = verdictOf(results);
  const machine = `${cpus().length} × ${cpus()[0]?.model ?? "CPU"}, Node ${process.version}, Chromium via playwright-core; figures taken in the page with performance.now()`;
  const markdown = [
    "# The benchmark from inside Chromium",
    "",
    machine,
    "",
    ...sections.flatMap((section) => [section, ""]),
    "## Verdict for browser clients",
    "",
    ...verdict.map((line) => `- ${line}`),
    "",
    `Screenshots: ${screenshots.join(", ")}`,
    "",
  ].join("\n");
  await mkdir(out, { recursive: true });
  await writeFile(join(out, `browser-${runId}.md`), markdown);
  await writeFile(
    join(out, `browser-${runId}.json`),
    `${JSON.stringify({ runId, machine, scenarios, results, verdict, screenshots }, null, 2)}\n`,
  );
  process.stdout.write(markdown);
  process.stderr.write(`wrote ${join(out, `browser-${runId}.md`)} and .json\n`);
  return results.some((r) => r.error !== undefined) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`browser bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
