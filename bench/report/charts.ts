/**
 * The HTML report's charts as data, and their inline SVG (no scripts,
 * nothing fetched): a throughput bar chart with each row's range and a
 * latency chart per scenario, and line charts with a logarithmic size (or
 * concurrency) axis for the sweeps.
 *
 * Library module of `npm run bench`; returns text, writes nothing.
 */
import type { Distribution, RowResult } from "../results/index.js";
import { sizeTitle } from "./tables.js";

/** One bar: a row's headline and its range. */
interface Bar {
  readonly label: string;
  readonly color: string;
  readonly value?: number;
  readonly low?: number;
  readonly high?: number;
  readonly status: RowResult["status"];
}

/** One line of a line chart. */
interface Series {
  readonly label: string;
  readonly color: string;
  readonly dashed?: boolean;
  readonly points: readonly { x: number; y: number; low?: number; high?: number }[];
}

/** A chart, before it is drawn. */
export type ChartSpec =
  | {
      readonly kind: "bars";
      readonly title: string;
      readonly unit: string;
      readonly bars: readonly Bar[];
    }
  | {
      readonly kind: "latency";
      readonly title: string;
      readonly rows: readonly { label: string; color: string; d: Distribution }[];
    }
  | {
      readonly kind: "lines";
      readonly title: string;
      readonly xLabel: string;
      readonly yLabel: string;
      readonly xTicks: readonly { x: number; label: string }[];
      readonly series: readonly Series[];
    };

const palette: Record<string, [h2: string, h1: string]> = {
  grpc: ["#2563eb", "#93c5fd"],
  "grpc-web": ["#0891b2", "#67e8f9"],
  connect: ["#7c3aed", "#c4b5fd"],
  "connect-json": ["#ea580c", "#fdba74"],
  rest: ["#16a34a", "#86efac"],
};

/** A row's colour: its protocol family's, lighter over HTTP/1.1; grey for baselines. */
export function colorOf(result: Pick<RowResult, "protocol" | "kind" | "httpVersion">): string {
  const pair = result.kind === "protocol" && result.protocol ? palette[result.protocol] : undefined;
  if (pair === undefined) return result.httpVersion === "2" ? "#4b5563" : "#9ca3af";
  return result.httpVersion === "2" ? pair[0] : pair[1];
}

/** The bar and latency charts of one scenario table. */
export function scenarioCharts(title: string, results: readonly RowResult[]): ChartSpec[] {
  const first = results[0];
  if (first === undefined) return [];
  const unit = first.headlineUnit ?? "MB/s";
  const what =
    first.scenario === "unary"
      ? "Calls per second"
      : first.load
        ? "Aggregate throughput"
        : "Throughput";
  const charts: ChartSpec[] = [
    {
      kind: "bars",
      title: `${what} (${unit}), median and range of the rounds — ${title}`,
      unit,
      bars: results.map((r) => ({
        label: r.label,
        color: colorOf(r),
        value: r.spread?.median,
        low: r.spread?.rounds === 1 ? undefined : r.spread?.low,
        high: r.spread?.rounds === 1 ? undefined : r.spread?.high,
        status: r.status,
      })),
    },
  ];
  const latency = results
    .filter((r) => r.status === "ok")
    .map((r) => ({
      label: r.label,
      color: colorOf(r),
      d: r.single?.latency ?? r.load?.clientLatency ?? r.unary?.latency,
    }))
    .filter((row): row is { label: string; color: string; d: Distribution } => row.d !== undefined);
  if (latency.length > 0) {
    charts.push({
      kind: "latency",
      title: `${first.load ? "Client request latency" : "Latency"} — ${title}`,
      rows: latency,
    });
  }
  return charts;
}

/** Rows a sweep chart draws: what users run, and the bare ceilings. */
function charted(result: RowResult): boolean {
  return result.kind === "protocol" ? result.diagnostic !== true : result.row.startsWith("bare");
}

function seriesBy(
  results: readonly RowResult[],
  point: (r: RowResult) => { x: number; y: number; low?: number; high?: number } | undefined,
  dashed: (r: RowResult) => boolean = () => false,
  suffix: (r: RowResult) => string = () => "",
): Series[] {
  const series = new Map<
    string,
    Series & { points: { x: number; y: number; low?: number; high?: number }[] }
  >();
  for (const r of results) {
    if (r.status !== "ok" || !charted(r)) continue;
    const p = point(r);
    if (p === undefined || !(p.y > 0)) continue;
    const key = `${r.row}${suffix(r)}`;
    const s = series.get(key) ?? {
      label: `${r.label}${suffix(r)}`,
      color: colorOf(r),
      dashed: dashed(r) || r.kind === "baseline",
      points: [],
    };
    s.points.push(p);
    series.set(key, s);
  }
  for (const s of series.values()) s.points.sort((a, b) => a.x - b.x);
  return [...series.values()];
}

/** The payload sweep: MB/s and time to first byte against the image size, both axes logarithmic. */
export function payloadCharts(results: readonly RowResult[]): ChartSpec[] {
  const sweep = results.filter((r) => r.scenario === "payload");
  if (sweep.length === 0) return [];
  const bytes = (r: RowResult) => r.single?.payloadBytes ?? 0;
  const ticks = [
    ...new Map(sweep.filter((r) => bytes(r) > 0).map((r) => [r.workload.model, bytes(r)])),
  ].map(([model, x]) => ({ x, label: sizeTitle(model) }));
  return [
    {
      kind: "lines",
      title: "Payload-size sweep: throughput (MB/s, median and range) by image size",
      xLabel: "bytes per request (log)",
      yLabel: "MB/s (log)",
      xTicks: ticks,
      series: seriesBy(sweep, (r) =>
        r.spread === undefined
          ? undefined
          : { x: bytes(r), y: r.spread.median, low: r.spread.low, high: r.spread.high },
      ),
    },
    {
      kind: "lines",
      title: "Payload-size sweep: time to first byte (ms, median) by image size",
      xLabel: "bytes per request (log)",
      yLabel: "ms (log)",
      xTicks: ticks,
      series: seriesBy(sweep, (r) =>
        r.single === undefined ? undefined : { x: bytes(r), y: r.single.firstChunk.p50 },
      ),
    },
  ];
}

/** The concurrency sweep: aggregate MB/s against concurrent streams (log); dashed lines share one connection. */
export function concurrencyCharts(results: readonly RowResult[]): ChartSpec[] {
  const sweep = results.filter(
    (r) => r.scenario === "concurrency" && r.step?.kind === "concurrency",
  );
  if (sweep.length === 0) return [];
  const streams = (r: RowResult) => (r.step?.kind === "concurrency" ? r.step.streams : 0);
  const shared = (r: RowResult) =>
    r.step?.kind === "concurrency" && r.step.connections === "shared";
  const levels = [...new Set(sweep.map(streams))].sort((a, b) => a - b);
  // One stream is the same on either: the shared lines start from it.
  const withOne = [
    ...sweep,
    ...sweep
      .filter((r) => streams(r) === 1)
      .flatMap((r) =>
        sweep.some((s) => s.row === r.row && shared(s))
          ? [
              {
                ...r,
                step: { kind: "concurrency" as const, streams: 1, connections: "shared" as const },
              },
            ]
          : [],
      ),
  ];
  return [
    {
      kind: "lines",
      title:
        "Concurrency sweep: aggregate MB/s (median, range) by streams; dashed: one HTTP/2 connection",
      xLabel: "concurrent streams (log)",
      yLabel: "MB/s (log)",
      xTicks: levels.map((x) => ({ x, label: String(x) })),
      series: seriesBy(
        withOne,
        (r) =>
          r.spread === undefined
            ? undefined
            : { x: streams(r), y: r.spread.median, low: r.spread.low, high: r.spread.high },
        shared,
        (r) => (shared(r) ? " (1 conn)" : ""),
      ),
    },
  ];
}

function esc(text: string): string {
  return text
    .replaceAll("&", "&amp;")
    .replaceAll("<", "&lt;")
    .replaceAll(">", "&gt;")
    .replaceAll('"', "&quot;");
}

const labelWidth = 170;
const valueWidth = 110;
const chartWidth = 760;
const rowHeight = 22;

function svg(title: string, width: number, height: number, body: string): string {
  return `<svg viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img" aria-label="${esc(title)}"><text x="0" y="14" class="title">${esc(title)}</text>${body}</svg>`;
}

function barsSvg(chart: Extract<ChartSpec, { kind: "bars" }>): string {
  const max = Math.max(1e-9, ...chart.bars.map((b) => b.high ?? b.value ?? 0));
  const plot = chartWidth - labelWidth - valueWidth;
  const x = (v: number) => labelWidth + (v / max) * plot;
  const height = chart.bars.length * rowHeight + 30;
  const body = chart.bars.map((b, i) => {
    const y = 24 + i * rowHeight;
    const label = `<text x="${labelWidth - 6}" y="${y + 14}" text-anchor="end">${esc(b.label)}</text>`;
    if (b.status !== "ok" || b.value === undefined) {
      return `${label}<text x="${labelWidth + 4}" y="${y + 14}" class="${b.status === "failed" ? "bad" : "muted"}">${b.status === "failed" ? "FAILED" : "skipped"}</text>`;
    }
    const width = Math.max(1, x(b.value) - labelWidth);
    const value = `${b.value.toFixed(b.value < 100 ? 2 : 1)} ${chart.unit}`;
    const range =
      b.low === undefined || b.high === undefined
        ? ""
        : `<line x1="${x(b.low).toFixed(1)}" x2="${x(b.high).toFixed(1)}" y1="${y + 11}" y2="${y + 11}" stroke="#111827" stroke-width="1.5"/>`;
    return `${label}<rect x="${labelWidth}" y="${y + 3}" width="${width.toFixed(1)}" height="${rowHeight - 6}" fill="${b.color}"><title>${esc(`${b.label}: ${value}${b.low === undefined ? "" : ` (${b.low.toFixed(1)}–${b.high?.toFixed(1)})`}`)}</title></rect>${range}<text x="${(x(b.high ?? b.value) + 4).toFixed(1)}" y="${y + 14}">${esc(value)}</text>`;
  });
  return `<figure>${svg(chart.title, chartWidth, height, body.join(""))}<figcaption>bar: median of the rounds; line: their range</figcaption></figure>`;
}

function latencySvg(chart: Extract<ChartSpec, { kind: "latency" }>): string {
  const max = Math.max(...chart.rows.map((r) => r.d.max));
  const plot = chartWidth - labelWidth - valueWidth;
  const x = (v: number) => labelWidth + (v / max) * plot;
  const height = chart.rows.length * rowHeight + 44;
  const marks = chart.rows.map((r, i) => {
    const d = r.d;
    const y = 24 + i * rowHeight + rowHeight / 2;
    const tip = esc(
      `${r.label}: min ${d.min.toFixed(2)}, p50 ${d.p50.toFixed(2)}, p90 ${d.p90.toFixed(2)}, p99 ${d.p99.toFixed(2)}, max ${d.max.toFixed(2)} ms (n=${d.count})`,
    );
    return (
      `<text x="${labelWidth - 6}" y="${y + 4}" text-anchor="end">${esc(r.label)}</text>` +
      `<g><title>${tip}</title>` +
      `<line x1="${x(d.min).toFixed(1)}" x2="${x(d.max).toFixed(1)}" y1="${y}" y2="${y}" stroke="#9ca3af" stroke-width="1"/>` +
      `<rect x="${x(d.p50).toFixed(1)}" y="${y - 5}" width="${Math.max(1, x(d.p99) - x(d.p50)).toFixed(1)}" height="10" fill="${r.color}" opacity="0.55"/>` +
      `<line x1="${x(d.p90).toFixed(1)}" x2="${x(d.p90).toFixed(1)}" y1="${y - 7}" y2="${y + 7}" stroke="#111827" stroke-width="2"/>` +
      `<circle cx="${x(d.p50).toFixed(1)}" cy="${y}" r="3.5" fill="${r.color}" stroke="#111827"/>` +
      `</g><text x="${(chartWidth - valueWidth + 6).toFixed(1)}" y="${y + 4}">p50 ${d.p50.toFixed(d.p50 < 10 ? 2 : 1)} ms</text>`
    );
  });
  const axisY = 24 + chart.rows.length * rowHeight + 6;
  const ticks = [0, 0.25, 0.5, 0.75, 1]
    .map(
      (f) =>
        `<text x="${x(f * max).toFixed(1)}" y="${axisY + 12}" text-anchor="middle" class="muted">${(f * max).toFixed(max < 10 ? 2 : 0)}</text>`,
    )
    .join("");
  return `<figure>${svg(chart.title, chartWidth, height, `${marks.join("")}<line x1="${labelWidth}" x2="${labelWidth + plot}" y1="${axisY}" y2="${axisY}" stroke="#d1d5db"/>${ticks}`)}<figcaption>ms; dot p50, bar p50–p99, tick p90, line min–max</figcaption></figure>`;
}

/** Powers of ten covering [low, high]. */
function decades(low: number, high: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(low)); e <= Math.ceil(Math.log10(high)); e++)
    out.push(10 ** e);
  return out;
}

function linesSvg(chart: Extract<ChartSpec, { kind: "lines" }>): string {
  const points = chart.series.flatMap((s) => s.points);
  if (points.length === 0) return "";
  const width = 860;
  const legendWidth = 190;
  const left = 56;
  const top = 28;
  const plotW = width - left - legendWidth - 16;
  const plotH = 300;
  const height = top + plotH + 48;
  const xs = points.map((p) => p.x);
  const ys = points.flatMap((p) => [p.y, p.low ?? p.y, p.high ?? p.y]).filter((y) => y > 0);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const yTicks = decades(Math.min(...ys), Math.max(...ys));
  const yMin = yTicks[0] as number;
  const yMax = yTicks.at(-1) as number;
  const lx = (x: number) =>
    left +
    (xMax === xMin
      ? plotW / 2
      : ((Math.log10(x) - Math.log10(xMin)) / (Math.log10(xMax) - Math.log10(xMin))) * plotW);
  const ly = (y: number) =>
    top +
    plotH -
    ((Math.log10(y) - Math.log10(yMin)) / (Math.log10(yMax) - Math.log10(yMin) || 1)) * plotH;
  const grid = yTicks
    .map(
      (y) =>
        `<line x1="${left}" x2="${left + plotW}" y1="${ly(y).toFixed(1)}" y2="${ly(y).toFixed(1)}" stroke="#e5e7eb"/><text x="${left - 6}" y="${(ly(y) + 4).toFixed(1)}" text-anchor="end" class="muted">${y >= 1 ? y.toFixed(0) : y}</text>`,
    )
    .join("");
  const xAxis = chart.xTicks
    .map(
      (t) =>
        `<line x1="${lx(t.x).toFixed(1)}" x2="${lx(t.x).toFixed(1)}" y1="${top}" y2="${top + plotH}" stroke="#f3f4f6"/><text x="${lx(t.x).toFixed(1)}" y="${top + plotH + 14}" text-anchor="middle" class="muted">${esc(t.label)}</text>`,
    )
    .join("");
  const lines = chart.series
    .map((s) => {
      const path = s.points
        .map((p, i) => `${i === 0 ? "M" : "L"}${lx(p.x).toFixed(1)},${ly(p.y).toFixed(1)}`)
        .join(" ");
      const whiskers = s.points
        .filter((p) => p.low !== undefined && p.high !== undefined && (p.low as number) > 0)
        .map(
          (p) =>
            `<line x1="${lx(p.x).toFixed(1)}" x2="${lx(p.x).toFixed(1)}" y1="${ly(p.low as number).toFixed(1)}" y2="${ly(p.high as number).toFixed(1)}" stroke="${s.color}" stroke-width="1"/>`,
        )
        .join("");
      const dots = s.points
        .map(
          (p) =>
            `<circle cx="${lx(p.x).toFixed(1)}" cy="${ly(p.y).toFixed(1)}" r="2.5" fill="${s.color}"><title>${esc(`${s.label}: ${p.y.toFixed(p.y < 10 ? 2 : 1)}`)}</title></circle>`,
        )
        .join("");
      return `<g><path d="${path}" fill="none" stroke="${s.color}" stroke-width="1.8"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/>${whiskers}${dots}</g>`;
    })
    .join("");
  const legend = chart.series
    .map((s, i) => {
      const y = top + 6 + i * 16;
      const x = left + plotW + 16;
      return `<line x1="${x}" x2="${x + 18}" y1="${y}" y2="${y}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="5 3"' : ""}/><text x="${x + 24}" y="${y + 4}">${esc(s.label)}</text>`;
    })
    .join("");
  const axisLabels = `<text x="${left + plotW / 2}" y="${height - 6}" text-anchor="middle" class="muted">${esc(chart.xLabel)}</text><text x="12" y="${top + plotH / 2}" transform="rotate(-90 12 ${top + plotH / 2})" text-anchor="middle" class="muted">${esc(chart.yLabel)}</text>`;
  return `<figure>${svg(chart.title, width, Math.max(height, top + chart.series.length * 16 + 12), `${grid}${xAxis}${lines}${legend}${axisLabels}`)}</figure>`;
}

/** A chart as inline SVG. */
export function chartSvg(chart: ChartSpec): string {
  switch (chart.kind) {
    case "bars":
      return barsSvg(chart);
    case "latency":
      return latencySvg(chart);
    case "lines":
      return linesSvg(chart);
  }
}
