/**
 * The report's tables as plain data (title, header, cells), shared by the
 * terminal, Markdown and HTML renderers so they always show the same
 * figures: one table per scenario and mode, the sweeps pivoted by size and
 * level, the open loop by rate, and the conclusions' tables. Number formats
 * follow the proof of concept's sample output ("977.1ms", "30.1MB",
 * "30.75 MB/s"); MB is 10^6 bytes; a figure measured in rounds shows its
 * median and, in parentheses, the range of its rounds.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { type Mode, sizeLabel } from "../cli/index.js";
import type { Expectation, TargetCheck } from "../conclusions/index.js";
import {
  groupKey,
  type RatioFigure,
  type RowResult,
  type Spread,
  stepKey,
} from "../results/index.js";
import type { BenchReport } from "./types.js";

/** A cell: its text, and whether it is a number (right-aligned) or a status. */
export interface Cell {
  readonly text: string;
  readonly align?: "left" | "right";
  readonly tone?: "ok" | "bad" | "muted";
}

/** One table of the report. */
export interface Table {
  readonly key: string;
  readonly title: string;
  readonly subtitle?: string;
  readonly header: readonly string[];
  readonly rows: readonly (readonly Cell[])[];
  readonly notes: readonly string[];
}

/** Milliseconds as the proof of concept prints them. */
export function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  if (value < 1) return `${value.toFixed(3)}ms`;
  if (value < 10) return `${value.toFixed(2)}ms`;
  return `${value.toFixed(1)}ms`;
}

/** Bytes as MB (10^6), as the proof of concept prints them. */
export function mb(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return "—";
  if (bytes < 1e5) return `${(bytes / 1e3).toFixed(1)}KB`;
  return `${(bytes / 1e6).toFixed(1)}MB`;
}

/** Throughput in MB/s. */
export function mbps(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  return `${value < 100 ? value.toFixed(2) : value.toFixed(1)} MB/s`;
}

/** A figure's digits: more for small values. */
function figure(value: number): string {
  if (!Number.isFinite(value)) return "—";
  if (value < 10) return value.toFixed(2);
  if (value < 100) return value.toFixed(1);
  return value.toFixed(0);
}

/** A spread as "712 (690–730)", or "712 (1 round)". */
export function spreadCell(spread: Spread | undefined, unit = ""): string {
  if (spread === undefined) return "—";
  const range = spread.rounds === 1 ? "1 round" : `${figure(spread.low)}–${figure(spread.high)}`;
  return `${figure(spread.median)}${unit} (${range})`;
}

/** A ratio with its range, "within noise", or flagged suspect. */
export function ratioCell(ratio: RatioFigure | undefined): Cell {
  if (ratio === undefined) return num("—");
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : "∞");
  if (ratio.suspect) {
    return { text: `${f(ratio.value)}× suspect`, align: "right", tone: "bad" };
  }
  if (ratio.withinNoise) return num(`≈${f(ratio.value)}×`);
  return num(`${f(ratio.value)}× (${f(ratio.low)}–${f(ratio.high)})`);
}

function num(text: string): Cell {
  return { text, align: "right" };
}

function status(result: RowResult): Cell {
  if (result.status === "ok") return { text: "ok", tone: "ok" };
  if (result.status === "failed") return { text: "FAILED", tone: "bad" };
  return { text: "skipped", tone: "muted" };
}

const modeNames: Record<Mode, string> = {
  transport: "transport-only (same bytes, served from the server's cache)",
  e2e: "end-to-end (a new prompt per request: every image drawn)",
};

function wireCell(result: RowResult): Cell {
  const wire = result.wire;
  if (wire?.bytesReadPerRequest === undefined) return num("n/a");
  const overhead = wire.overheadPercent;
  return num(
    `${mb(wire.bytesReadPerRequest)}${overhead === undefined ? "" : ` (+${overhead.toFixed(2)}%)`}`,
  );
}

function cpuCell(value: number | undefined): Cell {
  return num(value === undefined ? "—" : ms(value));
}

function rssCell(result: RowResult): Cell {
  const peak = result.server?.peakRssBytes;
  return num(peak === undefined ? "—" : `${(peak / 1e6).toFixed(0)}MB`);
}

function footnote(result: RowResult): string | undefined {
  if (result.status === "ok") return undefined;
  return `${result.status === "failed" ? "FAILED" : "skipped"} ${result.label}: ${result.reason ?? ""}`;
}

/** Notes under a table: failures, skips, and rows flagged suspect. */
function notesOf(results: readonly RowResult[]): string[] {
  const notes = results.map(footnote).filter((n): n is string => n !== undefined);
  const suspect = results.filter((r) => r.ratios?.bare?.suspect);
  if (suspect.length > 0) {
    notes.push(
      `suspect: ${suspect.map((r) => r.label).join(", ")} beat their own bare Node ceiling by more than the spread; the machine was busy or the baseline under-ran, so their ratios are not results`,
    );
  }
  return notes;
}

/** Whether the results come from more than one client stack: then tables show a Client column. */
function manyStacks(results: readonly RowResult[]): boolean {
  return new Set(results.map((r) => r.client)).size > 1;
}

function labelCells(result: RowResult, withClient: boolean): Cell[] {
  return withClient ? [{ text: result.label }, { text: result.client }] : [{ text: result.label }];
}

function describeWorkload(report: BenchReport, results: readonly RowResult[]): string {
  const first = results[0];
  if (first === undefined) return "";
  const { model, batch, clients, connections } = first.workload;
  const sample = results.find((r) => r.status === "ok" && (r.single || r.load));
  const bytes = sample?.single?.payloadBytes ?? sample?.load?.totalBytes;
  const chunks = sample?.single?.chunks;
  const perClient = clients > 1 ? `${clients} clients × ` : "";
  const size =
    bytes === undefined
      ? ""
      : ` ≈ ${mb(bytes)}${chunks !== undefined && !sample?.single?.chunksNominal ? ` in ${chunks} chunks` : ""}`;
  const conn =
    clients > 1
      ? `, ${connections === "shared" ? "one shared connection (h2; h1.1 opens one per call)" : "one connection per client"}`
      : "";
  const chunk =
    report.target.chunkBytes === undefined ? "" : `, chunks of ${report.target.chunkBytes} bytes`;
  const rounds = sample?.spread?.rounds;
  const perRound = sample?.rounds?.[0]?.iterations;
  const how =
    rounds === undefined
      ? ""
      : `; ${rounds} round${rounds === 1 ? "" : "s"}${perRound === undefined ? "" : ` of ${perRound} iteration${perRound === 1 ? "" : "s"}`}`;
  return `${perClient}${model} × batch ${batch}${size}${conn}${chunk}${how}`;
}

/** Results grouped by table (scenario, mode, step), in run order. */
function groups(results: readonly RowResult[]): Map<string, RowResult[]> {
  const map = new Map<string, RowResult[]>();
  for (const result of results) {
    const key = groupKey(result);
    const group = map.get(key) ?? [];
    group.push(result);
    map.set(key, group);
  }
  return map;
}

/** What every scenario table builder gets. */
interface TableContext {
  readonly key: string;
  readonly title: string;
  readonly results: readonly RowResult[];
  readonly withClient: boolean;
  /** ["Client"] when the table shows a Client column. */
  readonly client: readonly string[];
  readonly notes: string[];
}

function unaryTable({ key, title, results, withClient, client, notes }: TableContext): Table {
  return {
    key,
    title,
    subtitle: `ListModels / GET /v1/models / GET /models${describeRounds(results)}`,
    header: [
      "Protocol",
      ...client,
      "Calls/s (range)",
      "p50",
      "p90",
      "p99",
      "Wire/call",
      "Srv CPU/call",
      "Cli CPU/call",
      "×bare",
      "×grpc-js",
      "Status",
    ],
    rows: results.map((r) => [
      ...labelCells(r, withClient),
      num(spreadCell(r.spread)),
      num(ms(r.unary?.latency.p50)),
      num(ms(r.unary?.latency.p90)),
      num(ms(r.unary?.latency.p99)),
      num(
        r.wire?.bytesReadPerRequest === undefined
          ? "n/a"
          : `${r.wire.bytesReadPerRequest.toFixed(0)} B`,
      ),
      cpuCell(r.server?.cpuMsPerRequest),
      cpuCell(r.clientCpuMsPerRequest),
      ratioCell(r.ratios?.bare),
      ratioCell(r.ratios?.grpcJs),
      status(r),
    ]),
    notes,
  };
}

function loadTable(
  report: BenchReport,
  { key, title, results, withClient, client, notes }: TableContext,
): Table {
  return {
    key,
    title,
    subtitle: describeWorkload(report, results),
    header: [
      "Protocol",
      ...client,
      "Aggregate MB/s (range)",
      "Completed",
      "Total time",
      "Total data",
      "Avg/client",
      "First chunk",
      "Client p50 / p99",
      "Wire/iteration",
      "Srv CPU/req",
      "Cli CPU/req",
      "Srv peak RSS",
      "×bare",
      "×grpc-js",
      "Status",
    ],
    rows: results.map((r) => {
      const l = r.load;
      return [
        ...labelCells(r, withClient),
        num(spreadCell(r.spread)),
        num(l ? `${l.clientsCompleted}/${l.clients}` : "—"),
        num(ms(l?.totalMs)),
        num(mb(l?.totalBytes)),
        num(mbps(l?.avgClientMBps)),
        num(ms(l?.firstChunk.mean)),
        num(l ? `${ms(l.clientLatency.p50)} / ${ms(l.clientLatency.p99)}` : "—"),
        wireCell(r),
        cpuCell(r.server?.cpuMsPerRequest),
        cpuCell(r.clientCpuMsPerRequest),
        rssCell(r),
        ratioCell(r.ratios?.bare),
        ratioCell(r.ratios?.grpcJs),
        status(r),
      ];
    }),
    notes,
  };
}

function streamTable(
  report: BenchReport,
  { key, title, results, withClient, client, notes }: TableContext,
): Table {
  return {
    key,
    title,
    subtitle: describeWorkload(report, results),
    header: [
      "Protocol",
      ...client,
      "MB/s (range)",
      "Total time",
      "Data",
      "Avg lat/chunk",
      "Chunks",
      "First chunk",
      "p50 / p99",
      "Wire (overhead)",
      "Srv CPU/MB",
      "Cli CPU/MB",
      "Srv peak RSS",
      "×bare",
      "×grpc-js",
      "Status",
    ],
    rows: results.map((r) => {
      const s = r.single;
      return [
        ...labelCells(r, withClient),
        num(spreadCell(r.spread)),
        num(ms(s?.totalMs)),
        num(mb(s?.payloadBytes)),
        num(ms(s?.avgChunkLatencyMs)),
        num(s ? `${s.chunks}${s.chunksNominal ? "*" : ""}` : "—"),
        num(ms(s?.firstChunk.mean)),
        num(s ? `${ms(s.latency.p50)} / ${ms(s.latency.p99)}` : "—"),
        wireCell(r),
        num(r.cpuPerMB?.server === undefined ? "—" : spreadCell(r.cpuPerMB.server, "ms")),
        num(r.cpuPerMB?.client === undefined ? "—" : spreadCell(r.cpuPerMB.client, "ms")),
        rssCell(r),
        ratioCell(r.ratios?.bare),
        ratioCell(r.ratios?.grpcJs),
        status(r),
      ];
    }),
    notes,
  };
}

/** The tables of the scenarios that are not sweeps, one per scenario and mode, in run order. */
export function scenarioTables(report: BenchReport): Table[] {
  const tables: Table[] = [];
  const fixed = report.results.filter((r) => r.step === undefined);
  for (const [key, results] of groups(fixed)) {
    const first = results[0] as RowResult;
    const withClient = manyStacks(results);
    const titles: Record<string, string> = {
      single: "Single Request Performance",
      load: `Concurrent Load (${first.workload.clients} clients)`,
      small: "Small Payload (whole response < 100 KB)",
      unary: "Unary ListModels",
      memory: `Memory (${first.workload.clients} concurrent streams)`,
    };
    const context: TableContext = {
      key,
      title: `${titles[first.scenario] ?? first.scenario} — ${first.scenario === "unary" ? "no images" : modeNames[first.mode]}`,
      results,
      withClient,
      client: withClient ? ["Client"] : [],
      notes: notesOf(results),
    };
    if (first.scenario === "unary") tables.push(unaryTable(context));
    else if (first.scenario === "load" || first.scenario === "memory")
      tables.push(loadTable(report, context));
    else tables.push(streamTable(report, context));
  }
  return tables;
}

function describeRounds(results: readonly RowResult[]): string {
  const rounds = results.find((r) => r.spread !== undefined)?.spread?.rounds;
  return rounds === undefined ? "" : `; ${rounds} round${rounds === 1 ? "" : "s"}`;
}

/** Rows × steps: one line per row, one column per step of a sweep. */
function pivot(
  results: readonly RowResult[],
  columns: readonly { key: string; title: string }[],
  cell: (result: RowResult) => string,
  /** Mark rows above their bare ceiling (for throughput; other figures are not ratios). */
  markSuspect = false,
): { header: string[]; rows: Cell[][] } {
  const rowIds = [...new Set(results.map((r) => r.row))];
  const withClient = manyStacks(results);
  return {
    header: ["Protocol", ...(withClient ? ["Client"] : []), ...columns.map((c) => c.title)],
    rows: rowIds.map((id) => {
      const any = results.find((r) => r.row === id) as RowResult;
      return [
        ...labelCells(any, withClient),
        ...columns.map((column) => {
          const found = results.find((r) => r.row === id && stepKey(r.step) === column.key);
          if (found === undefined) return num("");
          if (found.status !== "ok") {
            return {
              text: found.status === "failed" ? "FAILED" : "skipped",
              align: "right" as const,
              tone: found.status === "failed" ? ("bad" as const) : ("muted" as const),
            };
          }
          const suspect = markSuspect && found.ratios?.bare?.suspect === true;
          return {
            text: `${cell(found)}${suspect ? " suspect" : ""}`,
            align: "right" as const,
            tone: suspect ? ("bad" as const) : undefined,
          };
        }),
      ];
    }),
  };
}

/** A sweep model's column title: its approximate size. */
export const sizeTitle = sizeLabel;

/** The payload sweep: MB/s and time to first byte by size. */
export function payloadTables(report: BenchReport): Table[] {
  const results = report.results.filter((r) => r.scenario === "payload");
  if (results.length === 0) return [];
  const models = [...new Set(results.map((r) => (r.step?.kind === "payload" ? r.step.model : "")))];
  const columns = models.map((model) => ({ key: model, title: sizeTitle(model) }));
  const rounds = describeRounds(results);
  const notes = notesOf(results);
  const throughput = pivot(results, columns, (r) => spreadCell(r.spread), true);
  const firstByte = pivot(results, columns, (r) =>
    r.single === undefined ? "—" : `${ms(r.single.firstChunk.p50)}`,
  );
  return [
    {
      key: "payload/throughput",
      title: "Payload-size sweep — throughput, MB/s (range)",
      subtitle: `one image per request (${models.join(", ")}), transport-only${rounds}`,
      ...throughput,
      notes,
    },
    {
      key: "payload/first-byte",
      title: "Payload-size sweep — time to first byte (median)",
      subtitle: "from the call to the first payload byte",
      ...firstByte,
      notes: [],
    },
  ];
}

/** The concurrency sweep: aggregate MB/s, client p99 and server RSS by level. */
export function concurrencyTables(report: BenchReport): Table[] {
  const results = report.results.filter((r) => r.scenario === "concurrency");
  if (results.length === 0) return [];
  const keys = [...new Set(results.map((r) => stepKey(r.step)))];
  const columns = keys.map((key) => {
    const [streams, connections] = key.split("/");
    return {
      key,
      title: `${streams} ${connections === "shared" ? "on 1 conn" : streams === "1" ? "stream" : "conns"}`,
    };
  });
  const model = results[0]?.workload.model ?? "";
  const notes = notesOf(results);
  return [
    {
      key: "concurrency/throughput",
      title: "Concurrency sweep — aggregate throughput, MB/s (range)",
      subtitle: `N concurrent streams of one ${model} image (about ${sizeTitle(model)}); "conns": one connection per stream, "on 1 conn": all streams on one HTTP/2 connection; transport-only${describeRounds(results)}`,
      ...pivot(results, columns, (r) => spreadCell(r.spread), true),
      notes,
    },
    {
      key: "concurrency/latency",
      title: "Concurrency sweep — client p99 latency / server peak RSS",
      subtitle: "p99 of every stream's request time; the server's largest RSS during the step",
      ...pivot(results, columns, (r) => {
        const p99 = r.load?.clientLatency.p99;
        const rss = r.server?.peakRssBytes;
        return `${ms(p99)} / ${rss === undefined ? "—" : `${(rss / 1e6).toFixed(0)}MB`}`;
      }),
      notes: [],
    },
  ];
}

/** The open-loop scenario: p50 / p99 by workload and offered rate. */
export function openLoopTable(report: BenchReport): Table | undefined {
  const results = report.results.filter((r) => r.scenario === "open-loop");
  if (results.length === 0) return undefined;
  const keys = [...new Set(results.map((r) => stepKey(r.step)))];
  const columns = keys.map((key) => {
    const [workload, rate] = key.split("@");
    return { key, title: `${workload === "small" ? "small" : "ListModels"} @ ${rate}/s` };
  });
  const notes = notesOf(results);
  const lagging = results.filter((r) => (r.openLoop?.maxStartLagMs ?? 0) > 5);
  if (lagging.length > 0) {
    const worst = Math.max(...lagging.map((r) => r.openLoop?.maxStartLagMs ?? 0));
    notes.push(
      `the client started requests over 5 ms behind schedule in ${lagging.length} of ${results.length} runs (up to ${ms(worst)}): it was busy itself, and that lag counts in the latency, as it would for a real client`,
    );
  }
  const overloaded = results.filter((r) => r.openLoop?.overloaded);
  if (overloaded.length > 0) {
    notes.push(
      `overloaded (too many requests in flight, scheduling stopped): ${overloaded.map((r) => `${r.label} ${stepKey(r.step)}`).join(", ")}`,
    );
  }
  const duration = results.find((r) => r.openLoop !== undefined)?.openLoop?.durationMs;
  return {
    key: "open-loop",
    title: "Latency at a fixed offered load (open loop) — p50 / p99",
    subtitle: `requests started on a schedule for ${duration === undefined ? "?" : (duration / 1000).toFixed(1)} s per rate, whether or not earlier ones finished; latency from the scheduled start to the last byte, so queueing counts`,
    ...pivot(results, columns, (r) =>
      r.openLoop === undefined
        ? "—"
        : `${ms(r.openLoop.latency.p50)} / ${ms(r.openLoop.latency.p99)}`,
    ),
    notes,
  };
}

/** The generation-cost table (e2e minus transport-only). */
export function generationTable(report: BenchReport): Table | undefined {
  if (report.generation.length === 0) return undefined;
  return {
    key: "generation",
    title: "Generation cost — end-to-end minus transport-only",
    subtitle:
      "per request (single, small) or per load iteration; server CPU per client request; images are drawn while earlier ones stream",
    header: [
      "Scenario",
      "Protocol",
      "Transport",
      "End-to-end",
      "Drawing adds",
      "Share",
      "Srv CPU transport",
      "Srv CPU e2e",
      "Srv CPU drawing",
    ],
    rows: report.generation.map((g) => [
      { text: g.scenario },
      { text: g.label },
      num(ms(g.transportMs)),
      num(ms(g.e2eMs)),
      num(ms(g.generationMs)),
      num(`${g.generationPercent.toFixed(0)}%`),
      cpuCell(g.serverCpuTransportMs),
      cpuCell(g.serverCpuE2eMs),
      cpuCell(g.serverCpuGenerationMs),
    ]),
    notes: [],
  };
}

function targetFigure(t: TargetCheck, value: number): string {
  return t.unit === "×"
    ? `${value.toFixed(2)}×`
    : `${value.toFixed(t.unit === "MB" ? 0 : 2)} ${t.unit}`;
}

/** The targets, each with why it exists and what its outcome means. */
export function targetsTable(report: BenchReport): Table | undefined {
  if (report.targets.length === 0) return undefined;
  const tones: Record<TargetCheck["outcome"], Cell["tone"]> = {
    met: "ok",
    missed: "bad",
    "within noise": undefined,
    "not measured": "muted",
  };
  const targets = [...new Set(report.targets.map((t) => t.target))];
  return {
    key: "targets",
    title: "Targets",
    subtitle:
      "the project's performance targets, transport-only unless they say otherwise; why each exists, and what a miss means, under the table",
    header: ["Target", "Row", "Measured (range)", "Needed", "Outcome"],
    rows: report.targets.map((t) => [
      { text: t.target },
      { text: t.label },
      num(
        t.measured === undefined
          ? "—"
          : `${targetFigure(t, t.measured.median)}${t.measured.rounds > 1 ? ` (${targetFigure(t, t.measured.low)}–${targetFigure(t, t.measured.high)})` : ""}`,
      ),
      num(`${t.atMost ? "<" : "≥"} ${targetFigure(t, t.threshold)}`),
      { text: t.outcome, tone: tones[t.outcome] },
    ]),
    notes: targets.map((target) => {
      const checks = report.targets.filter((t) => t.target === target);
      const first = checks[0] as TargetCheck;
      const missed = checks.filter((t) => t.outcome === "missed").map((t) => t.label);
      const unsure = checks.filter((t) => t.outcome === "within noise").map((t) => t.label);
      const outcome = [
        missed.length > 0 ? `missed by ${missed.join(", ")}` : "",
        unsure.length > 0
          ? `within noise for ${unsure.join(", ")} (rerun on an idle machine to tell)`
          : "",
      ]
        .filter(Boolean)
        .join("; ");
      return `${target}. Why: ${first.why}.${outcome === "" ? "" : ` ${outcome[0]?.toUpperCase()}${outcome.slice(1)}: that means ${first.missMeans}.`}`;
    }),
  };
}

/** The proof of concept's expectations, tested. */
export function expectationsTable(expectations: readonly Expectation[]): Table | undefined {
  if (expectations.length === 0) return undefined;
  const tones: Record<Expectation["mark"], Cell["tone"]> = {
    "✔": "ok",
    "✗": "bad",
    "≈": undefined,
    "–": "muted",
  };
  return {
    key: "expectations",
    title: "Expectations tested",
    subtitle:
      "each claim of the proof of concept's “Performance Expectations”, “When gRPC Wins” and “When REST Competitive”; ✔ holds here, ✗ does not, ≈ partly or within noise, – not measured",
    header: ["", "Claim", "Measured", "What it means", "Scenario"],
    rows: expectations.map((e) => [
      { text: e.mark, tone: tones[e.mark] },
      { text: e.claim },
      { text: e.measured },
      { text: e.verdict },
      { text: e.scenario, tone: "muted" },
    ]),
    notes: [],
  };
}

/** The decision rule's bands as a table. */
export function decisionTable(report: BenchReport): Table {
  return {
    key: "decision-rule",
    title: "The rule",
    header: ["If", "Then"],
    rows: report.decision.bands.map((band) => [{ text: band.when }, { text: band.action }]),
    notes: [],
  };
}

/** The proof of concept's sample output, filled in with this run's Node gRPC figures. */
export function sampleOutputLines(report: BenchReport): string[] {
  const lines: string[] = [];
  const find = (scenario: string, mode: string) =>
    report.results.find(
      (r) =>
        r.scenario === scenario &&
        r.step === undefined &&
        r.mode === mode &&
        r.row === "grpc" &&
        r.status === "ok",
    );
  for (const mode of ["e2e", "transport"] as const) {
    const single = find("single", mode)?.single;
    const load = find("load", mode)?.load;
    if (single === undefined && load === undefined) continue;
    const how = mode === "e2e" ? "end-to-end, as the proof of concept measured" : "transport-only";
    if (single !== undefined) {
      lines.push(`gRPC (${how}; the proof of concept's Python: 977.1ms, 30.75 MB/s):`);
      lines.push(`  Total time: ${ms(single.totalMs)}`);
      lines.push(`  Data transferred: ${mb(single.payloadBytes)}`);
      lines.push(`  Throughput: ${mbps(single.throughputMBps)}`);
      lines.push(`  Avg latency/chunk: ${ms(single.avgChunkLatencyMs)}`);
      lines.push(`  Chunks: ${single.chunks}`);
    }
    if (load !== undefined) {
      const ok = load.clientsCompleted === load.clients;
      lines.push(
        `Concurrent Load, gRPC (${how}; the proof of concept's Python: 31.98 MB/s aggregate):`,
      );
      lines.push(
        `${ok ? "✅" : "❌"} ${load.clientsCompleted}/${load.clients} clients completed successfully`,
      );
      lines.push(`   Total time: ${ms(load.totalMs)}`);
      lines.push(`   Total data: ${mb(load.totalBytes)}`);
      lines.push(`   Avg throughput/client: ${mbps(load.avgClientMBps)}`);
      lines.push(`   Aggregate throughput: ${mbps(load.aggregateMBps)}`);
    }
    lines.push("");
  }
  return lines;
}

/** The machine's load average at the start, and whether it was busy. */
export function loadLine(report: BenchReport): { text: string; busy: boolean } {
  const m = report.machine as Record<string, unknown>;
  const start = m.loadAverageAtStart as number[] | undefined;
  const end = m.loadAverageAtEnd as number[] | undefined;
  const cpus = m.cpuCount as number;
  const busy = start !== undefined && (start[0] ?? 0) > 0.5 * cpus;
  const fmt = (xs: number[] | undefined) =>
    xs === undefined ? "?" : xs.map((x) => x.toFixed(2)).join(", ");
  return {
    busy,
    text: `load average ${fmt(start)} at the start, ${fmt(end)} at the end, on ${cpus} CPUs${busy ? ": the machine was busy, so other processes competed for the CPU and the figures are noisier; rerun on an idle machine before acting on close calls" : ""}`,
  };
}

/** Lines about the run: machine, target, baselines, skips. */
export function contextLines(report: BenchReport): string[] {
  const m = report.machine as Record<string, unknown>;
  const lines = [
    `Machine: ${m.cpuCount} × ${m.cpuModel}, ${((m.memoryBytes as number) / 2 ** 30).toFixed(1)} GiB, ${m.os}, Node ${m.node}; ${loadLine(report).text}`,
    `Packages: ${Object.entries(report.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(", ")}`,
    `Server under test: ${report.target.url} (${report.target.spawned ? `spawned: src/cli.ts ${(report.target.command ?? []).slice(4).join(" ")}` : "--url, already running"}; renderer ${report.target.renderer ?? "?"}, chunk ${report.target.chunkBytes ?? "?"} bytes)${report.target.notes ? `; ${report.target.notes}` : ""}`,
  ];
  if (report.baselines.length > 0) {
    lines.push(`Baselines: ${report.baselines.map((b) => `${b.id} ${b.url}`).join(", ")}`);
  }
  for (const skip of report.skipped) {
    lines.push(`${skip.failure ? "FAILED" : "Skipped"} ${skip.row}: ${skip.reason}`);
  }
  if (report.git?.commit) {
    lines.push(
      `Commit: ${report.git.commit}${report.git.dirty ? " (with uncommitted changes)" : ""}`,
    );
  }
  return lines;
}

/** Closing notes shared by every renderer. */
export function legendLines(): string[] {
  return [
    "MB = 10^6 bytes. Every row is measured in rounds, rows taking turns; a figure is the median of its rounds, and (low–high) the range of the rounds. Two figures whose ranges overlap are within noise of each other (≈), never a win.",
    "MB/s = image bytes / time of the timed requests; total time, first chunk: means; p50/p99 over every request of every round.",
    "×bare: the row's figure over bare Node of the same HTTP version (the ceiling: Node's own HTTP with nothing in between), with the range the rounds allow; ≈ within noise; suspect: above the ceiling by more than the spread, which means the machine was busy or the baseline under-ran. ×grpc-js: over the grpc-js server with the same client as the gRPC row.",
    "Wire = bytes read from the client's sockets per request (headers, framing, base64 for JSON) with its overhead over the image bytes.",
    "Srv CPU: the serving process's user+system CPU over the measured iterations (GET /metrics for the server under test; /proc for the baselines, 10 ms ticks); peak RSS polled during the rows.",
    "Cli CPU: the bench process's CPU (all its threads, GC included), verification (sha256) excluded: near or above the request time, the client is the bottleneck.",
    "Chunks marked * are the server's writes of chunk-bytes (REST and bare streams are byte streams without messages).",
  ];
}
