/**
 * The report as one self-contained HTML page (bench-<timestamp>.html):
 * the same outline as the terminal and Markdown (report/sections.ts) with
 * inline CSS and inline SVG charts, no scripts and nothing fetched.
 *
 * Library module of `npm run bench`; returns text, writes nothing.
 */
import { chartSvg } from "./charts.js";
import { reportBlocks } from "./sections.js";
import type { Table } from "./tables.js";
import type { BenchReport } from "./types.js";

function esc(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

function htmlTable(table: Table): string {
  const head = table.header.map((h) => `<th>${esc(h)}</th>`).join("");
  const body = table.rows
    .map(
      (row) =>
        `<tr>${row.map((cell) => `<td class="${cell.align === "right" ? "num" : "text"} ${cell.tone ?? ""}">${esc(cell.text)}</td>`).join("")}</tr>`,
    )
    .join("");
  const notes = table.notes.map((n) => `<li>${esc(n)}</li>`).join("");
  return `<h3>${esc(table.title)}</h3>${table.subtitle ? `<p class="muted">${esc(table.subtitle)}</p>` : ""}<div class="scroll"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>${notes ? `<ul class="notes">${notes}</ul>` : ""}`;
}

/** The whole report as an HTML page. */
export function renderHtml(report: BenchReport): string {
  const parts: string[] = [];
  let title = "ModelMora protocol benchmark";
  let inRecommendation = false;
  for (const block of reportBlocks(report)) {
    switch (block.kind) {
      case "title":
        title = block.text;
        parts.push(`<h1>${esc(block.text)}</h1>`);
        break;
      case "heading":
        if (inRecommendation) parts.push("</div>");
        inRecommendation = block.text === "Recommendation";
        parts.push(`${inRecommendation ? '<div class="answer">' : ""}<h2>${esc(block.text)}</h2>`);
        break;
      case "paragraph":
        parts.push(
          `<p>${block.strong ? `<strong>${esc(block.text)}</strong>` : esc(block.text)}</p>`,
        );
        break;
      case "list":
        parts.push(`<ul>${block.items.map((item) => `<li>${esc(item)}</li>`).join("")}</ul>`);
        break;
      case "table":
        parts.push(htmlTable(block.table));
        break;
      case "chart":
        parts.push(`<div class="charts">${chartSvg(block.chart)}</div>`);
        break;
      case "code":
        parts.push(`<pre>${esc(block.lines.join("\n"))}</pre>`);
        break;
    }
  }
  if (inRecommendation) parts.push("</div>");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px auto;max-width:1200px;padding:0 16px;color:#111827}
h1{font-size:20px}h2{font-size:17px;margin-top:32px}h3{font-size:15px;margin:24px 0 4px}
table{border-collapse:collapse;font-size:12.5px}th,td{padding:3px 8px;border-bottom:1px solid #e5e7eb;vertical-align:top}
td.num{white-space:nowrap;text-align:right;font-variant-numeric:tabular-nums}td.text{max-width:420px}
th{text-align:right;background:#f9fafb}th:first-child{text-align:left}
.ok{color:#15803d}.bad{color:#b91c1c;font-weight:600}.muted{color:#6b7280}.scroll{overflow-x:auto}
svg{font-size:11.5px;font-family:inherit}svg .title{font-weight:600}figure{margin:8px 0}figcaption{font-size:11px;color:#6b7280}
.charts{display:flex;flex-wrap:wrap;gap:8px}.answer{background:#eff6ff;border:1px solid #bfdbfe;padding:4px 16px;border-radius:6px}
pre{background:#f3f4f6;padding:8px 12px;overflow-x:auto}ul.notes{font-size:12px;color:#4b5563}
</style></head><body>
${parts.join("\n")}
</body></html>
`;
}
