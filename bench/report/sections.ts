/**
 * The report's outline, once for every renderer: the recommendation first,
 * then the proof of concept's decision rule applied, its expectations
 * tested, the sweeps and the open loop, every scenario's table, and the
 * run's details. Each renderer (terminal, Markdown, HTML) turns these
 * blocks into its own format; charts are drawn in the HTML report only.
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import { listWords } from "../conclusions/index.js";
import type { RowResult } from "../results/index.js";
import type { ChartSpec } from "./charts.js";
import { concurrencyCharts, payloadCharts, scenarioCharts } from "./charts.js";
import {
  concurrencyTables,
  contextLines,
  decisionTable,
  expectationsTable,
  generationTable,
  legendLines,
  loadLine,
  openLoopTable,
  payloadTables,
  sampleOutputLines,
  scenarioTables,
  type Table,
  targetsTable,
} from "./tables.js";
import type { BenchReport } from "./types.js";

/** A piece of the report. */
export type Block =
  | { readonly kind: "title"; readonly text: string }
  | { readonly kind: "heading"; readonly text: string }
  | { readonly kind: "paragraph"; readonly text: string; readonly strong?: boolean }
  | { readonly kind: "list"; readonly items: readonly string[] }
  | { readonly kind: "table"; readonly table: Table }
  | { readonly kind: "chart"; readonly chart: ChartSpec }
  | { readonly kind: "code"; readonly lines: readonly string[] };

/** The proof of concept, named for a reader who has not seen it. */
export const proofOfConcept =
  "the proof of concept (“Production gRPC Streaming Performance Test”: a Python grpcio server and a FastAPI REST server streaming the same images, which this project replaces)";

function tableBlock(table: Table | undefined): Block[] {
  return table === undefined ? [] : [{ kind: "table", table }];
}

function duration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)} min ${String(seconds % 60).padStart(2, "0")} s`;
}

/** The blocks of a report, in order. */
export function reportBlocks(report: BenchReport): Block[] {
  const blocks: Block[] = [];
  // The memory scenario is one round by design (a fresh server); the rest count.
  const rounds = Math.min(
    ...report.results
      .filter((r) => r.spread !== undefined && r.scenario !== "memory")
      .map((r) => r.spread?.rounds ?? 0),
  );
  blocks.push({
    kind: "title",
    text: `ModelMora protocol benchmark — ${report.startedAt} — ${report.profile} run, ${duration(report.wallMs)}`,
  });
  const load = loadLine(report);
  blocks.push({
    kind: "paragraph",
    text: `Which protocol should a client of this server use? Every figure below is measured from a client over loopback on this machine (${(report.machine as Record<string, unknown>).cpuCount} CPUs, Node ${(report.machine as Record<string, unknown>).node}; ${load.text}). The run took ${duration(report.wallMs)}.`,
  });

  // 1. The answer.
  blocks.push({ kind: "heading", text: "Recommendation" });
  const rec = report.recommendation;
  for (const line of rec.summary) blocks.push({ kind: "paragraph", text: line, strong: true });
  if (rec.lines.length === 0) {
    blocks.push({
      kind: "paragraph",
      text: "No recommendation: no protocol row was measured (see the skipped and failed lines at the end).",
    });
  } else {
    blocks.push({ kind: "list", items: rec.lines.map((line) => line.text) });
  }
  if (rec.notMeasured !== undefined) blocks.push({ kind: "paragraph", text: rec.notMeasured });
  if (Number.isFinite(rounds) && rounds < 3) {
    blocks.push({
      kind: "paragraph",
      text: `This ${report.profile} run measured ${rounds === 1 ? "one round" : `${rounds} rounds`} per row where a full run measures 3: ${rounds === 1 ? "a single round has no spread, so ±10% counts as noise" : "the ranges are from fewer rounds"}. Use a full run (npm run bench) for decisions.`,
    });
  }

  // 2. The proof of concept's rule.
  blocks.push({ kind: "heading", text: "The proof of concept's decision rule" });
  blocks.push({
    kind: "paragraph",
    text: `${proofOfConcept[0]?.toUpperCase()}${proofOfConcept.slice(1)} ends with a rule for choosing, from the ratio of gRPC's throughput to REST's on one request of ten 3 MB images:`,
  });
  blocks.push({ kind: "table", table: decisionTable(report) });
  const applied = [...report.decision.primary, ...report.decision.supporting].map(
    (item, i) =>
      `${i < report.decision.primary.length ? "Applied" : "Also"} — ${item.comparison}: ${
        item.grpc !== undefined && item.rest !== undefined
          ? `gRPC ${item.grpc.median.toFixed(1)} MB/s, REST ${item.rest.median.toFixed(1)} MB/s. `
          : ""
      }${item.outcome}`,
  );
  blocks.push({
    kind: "list",
    items: applied.length > 0 ? applied : ["Not applied: the run has no single-request figures."],
  });

  // 3. The expectations.
  blocks.push({ kind: "heading", text: "Expectations tested" });
  blocks.push(...tableBlock(expectationsTable(report.expectations)));

  // 4. Sweeps and the open loop.
  const payload = payloadTables(report);
  const concurrency = concurrencyTables(report);
  const openLoop = openLoopTable(report);
  if (payload.length + concurrency.length > 0 || openLoop !== undefined) {
    blocks.push({ kind: "heading", text: "Sweeps and latency under load" });
  }
  for (const table of payload) blocks.push({ kind: "table", table });
  for (const chart of payloadCharts(report.results)) blocks.push({ kind: "chart", chart });
  for (const table of concurrency) blocks.push({ kind: "table", table });
  for (const chart of concurrencyCharts(report.results)) blocks.push({ kind: "chart", chart });
  blocks.push(...tableBlock(openLoop));

  // 5. Every scenario.
  blocks.push({ kind: "heading", text: "Results by scenario" });
  for (const table of scenarioTables(report)) {
    blocks.push({ kind: "table", table });
    const results = report.results.filter(
      (r: RowResult) => r.step === undefined && `${r.scenario}/${r.mode}` === table.key,
    );
    for (const chart of scenarioCharts(table.title, results)) blocks.push({ kind: "chart", chart });
  }
  blocks.push(...tableBlock(generationTable(report)));
  blocks.push(...tableBlock(targetsTable(report)));
  const differing = report.sameBytes.filter((check) => check.rowsDiffering.length > 0);
  if (differing.length > 0) {
    blocks.push({
      kind: "list",
      items: differing.map(
        (check) =>
          `In ${check.scenario}, ${listWords(check.rowsDiffering)} received other bytes than the gRPC row (another renderer?): their figures are for other images.`,
      ),
    });
  }
  const sample = sampleOutputLines(report);
  if (sample.length > 0) {
    blocks.push({
      kind: "heading",
      text: "The proof of concept's sample output, with this run's gRPC figures",
    });
    blocks.push({ kind: "code", lines: sample });
  }

  // 6. How to read it, and the run.
  blocks.push({ kind: "heading", text: "Notes" });
  blocks.push({ kind: "list", items: legendLines() });
  blocks.push({ kind: "heading", text: "This run" });
  blocks.push({ kind: "list", items: contextLines(report) });
  blocks.push({
    kind: "code",
    lines: [
      `git checkout ${report.git?.commit ?? "<commit>"} && npm ci`,
      `npm run bench --${report.argv.length > 0 ? ` ${report.argv.join(" ")}` : ""}`,
    ],
  });
  blocks.push({
    kind: "paragraph",
    text: `Wall time: ${duration(report.wallMs)} (${(report.wallMs / 1000).toFixed(1)} s). Raw figures: the .json file of the same name.${
      report.failures > 0
        ? ` ${report.failures} row(s) or step(s) FAILED: see the notes under the tables and the lines above.`
        : ""
    }`,
    strong: report.failures > 0,
  });
  return blocks;
}
