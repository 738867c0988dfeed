/**
 * The report's tables as plain data (title, header, cells), shared by the
 * terminal, Markdown and HTML renderers so they always show the same
 * figures. Number formats follow the seed's sample output: "977.1ms",
 * "30.1MB", "30.75 MB/s"; MB is 10^6 bytes.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import type { Mode } from "../cli/index.js";
import { seedFigures } from "../conclusions/index.js";
import type { BenchReport, RowResult } from "../results/index.js";

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

/** Milliseconds as the seed prints them. */
export function ms(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  if (value < 1) return `${value.toFixed(3)}ms`;
  if (value < 10) return `${value.toFixed(2)}ms`;
  return `${value.toFixed(1)}ms`;
}

/** Bytes as MB (10^6), as the seed prints them. */
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

/** A ratio such as 0.83×. */
export function ratio(value: number | undefined): string {
  if (value === undefined || !Number.isFinite(value)) return "—";
  return `${value.toFixed(2)}×`;
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
  e2e: "end-to-end (a new prompt per request: every image generated)",
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
  return `${perClient}${model} × batch ${batch}${size}${conn}${chunk}`;
}

/** The tables of a report, one per scenario and mode, in run order. */
export function reportTables(report: BenchReport): Table[] {
  const tables: Table[] = [];
  const groups = new Map<string, RowResult[]>();
  for (const result of report.results) {
    const key = `${result.scenario}/${result.mode}`;
    const group = groups.get(key) ?? [];
    group.push(result);
    groups.set(key, group);
  }
  for (const [key, results] of groups) {
    const first = results[0] as RowResult;
    const notes = results.map(footnote).filter((n): n is string => n !== undefined);
    const titles: Record<string, string> = {
      single: "Single Request Performance",
      load: `Concurrent Load (${first.workload.clients} clients)`,
      small: "Small Payload (whole response < 100 KB)",
      unary: "Unary ListModels",
      memory: `Memory (${first.workload.clients} concurrent streams)`,
    };
    const title = `${titles[first.scenario]} — ${first.scenario === "unary" ? "no images" : modeNames[first.mode]}`;
    const subtitle =
      first.scenario === "unary"
        ? "ListModels / GET /v1/models / GET /models"
        : describeWorkload(report, results);
    if (first.scenario === "unary") {
      tables.push({
        key,
        title,
        subtitle,
        header: [
          "Protocol",
          "Calls/s",
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
          { text: r.label },
          num(r.unary ? r.unary.callsPerSecond.toFixed(0) : "—"),
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
          num(ratio(r.ratios?.bare)),
          num(ratio(r.ratios?.grpcJs)),
          status(r),
        ]),
        notes,
      });
      continue;
    }
    if (first.scenario === "load" || first.scenario === "memory") {
      tables.push({
        key,
        title,
        subtitle,
        header: [
          "Protocol",
          "Completed",
          "Total time",
          "Total data",
          "Avg/client",
          "Aggregate",
          "First chunk",
          "Client p50 / p99",
          "Wire/round",
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
            { text: r.label },
            num(l ? `${l.clientsCompleted}/${l.clients}` : "—"),
            num(ms(l?.totalMs)),
            num(mb(l?.totalBytes)),
            num(mbps(l?.avgClientMBps)),
            num(mbps(l?.aggregateMBps)),
            num(ms(l?.firstChunk.mean)),
            num(l ? `${ms(l.clientLatency.p50)} / ${ms(l.clientLatency.p99)}` : "—"),
            wireCell(r),
            cpuCell(r.server?.cpuMsPerRequest),
            cpuCell(r.clientCpuMsPerRequest),
            rssCell(r),
            num(ratio(r.ratios?.bare)),
            num(ratio(r.ratios?.grpcJs)),
            status(r),
          ];
        }),
        notes,
      });
      continue;
    }
    tables.push({
      key,
      title,
      subtitle,
      header: [
        "Protocol",
        "Total time",
        "Data",
        "Throughput",
        "Avg lat/chunk",
        "Chunks",
        "First chunk",
        "p50 / p99",
        "Wire (overhead)",
        "Srv CPU/req",
        "Cli CPU/req",
        "Srv peak RSS",
        "×bare",
        "×grpc-js",
        "Status",
      ],
      rows: results.map((r) => {
        const s = r.single;
        return [
          { text: r.label },
          num(ms(s?.totalMs)),
          num(mb(s?.payloadBytes)),
          num(mbps(s?.throughputMBps)),
          num(ms(s?.avgChunkLatencyMs)),
          num(s ? `${s.chunks}${s.chunksNominal ? "*" : ""}` : "—"),
          num(ms(s?.firstChunk.mean)),
          num(s ? `${ms(s.latency.p50)} / ${ms(s.latency.p99)}` : "—"),
          wireCell(r),
          cpuCell(r.server?.cpuMsPerRequest),
          cpuCell(r.clientCpuMsPerRequest),
          rssCell(r),
          num(ratio(r.ratios?.bare)),
          num(ratio(r.ratios?.grpcJs)),
          status(r),
        ];
      }),
      notes,
    });
  }
  return tables;
}

/** The generation-cost table (e2e minus transport-only). */
export function generationTable(report: BenchReport): Table | undefined {
  if (report.generation.length === 0) return undefined;
  return {
    key: "generation",
    title: "Generation cost — end-to-end minus transport-only",
    subtitle:
      "per request (single, small) or per round (load); server CPU per client request; images are drawn while earlier ones stream",
    header: [
      "Scenario",
      "Protocol",
      "Transport",
      "End-to-end",
      "Generation adds",
      "Share",
      "Srv CPU transport",
      "Srv CPU e2e",
      "Srv CPU generating",
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

/** Issue 4's targets as a table. */
export function targetsTable(report: BenchReport): Table | undefined {
  if (report.targets.length === 0) return undefined;
  return {
    key: "targets",
    title: "Issue 4 targets",
    header: ["Target", "Row", "Measured", "Needed", "Met"],
    rows: report.targets.map((t) => [
      { text: t.target },
      { text: t.row },
      num(
        t.measured === undefined
          ? "—"
          : `${t.measured.toFixed(2)}${t.unit === "×" ? "×" : ` ${t.unit}`}`,
      ),
      num(
        `${t.unit === "MB RSS" ? "<" : "≥"} ${t.threshold.toFixed(2)}${t.unit === "×" ? "×" : ` ${t.unit}`}`,
      ),
      t.met === undefined
        ? { text: "not measured", tone: "muted" }
        : t.met
          ? { text: "yes", tone: "ok" }
          : { text: "no", tone: "bad" },
    ]),
    notes: [],
  };
}

/** The seed's two sample blocks, filled in with this run's gRPC figures. */
export function seedStyleLines(report: BenchReport): string[] {
  const lines: string[] = [];
  const find = (scenario: string, mode: string) =>
    report.results.find(
      (r) => r.scenario === scenario && r.mode === mode && r.row === "grpc" && r.status === "ok",
    );
  for (const mode of ["e2e", "transport"] as const) {
    const single = find("single", mode)?.single;
    const load = find("load", mode)?.load;
    if (single === undefined && load === undefined) continue;
    const how = mode === "e2e" ? "end-to-end, as the seed measured" : "transport-only";
    if (single !== undefined) {
      lines.push(`gRPC (${how}; seed's Python: 977.1ms, ${seedFigures.singleMBps} MB/s):`);
      lines.push(`  Total time: ${ms(single.totalMs)}`);
      lines.push(`  Data transferred: ${mb(single.payloadBytes)}`);
      lines.push(`  Throughput: ${mbps(single.throughputMBps)}`);
      lines.push(`  Avg latency/chunk: ${ms(single.avgChunkLatencyMs)}`);
      lines.push(`  Chunks: ${single.chunks}`);
    }
    if (load !== undefined) {
      const ok = load.clientsCompleted === load.clients;
      lines.push(
        `Concurrent Load, gRPC (${how}; seed's Python: ${seedFigures.loadAggregateMBps} MB/s aggregate):`,
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

/** Lines about the run: machine, target, baselines, skips. */
export function contextLines(report: BenchReport): string[] {
  const m = report.machine as Record<string, unknown>;
  const lines = [
    `ModelMora protocol benchmark — ${report.startedAt} — profile ${report.profile}`,
    `Machine: ${m.cpuCount} × ${m.cpuModel}, ${((m.memoryBytes as number) / 2 ** 30).toFixed(1)} GiB, ${m.os}, Node ${m.node}`,
    `Packages: ${Object.entries(report.packages)
      .map(([name, version]) => `${name} ${version}`)
      .join(", ")}`,
    `Server under test: ${report.target.url} (${report.target.spawned ? `spawned: src/cli.ts ${(report.target.command ?? []).slice(4).join(" ")}` : "--url, already running"}; renderer ${report.target.renderer ?? "?"}, chunk ${report.target.chunkBytes ?? "?"} bytes)`,
  ];
  if (report.baselines.length > 0) {
    lines.push(`Baselines: ${report.baselines.map((b) => `${b.id} ${b.url}`).join(", ")}`);
  }
  for (const skip of report.skipped) {
    lines.push(`${skip.failure ? "FAILED" : "Skipped"} ${skip.row}: ${skip.reason}`);
  }
  const load = m.loadAverageAtStart as number[] | undefined;
  if (load !== undefined && (load[0] ?? 0) > 0.5 * (m.cpuCount as number)) {
    lines.push(
      `Warning: the machine was busy when the run started (load average ${load.map((x) => x.toFixed(2)).join(", ")} on ${m.cpuCount} CPUs): other processes compete for the CPU and the figures are noisier.`,
    );
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
    "Throughput = image bytes / mean request time (MB = 10^6 bytes). Total time, first chunk: means; p50/p99 over tinybench's samples.",
    "Wire = bytes read from the client's sockets per request (headers, framing, base64 for JSON) with its overhead over the image bytes.",
    "Srv CPU/req: the serving process's user+system CPU over the measured iterations / requests (GET /healthz, µs; baselines /proc, 10 ms ticks); peak RSS polled every 100 ms.",
    "Cli CPU/req: the bench process's CPU per request (all its threads, GC included), verification (sha256) excluded: near or above the request time, the client is the bottleneck.",
    "×bare: headline figure over bare Node of the same HTTP version; ×grpc-js: over the grpc-js server (connect-node gRPC client).",
    "Chunks marked * are the server's writes of chunk-bytes (REST and bare streams are byte streams without messages).",
  ];
}
