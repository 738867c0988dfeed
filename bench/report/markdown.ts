/**
 * The report as Markdown (bench-<timestamp>.md): the same tables as the
 * terminal, plus how to reproduce the run.
 *
 * Library module of `npm run bench`; returns text, writes nothing.
 */
import type { BenchReport } from "../results/index.js";
import {
  contextLines,
  generationTable,
  legendLines,
  reportTables,
  seedStyleLines,
  type Table,
  targetsTable,
} from "./tables.js";

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|");
}

function markdownTable(table: Table): string[] {
  const lines = [`### ${table.title}`, ""];
  if (table.subtitle) lines.push(table.subtitle, "");
  lines.push(`| ${table.header.map(escapeCell).join(" | ")} |`);
  lines.push(`| ${table.header.map((_, i) => (i === 0 ? "---" : "---:")).join(" | ")} |`);
  for (const row of table.rows) {
    lines.push(
      `| ${row.map((cell) => (cell.tone === "bad" ? `**${escapeCell(cell.text)}**` : escapeCell(cell.text))).join(" | ")} |`,
    );
  }
  lines.push("");
  for (const note of table.notes) lines.push(`- ${escapeCell(note)}`);
  if (table.notes.length > 0) lines.push("");
  return lines;
}

/** The whole report as Markdown. */
export function renderMarkdown(report: BenchReport): string {
  const [title, ...context] = contextLines(report);
  const lines = [`# ${title}`, "", ...context.map((line) => `- ${line}`), ""];
  const seed = seedStyleLines(report);
  if (seed.length > 0) {
    lines.push(
      "## Seed's sample results, this run's gRPC figures",
      "",
      "```text",
      ...seed,
      "```",
      "",
    );
  }
  lines.push("## Results", "");
  for (const table of reportTables(report)) lines.push(...markdownTable(table));
  const generation = generationTable(report);
  if (generation) lines.push(...markdownTable(generation));
  const targets = targetsTable(report);
  if (targets) lines.push(...markdownTable(targets));
  for (const check of report.sameBytes) {
    lines.push(
      `- Same bytes, ${check.scenario} transport-only: ${check.rowsDiffering.length === 0 ? "every row received the gRPC row's images" : `differ: ${check.rowsDiffering.join(", ")}`}`,
    );
  }
  lines.push("", ...legendLines().map((line) => `- ${line}`), "");
  lines.push("## Decision (the seed's rule)", "");
  const v = report.verdict;
  for (const item of [v.primary, ...v.supporting]) {
    const figures =
      item.ratio === undefined
        ? ""
        : ` gRPC ${item.grpcFigure?.toFixed(1)} vs ${item.restRow} ${item.restFigure?.toFixed(1)} MB/s = **${item.ratio.toFixed(2)}×** →`;
    lines.push(
      `- ${item === v.primary ? "**Primary:** " : ""}${item.comparison}:${figures} ${item.decision}`,
    );
  }
  lines.push("", `**${v.summary}**`, "");
  lines.push(
    "## Reproduce",
    "",
    "```sh",
    `git checkout ${report.git?.commit ?? "<commit>"} && npm ci`,
    `npm run bench --${report.argv.length > 0 ? ` ${report.argv.join(" ")}` : ""}`,
    "```",
    "",
    `Wall time of this run: ${(report.wallMs / 1000).toFixed(1)} s. Raw figures: the .json file of the same name.`,
    "",
  );
  return lines.join("\n");
}
