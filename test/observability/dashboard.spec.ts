/**
 * The Grafana dashboard (deploy/grafana/modelmora-dashboard.json): its
 * PromQL may name only series and labels that the server's metrics expose
 * (a worker's createMetrics() with the limit store's health on its
 * registry, and the cluster primary's own), and every modelmora_ metric is
 * on a panel.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { createPrimaryMetrics } from "../../src/cluster/index.js";
import { createStoreHealth } from "../../src/limits/index.js";
import { createMetrics } from "../../src/observability/index.js";
import { callSummary, parseSamples, streamMethodOf } from "../support/index.js";

const streamMethod = streamMethodOf("grpc");

// PromQL words that are neither metric nor label names.
const promqlKeywords = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "bool",
  "and",
  "or",
  "unless",
  "offset",
  "inf",
  "nan",
]);
// Labels Prometheus adds to every scraped series.
const targetLabels = new Set(["job", "instance"]);

/** The metric and label names a PromQL expression refers to. */
function namesInPromql(expr: string): { metrics: Set<string>; labels: Set<string> } {
  const metrics = new Set<string>();
  const labels = new Set<string>();
  let rest = expr;
  for (const [, matchers] of rest.matchAll(/\{([^}]*)\}/g)) {
    for (const [, label] of (matchers as string).matchAll(
      /([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)/g,
    )) {
      labels.add(label as string);
    }
  }
  rest = rest.replace(/\{[^}]*\}/g, " ").replace(/\[[^\]]*\]/g, " ");
  rest = rest.replace(/"(?:[^"\\]|\\.)*"/g, " ").replace(/\boffset\s+-?\w+/gi, " ");
  rest = rest.replace(
    /\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)/g,
    (_match, list: string) => {
      for (const label of list.split(",")) {
        if (label.trim() !== "") labels.add(label.trim());
      }
      return " ";
    },
  );
  // Numbers, including 1e-9 and 0.99, before identifiers are picked out.
  rest = rest.replace(/\b\d+(?:\.\d+)?(?:e[+-]?\d+)?\b/gi, " ");
  for (const match of rest.matchAll(/[a-zA-Z_:][a-zA-Z0-9_:]*(\s*\()?/g)) {
    const name = match[0].replace(/\s*\($/, "");
    if (match[1] !== undefined || promqlKeywords.has(name.toLowerCase())) continue;
    metrics.add(name);
  }
  return { metrics, labels };
}

interface DashboardTarget {
  expr?: string;
  legendFormat?: string;
  datasource?: { type?: string; uid?: string };
}
interface DashboardPanel {
  type: string;
  title: string;
  id: number;
  datasource?: { type?: string; uid?: string };
  targets?: DashboardTarget[];
  gridPos: { h: number; w: number; x: number; y: number };
}
interface Dashboard {
  title: string;
  uid: string;
  schemaVersion: number;
  panels: DashboardPanel[];
  templating: {
    list: { type: string; name: string; query: unknown; definition?: string }[];
  };
}

describe("Grafana dashboard", () => {
  const dashboard = JSON.parse(
    readFileSync(new URL("../../deploy/grafana/modelmora-dashboard.json", import.meta.url), "utf8"),
  ) as Dashboard;

  /**
   * Every series name and label name /metrics exposes once each metric has
   * a sample: the server's metrics, the shared limit store's (registered on
   * the server's registry, as a Redis or cluster store does), and the
   * cluster primary's (--workers).
   */
  async function exposed(): Promise<{
    series: Set<string>;
    families: Set<string>;
    labels: Set<string>;
  }> {
    const metrics = createMetrics();
    metrics.callStarted({
      protocol: "grpc",
      httpVersion: "2",
      method: streamMethod,
      streaming: true,
    });
    metrics.callFinished({ ...callSummary(), streaming: true });
    metrics.callFinished({ ...callSummary({ code: "internal" }), streaming: false });
    metrics.imageGenerated({ model: "thumb-64", renderer: "canvas", cached: false }, 0.01);
    metrics.imageGenerated({ model: "thumb-64", renderer: "canvas", cached: true }, 0);
    const storeHealth = createStoreHealth({
      store: "redis://localhost:6379/",
      registry: metrics.registry,
    });
    storeHealth.failed("admit", new Error("connection refused"));
    const primary = createPrimaryMetrics();
    primary.setWorkers({ starting: 1, serving: 1, draining: 0 });
    primary.workerRestarted();
    const body = [(await metrics.render()).body, (await primary.render([])).body].join("\n");
    const samples = parseSamples(body);
    const families = new Set([...body.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] as string));
    return {
      series: new Set(samples.map((s) => s.name)),
      families,
      labels: new Set(samples.flatMap((s) => Object.keys(s.labels))),
    };
  }

  function queries(): { where: string; expr: string; legend?: string }[] {
    const out: { where: string; expr: string; legend?: string }[] = [];
    for (const panel of dashboard.panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr !== undefined) {
          out.push({
            where: `panel "${panel.title}"`,
            expr: target.expr,
            legend: target.legendFormat,
          });
        }
      }
    }
    for (const variable of dashboard.templating.list) {
      if (variable.type !== "query") continue;
      const query =
        typeof variable.query === "string"
          ? variable.query
          : (variable.query as { query: string }).query;
      // label_values(metric, label) is Grafana's, not PromQL: check both parts.
      const labelValues =
        /^label_values\(\s*([a-zA-Z_:][a-zA-Z0-9_:]*)\s*,\s*([a-zA-Z_]\w*)\s*\)$/.exec(query);
      assert.ok(labelValues, `variable ${variable.name}: unexpected query ${query}`);
      out.push({
        where: `variable ${variable.name}`,
        expr: `${labelValues[1]}{${labelValues[2]}=""}`,
      });
    }
    return out;
  }

  it("is a Grafana dashboard with a templated Prometheus data source", () => {
    assert.equal(dashboard.uid, "modelmora");
    assert.ok(dashboard.schemaVersion >= 36 && dashboard.schemaVersion <= 41);
    const datasource = dashboard.templating.list.find((v) => v.type === "datasource");
    assert.equal(datasource?.query, "prometheus");
    const ids = new Set<number>();
    for (const panel of dashboard.panels) {
      assert.ok(!ids.has(panel.id), `duplicate panel id ${panel.id}`);
      ids.add(panel.id);
      assert.ok(panel.gridPos.x + panel.gridPos.w <= 24, `${panel.title} is wider than the grid`);
      if (panel.type === "row") continue;
      assert.deepEqual(panel.datasource, { type: "prometheus", uid: `\${${datasource?.name}}` });
      assert.ok((panel.targets ?? []).length > 0, `${panel.title} has no query`);
      for (const target of panel.targets ?? []) {
        assert.deepEqual(target.datasource, panel.datasource);
      }
    }
  });

  it("has a panel for each figure an operator watches", () => {
    const titles = dashboard.panels.map((p) => p.title.toLowerCase());
    for (const wanted of [
      "request rate",
      "error rate",
      "throughput",
      "call duration",
      "first chunk",
      "active streams",
      "image generation",
      "cache hit",
      "cpu",
      "memory",
      "workers",
      "limit store",
    ]) {
      assert.ok(
        titles.some((t) => t.includes(wanted)),
        `no panel about ${wanted}`,
      );
    }
  });

  it("queries only series and labels that /metrics exposes", async () => {
    const { series, labels } = await exposed();
    for (const { where, expr, legend } of queries()) {
      const names = namesInPromql(expr);
      assert.ok(names.metrics.size > 0, `${where}: no metric in ${expr}`);
      for (const metric of names.metrics) {
        assert.ok(series.has(metric), `${where}: ${metric} is not exposed (${expr})`);
      }
      for (const label of names.labels) {
        assert.ok(labels.has(label) || targetLabels.has(label), `${where}: no label ${label}`);
      }
      for (const [, label] of (legend ?? "").matchAll(/\{\{\s*(\w+)\s*\}\}/g)) {
        assert.ok(
          labels.has(label as string) || targetLabels.has(label as string),
          `${where}: legend label ${label}`,
        );
      }
    }
  });

  it("plots every modelmora_ metric", async () => {
    const { families } = await exposed();
    const used = new Set(queries().flatMap(({ expr }) => [...namesInPromql(expr).metrics]));
    for (const family of families) {
      if (!family.startsWith("modelmora_")) continue;
      assert.ok(
        [...used].some((name) => name === family || name.startsWith(`${family}_`)),
        `${family} is on no panel`,
      );
    }
  });

  it("reads PromQL the way the checks above assume", () => {
    const names = namesInPromql(
      'histogram_quantile(0.99, sum by (le, protocol) (rate(a_bucket{code!="ok", x=~"$v"}[$__rate_interval]))) / clamp_min(b_total offset 5m, 1e-9)',
    );
    assert.deepEqual([...names.metrics].sort(), ["a_bucket", "b_total"]);
    assert.deepEqual([...names.labels].sort(), ["code", "le", "protocol", "x"]);
  });
});
