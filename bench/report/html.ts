/**
 * The report as one self-contained HTML page (bench-<timestamp>.html):
 * inline CSS and inline SVG charts, no scripts and nothing fetched.
 * Charts: throughput by protocol for each scenario and mode, and the
 * latency distribution of each (min–max line, p50–p99 bar, p90 tick).
 *
 * Library module of `npm run bench`; returns text, writes nothing.
 */
import type { BenchReport, Distribution, RowResult } from "../results/index.js";
import {
  contextLines,
  generationTable,
  legendLines,
  reportTables,
  seedStyleLines,
  type Table,
  targetsTable,
} from "./tables.js";

function esc(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

const palette: Record<string, string> = {
  grpc: "#2563eb",
  "grpc-web": "#0891b2",
  "connect-json": "#ea580c",
  connect: "#7c3aed",
  rest: "#16a34a",
  baseline: "#6b7280",
};

function colorOf(result: RowResult): string {
  if (result.kind === "baseline") return palette.baseline as string;
  for (const family of ["connect-json", "grpc-web", "connect", "rest", "grpc"]) {
    if (result.row.startsWith(family)) return palette[family] as string;
  }
  return palette.baseline as string;
}

const labelWidth = 170;
const valueWidth = 110;
const chartWidth = 760;
const rowHeight = 22;

function barChart(title: string, results: readonly RowResult[], unit: string): string {
  const max = Math.max(1e-9, ...results.map((r) => (r.status === "ok" ? (r.headline ?? 0) : 0)));
  const plot = chartWidth - labelWidth - valueWidth;
  const height = results.length * rowHeight + 30;
  const bars = results.map((r, i) => {
    const y = 24 + i * rowHeight;
    const label = `<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end">${esc(r.label)}</text>`;
    if (r.status !== "ok" || r.headline === undefined) {
      return `${label}<text x="${labelWidth + 4}" y="${y + 14}" class="${r.status === "failed" ? "bad" : "muted"}">${r.status === "failed" ? "FAILED" : "skipped"}</text>`;
    }
    const width = Math.max(1, (r.headline / max) * plot);
    const value = `${r.headline.toFixed(r.headline < 100 ? 2 : 1)} ${unit}`;
    return `${label}<rect x="${labelWidth}" y="${y + 3}" width="${width.toFixed(1)}" height="${rowHeight - 6}" fill="${colorOf(r)}"><title>${esc(`${r.label}: ${value}`)}</title></rect><text x="${(labelWidth + width + 4).toFixed(1)}" y="${y + 14}">${esc(value)}</text>`;
  });
  return `<figure><svg viewBox="0 0 ${chartWidth} ${height}" width="${chartWidth}" height="${height}" role="img" aria-label="${esc(title)}"><text x="0" y="14" class="title">${esc(title)}</text>${bars.join("")}</svg></figure>`;
}

function latencyOf(result: RowResult): Distribution | undefined {
  return result.single?.latency ?? result.load?.clientLatency ?? result.unary?.latency;
}

function latencyChart(title: string, results: readonly RowResult[]): string {
  const rows = results.filter((r) => r.status === "ok" && latencyOf(r) !== undefined);
  if (rows.length === 0) return "";
  const max = Math.max(...rows.map((r) => (latencyOf(r) as Distribution).max));
  const plot = chartWidth - labelWidth - valueWidth;
  const x = (v: number) => labelWidth + (v / max) * plot;
  const height = rows.length * rowHeight + 44;
  const marks = rows.map((r, i) => {
    const d = latencyOf(r) as Distribution;
    const y = 24 + i * rowHeight + rowHeight / 2;
    const tip = esc(
      `${r.label}: min ${d.min.toFixed(2)}, p50 ${d.p50.toFixed(2)}, p90 ${d.p90.toFixed(2)}, p99 ${d.p99.toFixed(2)}, max ${d.max.toFixed(2)} ms (n=${d.count})`,
    );
    return (
      `<text x="${labelWidth - 6}" y="${y + 4}" text-anchor="end">${esc(r.label)}</text>` +
      `<g><title>${tip}</title>` +
      `<line x1="${x(d.min).toFixed(1)}" x2="${x(d.max).toFixed(1)}" y1="${y}" y2="${y}" stroke="#9ca3af" stroke-width="1"/>` +
      `<rect x="${x(d.p50).toFixed(1)}" y="${y - 5}" width="${Math.max(1, x(d.p99) - x(d.p50)).toFixed(1)}" height="10" fill="${colorOf(r)}" opacity="0.55"/>` +
      `<line x1="${x(d.p90).toFixed(1)}" x2="${x(d.p90).toFixed(1)}" y1="${y - 7}" y2="${y + 7}" stroke="#111827" stroke-width="2"/>` +
      `<circle cx="${x(d.p50).toFixed(1)}" cy="${y}" r="3.5" fill="${colorOf(r)}" stroke="#111827"/>` +
      `</g><text x="${(chartWidth - valueWidth + 6).toFixed(1)}" y="${y + 4}">p50 ${d.p50.toFixed(d.p50 < 10 ? 2 : 1)} ms</text>`
    );
  });
  const axisY = 24 + rows.length * rowHeight + 6;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${x(f * max).toFixed(1)}" y="${axisY + 12}" text-anchor="middle" class="muted">${(f * max).toFixed(max < 10 ? 2 : 0)}</text>`,
    )
    .join("");
  return `<figure><svg viewBox="0 0 ${chartWidth} ${height}" width="${chartWidth}" height="${height}" role="img" aria-label="${esc(title)}"><text x="0" y="14" class="title">${esc(title)}</text>${marks.join("")}<line x1="${labelWidth}" x2="${labelWidth + plot}" y1="${axisY}" y2="${axisY}" stroke="#d1d5db"/>${ticks}</svg><figcaption>ms; dot p50, bar p50–p99, tick p90, line min–max</figcaption></figure>`;
}

function htmlTable(table: Table): string {
  const head = table.header.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = table.rows
    .map(
      (row) =>
        `<tr>${row.map((cell) => `<td class="${cell.align === "right" ? "num" : ""} ${cell.tone ?? ""}">${esc(cell.text)}</td>`).join("")}</tr>`,
    )
    .join("");
  const notes = table.notes.map((n) => `<li>${esc(n)}</li>`).join("");
  return `<h3>${esc(table.title)}</h3>${table.subtitle ? `<p class="muted">${esc(table.subtitle)}</p>` : ""}<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>${notes ? `<ul>${notes}</ul>` : ""}`;
}

/** The whole report as an HTML page. */
export function renderHtml(report: BenchReport): string {
  const [title, ...context] = contextLines(report);
  const sections: string[] = [];
  const tables = reportTables(report);
  for (const table of tables) {
    const results = report.results.filter((r) => `${r.scenario}/${r.mode}` === table.key);
    const unit = results[0]?.scenario === "unary" ? "calls/s" : "MB/s";
    const what =
      results[0]?.scenario === "unary"
        ? "Calls per second"
        : results[0]?.load
          ? "Aggregate throughput"
          : "Throughput";
    sections.push(
      `<section>${htmlTable(table)}<div class="charts">${barChart(`${what} (${unit})`, results, unit)}${latencyChart(results[0]?.load ? "Client request latency" : "Latency", results)}</div></section>`,
    );
  }
  const extra = [generationTable(report), targetsTable(report)]
    .filter((t): t is Table => t !== undefined)
    .map(htmlTable)
    .join("");
  const v = report.verdict;
  const verdictItems = [v.primary, ...v.supporting]
    .map(
      (item) =>
        `<li>${item === v.primary ? "<strong>Primary:</strong> " : ""}${esc(item.comparison)}: ${item.ratio === undefined ? "" : `gRPC ${item.grpcFigure?.toFixed(1)} vs ${esc(item.restRow)} ${item.restFigure?.toFixed(1)} MB/s = <strong>${item.ratio.toFixed(2)}×</strong> → `}${esc(item.decision)}</li>`,
    )
    .join("");
  const seed = seedStyleLines(report);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title ?? "ModelMora benchmark")}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#111827}
h1{font-size:20px}h2{font-size:17px;margin-top:32px}h3{font-size:15px;margin:24px 0 4px}
table{border-collapse:collapse;font-size:12.5px}th,td{padding:3px 8px;border-bottom:1px solid #e5e7eb;white-space:nowrap}
th{text-align:right;background:#f9fafb}th:first-child{text-align:left}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#15803d}.bad{color:#b91c1c;font-weight:600}.muted{color:#6b7280}.scroll{overflow-x:auto}
svg{font-size:11.5px;font-family:inherit}svg .title{font-weight:600}figure{margin:8px 0}figcaption{font-size:11px;color:#6b7280}
.charts{display:flex;flex-wrap:wrap;gap:8px}.verdict{background:#eff6ff;border:1px solid #bfdbfe;padding:8px 14px;border-radius:6px}
pre{background:#f3f4f6;padding:8px 12px;overflow-x:auto}
</style></head><body>
<h1>${esc(title ?? "")}</h1>
<ul>${context.map((line) => `<li>${esc(line)}</li>`).join("")}</ul>
<div class="verdict"><h2>Decision (the seed's rule)</h2><ul>${verdictItems}</ul><p><strong>${esc(v.summary)}</strong></p></div>
${seed.length > 0 ? `<h2>Seed's sample results, this run's gRPC figures</h2><pre>${esc(seed.join("\n"))}</pre>` : ""}
<h2>Results</h2>
${sections.join("\n")}
${extra}
<h2>Notes</h2><ul>${legendLines()
    .map((line) => `<li>${esc(line)}</li>`)
    .join("")}</ul>
<p class="muted">Reproduce: <code>npm run bench --${esc(report.argv.length > 0 ? ` ${report.argv.join(" ")}` : "")}</code> at commit ${esc(report.git?.commit ?? "?")}. Wall time ${(report.wallMs / 1000).toFixed(1)} s.</p>
</body></html>
`;
}
