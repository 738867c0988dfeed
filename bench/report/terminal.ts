/**
 * The report as terminal text: the recommendation first, then the rule,
 * the expectations, the sweeps and every scenario's table (report
 * sections.ts), lines wrapped to the terminal's width. Colours only when
 * asked (a TTY without NO_COLOR). Charts are in the HTML report.
 *
 * Library module of `npm run bench`; returns text, writes nothing.
 */
import { reportBlocks } from "./sections.js";
import type { Cell, Table } from "./tables.js";
import type { BenchReport } from "./types.js";

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

/** Wraps text to width columns, continuation lines indented by indent. */
export function wrap(text: string, width: number, indent = ""): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (word === "") continue;
    const next = line === "" ? word : `${line} ${word}`;
    if (next.length > width && line !== "") {
      lines.push(line);
      line = `${indent}${word}`;
    } else {
      line = next;
    }
  }
  if (line !== "") lines.push(line);
  return lines;
}

/** Renders a table with columns padded to their widest cell. */
export function renderTable(table: Table, s: Style = style(false), width = 100): string[] {
  const widths = table.header.map((title, i) =>
    Math.max(title.length, ...table.rows.map((row) => (row[i]?.text ?? "").length)),
  );
  const pad = (cell: Cell, i: number) => {
    const w = widths[i] as number;
    const text = cell.align === "right" ? cell.text.padStart(w) : cell.text.padEnd(w);
    return s.tone(text, cell.tone);
  };
  const lines = [s.bold(table.title)];
  if (table.subtitle) lines.push(...wrap(table.subtitle, width - 2).map((line) => `  ${line}`));
  lines.push(
    `  ${table.header
      .map((title, i) =>
        table.rows.some((row) => row[i]?.align === "right")
          ? title.padStart(widths[i] as number)
          : title.padEnd(widths[i] as number),
      )
      .join("  ")}`,
  );
  for (const row of table.rows) {
    lines.push(`  ${row.map(pad).join("  ")}`);
  }
  for (const note of table.notes) {
    const tone = note.startsWith("FAILED") || note.startsWith("suspect") ? "bad" : "muted";
    lines.push(...wrap(note, width - 2, "  ").map((line) => `  ${s.tone(line, tone)}`));
  }
  lines.push("");
  return lines;
}

/**
 * A table whose cells are sentences (the expectations, the rule, the
 * targets) reads better as one block per row than as columns.
 */
function renderRecords(table: Table, s: Style, width: number): string[] {
  const lines = [s.bold(table.title)];
  if (table.subtitle) lines.push(...wrap(table.subtitle, width - 2).map((line) => `  ${line}`));
  // A first column without a title is a mark (✔ ✗ ≈ –) that leads the row's title.
  const titleCells = table.header[0] === "" ? 2 : 1;
  for (const row of table.rows) {
    const heading = row
      .slice(0, titleCells)
      .map((cell) => cell.text)
      .join(" ");
    const tone = titleCells === 2 ? row[0]?.tone : undefined;
    lines.push(
      ...wrap(`• ${heading}`, width - 2, "    ").map((line) => `  ${s.tone(s.bold(line), tone)}`),
    );
    row.slice(titleCells).forEach((cell, i) => {
      if (cell.text === "") return;
      const title = table.header[i + titleCells] ?? "";
      const text = title === "" ? cell.text : `${title}: ${cell.text}`;
      lines.push(
        ...wrap(text, width - 4, "      ").map((line) => `    ${s.tone(line, cell.tone)}`),
      );
    });
  }
  for (const note of table.notes) {
    lines.push(...wrap(note, width - 2, "  ").map((line) => `  ${s.tone(line, "muted")}`));
  }
  lines.push("");
  return lines;
}

const recordTables = new Set(["expectations", "decision-rule"]);

/** The whole report as text for stdout; width is the terminal's (default 100 columns). */
export function renderTerminal(report: BenchReport, color: boolean, width = 100): string {
  const s = style(color);
  const lines: string[] = [];
  for (const block of reportBlocks(report)) {
    switch (block.kind) {
      case "title":
        lines.push(s.bold(block.text), "");
        break;
      case "heading":
        lines.push(s.bold(`== ${block.text} ==`), "");
        break;
      case "paragraph":
        lines.push(
          ...wrap(block.text, width).map((line) => (block.strong ? s.bold(line) : line)),
          "",
        );
        break;
      case "list":
        for (const item of block.items) lines.push(...wrap(`- ${item}`, width, "  "));
        lines.push("");
        break;
      case "table":
        lines.push(
          ...(recordTables.has(block.table.key)
            ? renderRecords(block.table, s, width)
            : renderTable(block.table, s, width)),
        );
        break;
      case "code":
        lines.push(...block.lines.map((line) => `  ${line}`), "");
        break;
      case "chart":
        break;
    }
  }
  return `${lines.join("\n")}\n`;
}
