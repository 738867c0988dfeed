/**
 * The report as Markdown (bench-<timestamp>.md): the same outline as the
 * terminal (report/sections.ts), the recommendation first, and the command
 * that reproduces the run.
 *
 * Library module of `npm run bench`; returns text, writes nothing.
 */
import { reportBlocks } from "./sections.js";
import type { Table } from "./tables.js";
import type { BenchReport } from "./types.js";

function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|");
}

function markdownTable(table: Table): string[] {
  const lines = [`### ${table.title}`, ""];
  if (table.subtitle) lines.push(table.subtitle, "");
  lines.push(`| ${table.header.map(escapeCell).join(" | ")} |`);
  lines.push(
    `| ${table.header.map((_, i) => (i === 0 || table.rows.every((row) => row[i]?.align !== "right") ? "---" : "---:")).join(" | ")} |`,
  );
  for (const row of table.rows) {
    lines.push(
      `| ${row.map((cell) => (cell.tone === "bad" ? `**${escapeCell(cell.text)}**` : escapeCell(cell.text))).join(" | ")} |`,
    );
  }
  lines.push("");
  for (const note of table.notes) lines.push(`- ${note}`);
  if (table.notes.length > 0) lines.push("");
  return lines;
}

/** The whole report as Markdown. */
export function renderMarkdown(report: BenchReport): string {
  const lines: string[] = [];
  for (const block of reportBlocks(report)) {
    switch (block.kind) {
      case "title":
        lines.push(`# ${block.text}`, "");
        break;
      case "heading":
        lines.push(`## ${block.text}`, "");
        break;
      case "paragraph":
        lines.push(block.strong ? `**${block.text}**` : block.text, "");
        break;
      case "list":
        lines.push(...block.items.map((item) => `- ${item}`), "");
        break;
      case "table":
        lines.push(...markdownTable(block.table));
        break;
      case "code":
        lines.push("```text", ...block.lines, "```", "");
        break;
      case "chart":
        break;
    }
  }
  return `${lines.join("\n").trimEnd()}\n`;
}
