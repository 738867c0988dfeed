/**
 * The report as terminal text: the seed-shaped summary, one aligned table
 * per scenario and mode, generation cost, issue 4's targets and the
 * verdict. Colours only when asked (a TTY without NO_COLOR).
 *
 * Library module of `npm run bench`; returns text, writes nothing.
 */
import type { BenchReport } from "../results/index.js";
import {
  type Cell,
  contextLines,
  generationTable,
  legendLines,
  reportTables,
  seedStyleLines,
  type Table,
  targetsTable,
} from "./tables.js";

interface Style {
  bold(text: string): string;
  tone(text: string, tone: Cell["tone"]): string;
}

function style(color: boolean): Style {
  const wrap = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  return {
    bold: (text) => wrap("1", text),
    tone: (text, tone) =>
      tone === "ok"
        ? wrap("32", text)
        : tone === "bad"
          ? wrap("31;1", text)
          : tone === "muted"
            ? wrap("2", text)
            : text,
  };
}

/** Renders a table with columns padded to their widest cell. */
export function renderTable(table: Table, s: Style = style(false)): string[] {
  const widths = table.header.map((title, i) =>
    Math.max(title.length, ...table.rows.map((row) => (row[i]?.text ?? "").length)),
  );
  const pad = (cell: Cell, i: number) => {
    const width = widths[i] as number;
    const text = cell.align === "right" ? cell.text.padStart(width) : cell.text.padEnd(width);
    return s.tone(text, cell.tone);
  };
  const lines = [s.bold(table.title)];
  if (table.subtitle) lines.push(`  ${table.subtitle}`);
  lines.push(
    `  ${table.header.map((title, i) => (i === 0 ? title.padEnd(widths[i] as number) : title.padStart(widths[i] as number))).join("  ")}`,
  );
  for (const row of table.rows) {
    lines.push(`  ${row.map(pad).join("  ")}`);
  }
  for (const note of table.notes) {
    lines.push(`  ${s.tone(note, note.startsWith("FAILED") ? "bad" : "muted")}`);
  }
  lines.push("");
  return lines;
}

/** The whole report as text for stdout. */
export function renderTerminal(report: BenchReport, color: boolean): string {
  const s = style(color);
  const lines: string[] = [...contextLines(report), ""];
  const seed = seedStyleLines(report);
  if (seed.length > 0) {
    lines.push(s.bold("Seed's sample results, this run's gRPC figures"), ...seed);
  }
  for (const table of reportTables(report)) {
    lines.push(...renderTable(table, s));
  }
  const generation = generationTable(report);
  if (generation) lines.push(...renderTable(generation, s));
  const targets = targetsTable(report);
  if (targets) lines.push(...renderTable(targets, s));
  for (const check of report.sameBytes) {
    if (check.rowsDiffering.length > 0) {
      lines.push(
        s.tone(
          `Note: in ${check.scenario} transport-only, ${check.rowsDiffering.join(", ")} received other bytes than the gRPC row (another renderer?).`,
          "muted",
        ),
      );
    }
  }
  lines.push(...legendLines().map((line) => s.tone(line, "muted")), "");
  lines.push(s.bold("Decision (the seed's rule)"));
  const v = report.verdict;
  for (const item of [v.primary, ...v.supporting]) {
    const figures =
      item.ratio === undefined
        ? ""
        : ` gRPC ${item.grpcFigure?.toFixed(1)} vs ${item.restRow} ${item.restFigure?.toFixed(1)} MB/s = ${item.ratio.toFixed(2)}× →`;
    lines.push(
      `  ${item === v.primary ? "PRIMARY " : ""}${item.comparison}:${figures} ${item.decision}`,
    );
  }
  lines.push(s.bold(v.summary));
  if (report.failures > 0) {
    lines.push(s.tone(`${report.failures} row(s) FAILED; see the notes under the tables.`, "bad"));
  }
  return `${lines.join("\n")}\n`;
}
