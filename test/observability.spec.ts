/**
 * Unit tests of src/observability: the pino call logger (fields, levels,
 * redaction), the prom-client metrics (series, labels, the active-streams
 * gauge, independent registries) and the Grafana dashboard, whose PromQL may
 * name only series that Metrics.render() exposes.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Writable } from "node:stream";
import { describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import {
  type CallSummary,
  callLogLevel,
  codeLabelFromCode,
  codeLabels,
  createMetrics,
  createServerLogger,
  isSecretFieldName,
  type LoggerOptions,
  logLevelFromString,
  type Metrics,
  maxLabelValues,
  type ProtocolLabel,
  redactText,
} from "../src/observability/index.js";
import type { Logger } from "../src/server/index.js";

const streamMethod = "modelmora.InferenceService/StreamInference";
const protocols: ProtocolLabel[] = ["grpc", "grpc-web", "connect", "connect-json", "rest"];

/** A logger whose lines land in an array, parsed. */
function capturedLogger(options: Omit<LoggerOptions, "destination"> = {}) {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createServerLogger({ ...options, destination });
  return {
    logger,
    text: () => chunks.join(""),
    lines: (): Record<string, unknown>[] =>
      chunks
        .join("")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

function summary(overrides: Partial<CallSummary> = {}): CallSummary {
  return {
    protocol: "grpc",
    httpVersion: "2",
    method: streamMethod,
    code: "ok",
    bytesSent: 1234,
    durationMs: 12.3456789,
    firstChunkMs: 4.5,
    ...overrides,
  };
}

describe("createServerLogger", () => {
  it("has the shape of the server's Logger", () => {
    const logger: Logger = createServerLogger({ level: "silent" });
    logger.info("typed");
  });

  it("writes one JSON line per call with every field", () => {
    const { logger, text, lines } = capturedLogger();
    logger.call(
      summary({
        code: "invalid_argument",
        keyId: "key-7",
        requestId: "req-1",
        error: "batch_size: must be at most 32, got 33",
      }),
    );
    logger.call(summary({ protocol: "rest", httpVersion: "1.1", method: "GET /healthz" }));
    assert.ok(text().endsWith("\n"));
    const [first, second, ...rest] = lines();
    assert.equal(rest.length, 0);
    assert.ok(first !== undefined && second !== undefined);
    assert.equal(first.msg, "call");
    assert.equal(first.level, "warn");
    assert.equal(typeof first.time, "string");
    assert.ok(!Number.isNaN(Date.parse(first.time as string)), "time is ISO 8601");
    assert.deepEqual(
      {
        protocol: first.protocol,
        http_version: first.http_version,
        method: first.method,
        code: first.code,
        bytes: first.bytes,
        duration_ms: first.duration_ms,
        first_chunk_ms: first.first_chunk_ms,
        key_id: first.key_id,
        request_id: first.request_id,
        error: first.error,
      },
      {
        protocol: "grpc",
        http_version: "2",
        method: streamMethod,
        code: "invalid_argument",
        bytes: 1234,
        duration_ms: 12.346,
        first_chunk_ms: 4.5,
        key_id: "key-7",
        request_id: "req-1",
        error: "batch_size: must be at most 32, got 33",
      },
    );
    assert.equal(second.level, "info");
    assert.equal(second.protocol, "rest");
    assert.equal(second.http_version, "1.1");
  });

  it("leaves out the fields a call doesn't have", () => {
    const { logger, lines } = capturedLogger();
    logger.call(summary({ firstChunkMs: undefined, bytesSent: 0 }));
    const [line] = lines();
    assert.ok(line !== undefined);
    for (const absent of ["first_chunk_ms", "key_id", "request_id", "error"]) {
      assert.ok(!(absent in line), `${absent} should be left out`);
    }
    assert.equal(line.bytes, 0);
  });

  it("picks the level of a call line from its code", () => {
    const expected: Record<string, "info" | "warn" | "error"> = {
      ok: "info",
      canceled: "info",
      aborted: "info",
      invalid_argument: "warn",
      not_found: "warn",
      unauthenticated: "warn",
      permission_denied: "warn",
      resource_exhausted: "warn",
      deadline_exceeded: "warn",
      unavailable: "warn",
      unimplemented: "warn",
      internal: "error",
      unknown: "error",
      data_loss: "error",
      "no-such-code": "error",
    };
    const { logger, lines } = capturedLogger();
    for (const code of Object.keys(expected)) {
      assert.equal(callLogLevel(code), expected[code], code);
      logger.call(summary({ code }));
    }
    assert.deepEqual(
      lines().map((line) => [line.code, line.level]),
      Object.entries(expected),
    );
  });

  it("every Connect code has a level", () => {
    for (const code of codeLabels) {
      assert.ok(["info", "warn", "error"].includes(callLogLevel(code)));
    }
  });

  it("writes only lines at or above its level", () => {
    const warnOnly = capturedLogger({ level: "warn" });
    warnOnly.logger.debug("d");
    warnOnly.logger.info("i");
    warnOnly.logger.call(summary({ code: "ok" }));
    warnOnly.logger.warn("w");
    warnOnly.logger.call(summary({ code: "internal" }));
    warnOnly.logger.error("e");
    assert.deepEqual(
      warnOnly.lines().map((line) => [line.level, line.msg]),
      [
        ["warn", "w"],
        ["error", "call"],
        ["error", "e"],
      ],
    );

    const defaults = capturedLogger();
    defaults.logger.debug("d");
    defaults.logger.info("i");
    assert.deepEqual(
      defaults.lines().map((line) => line.msg),
      ["i"],
      "default level is info",
    );

    const debug = capturedLogger({ level: "debug" });
    debug.logger.debug("d", { n: 1 });
    assert.deepEqual(
      debug.lines().map((line) => [line.level, line.msg, line.n]),
      [["debug", "d", 1]],
    );

    const silent = capturedLogger({ level: "silent" });
    silent.logger.error("e");
    silent.logger.call(summary({ code: "internal" }));
    assert.equal(silent.text(), "");
  });

  it("redacts fields named like credentials, at any depth", () => {
    const { logger, lines } = capturedLogger();
    logger.info("startup", {
      key: "k-secret-1",
      apiKey: "k-secret-2",
      api_key: "k-secret-3",
      "x-api-key": "k-secret-4",
      token: "t-secret-1",
      accessToken: "t-secret-2",
      authorization: "Bearer t-secret-3",
      password: "p-secret",
      clientSecret: "s-secret",
      jwtSecret: "s-secret-2",
      key_id: "key-7",
      keyId: "key-8",
      nested: { headers: { Authorization: "Basic dXNlcjpwYXNz", cookie: "c=1" } },
      list: [{ token: "t-secret-4" }, "plain"],
    });
    const [line] = lines();
    assert.ok(line !== undefined);
    const text = JSON.stringify(line);
    for (const secret of ["k-secret", "t-secret", "p-secret", "s-secret", "dXNlcjpwYXNz", "c=1"]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.equal(line.apiKey, "[redacted]");
    assert.equal(line["x-api-key"], "[redacted]");
    assert.equal(line.key_id, "key-7", "a key id is safe");
    assert.equal(line.keyId, "key-8", "a key id is safe");
    assert.deepEqual(line.nested, {
      headers: { Authorization: "[redacted]", cookie: "[redacted]" },
    });
    assert.deepEqual(line.list, [{ token: "[redacted]" }, "plain"]);
  });

  it("redacts bearer credentials and JWTs inside messages, errors and strings", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    const { logger, lines } = capturedLogger();
    logger.warn(`rejected Bearer ${jwt}`, { detail: `token was ${jwt}` });
    logger.call(summary({ code: "unauthenticated", error: `bad header: Bearer abc.def-ghi` }));
    logger.error("failed", { err: new Error(`verify ${jwt}`) });
    const text = lines()
      .map((line) => JSON.stringify(line))
      .join("\n");
    assert.ok(!text.includes(jwt), text);
    assert.ok(!text.includes("abc.def-ghi"), text);
    const [warn, call, error] = lines();
    assert.equal(warn?.msg, "rejected Bearer [redacted]");
    assert.equal(call?.error, "bad header: Bearer [redacted]");
    const err = error?.err as Record<string, unknown>;
    assert.equal(err.name, "Error");
    assert.equal(err.message, "verify [redacted]");
    assert.equal(redactText("no secrets here"), "no secrets here");
  });

  it("survives cycles and keeps its own keys", () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const { logger, lines } = capturedLogger();
    logger.info("odd fields", { cyclic, level: "mine", msg: "mine too", bytes: new Uint8Array(3) });
    const [line] = lines();
    assert.ok(line !== undefined);
    assert.deepEqual(line.cyclic, { name: "loop", self: "[circular]" });
    assert.equal(line.level, "info");
    assert.equal(line.msg, "odd fields");
    assert.equal(line.field_level, "mine");
    assert.equal(line.field_msg, "mine too");
    assert.equal(line.bytes, "[3 bytes]");
  });

  it("names secret fields by pattern", () => {
    for (const name of ["key", "API_KEY", "private-key", "refresh_token", "Authorization"]) {
      assert.ok(isSecretFieldName(name), name);
    }
    for (const name of ["key_id", "keyId", "method", "bytes", "protocol"]) {
      assert.ok(!isSecretFieldName(name), name);
    }
  });

  it("reads levels from flags and environment", () => {
    assert.equal(logLevelFromString(" WARN "), "warn");
    assert.equal(logLevelFromString("silent"), "silent");
    assert.throws(() => logLevelFromString("verbose"), /must be one of trace, debug, info/);
  });
});

describe("codeLabelFromCode", () => {
  it("gives the snake_case name of every Connect code", () => {
    assert.equal(codeLabelFromCode(undefined), "ok");
    assert.equal(codeLabelFromCode(Code.InvalidArgument), "invalid_argument");
    for (const value of Object.values(Code)) {
      if (typeof value !== "number") continue;
      const snake = (Code[value] as string).replace(/[A-Z]/g, (c, i: number) =>
        i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`,
      );
      assert.equal(codeLabelFromCode(value), snake);
    }
  });
});

/** One sample of the text exposition. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

function parseExposition(body: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of body.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)/.exec(line);
    assert.ok(match, `unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] as string] = pair[2] as string;
    }
    samples.push({ name: match[1] as string, labels, value: Number(match[3]) });
  }
  return samples;
}

async function samplesOf(metrics: Metrics): Promise<Sample[]> {
  return parseExposition((await metrics.render()).body);
}

/** The value of the one sample with this name and these labels (a subset), or undefined. */
function sampleValue(samples: Sample[], name: string, labels: Record<string, string>) {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  assert.ok(found.length <= 1, `${name} ${JSON.stringify(labels)} matches ${found.length} series`);
  return found[0]?.value;
}

describe("createMetrics", () => {
  it("renders the Prometheus text format with default process metrics", async () => {
    const metrics = createMetrics();
    const { contentType, body } = await metrics.render();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    const names = new Set(parseExposition(body).map((s) => s.name));
    assert.ok(names.has("process_cpu_seconds_total"));
    assert.ok(names.has("nodejs_heap_size_used_bytes"));
    assert.match(body, /# TYPE modelmora_calls_total counter/);
    assert.match(body, /# TYPE modelmora_call_duration_seconds histogram/);
    assert.match(body, /# TYPE modelmora_active_streams gauge/);
  });

  it("leaves the default metrics out when asked", async () => {
    const samples = await samplesOf(createMetrics({ collectDefault: false }));
    assert.deepEqual(
      samples.filter((s) => !s.name.startsWith("modelmora_")),
      [],
    );
  });

  it("counts calls, errors, bytes and durations by protocol and HTTP version", async () => {
    const metrics = createMetrics({ collectDefault: false });
    for (const protocol of protocols) {
      for (const httpVersion of ["1.1", "2"] as const) {
        const method = protocol === "rest" ? "POST /infer/stream" : streamMethod;
        metrics.callFinished({
          ...summary({ protocol, httpVersion, method, bytesSent: 1000, durationMs: 20 }),
          streaming: true,
        });
        metrics.callFinished({
          ...summary({
            protocol,
            httpVersion,
            method,
            code: "resource_exhausted",
            bytesSent: 0,
            durationMs: 2,
            firstChunkMs: undefined,
          }),
          streaming: true,
        });
      }
    }
    metrics.callFinished({
      ...summary({ code: "made-up", method: "GET /healthz" }),
      streaming: false,
    });
    const samples = await samplesOf(metrics);
    for (const protocol of protocols) {
      for (const http_version of ["1.1", "2"]) {
        const method = protocol === "rest" ? "POST /infer/stream" : streamMethod;
        const labels = { protocol, http_version, method };
        assert.equal(sampleValue(samples, "modelmora_calls_total", { ...labels, code: "ok" }), 1);
        assert.equal(
          sampleValue(samples, "modelmora_calls_total", { ...labels, code: "resource_exhausted" }),
          1,
        );
        assert.equal(
          sampleValue(samples, "modelmora_errors_total", { ...labels, code: "resource_exhausted" }),
          1,
        );
        assert.equal(
          sampleValue(samples, "modelmora_errors_total", { ...labels, code: "ok" }),
          undefined,
          "ok is not an error",
        );
        assert.equal(sampleValue(samples, "modelmora_bytes_sent_total", labels), 1000);
        assert.equal(sampleValue(samples, "modelmora_call_duration_seconds_count", labels), 2);
        assert.equal(sampleValue(samples, "modelmora_call_duration_seconds_sum", labels), 0.022);
        assert.equal(
          sampleValue(samples, "modelmora_call_duration_seconds_bucket", {
            ...labels,
            le: "0.0025",
          }),
          1,
        );
        assert.equal(
          sampleValue(samples, "modelmora_first_chunk_seconds_count", labels),
          1,
          "a call that sent nothing has no first chunk",
        );
        assert.equal(sampleValue(samples, "modelmora_first_chunk_seconds_sum", labels), 0.0045);
      }
    }
    assert.equal(
      sampleValue(samples, "modelmora_calls_total", {
        protocol: "grpc",
        http_version: "2",
        method: "GET /healthz",
        code: "unknown",
      }),
      1,
      "a code outside the Connect set counts as unknown",
    );
    const methods = new Set(
      samples.filter((s) => s.name === "modelmora_calls_total").map((s) => s.labels.method),
    );
    assert.deepEqual([...methods].sort(), ["GET /healthz", "POST /infer/stream", streamMethod]);
    for (const sample of samples) {
      assert.ok(!("key_id" in sample.labels), "key ids are never labels");
    }
  });

  it("moves the active-streams gauge up and down, never below zero", async () => {
    const metrics = createMetrics({ collectDefault: false });
    const grpc = { protocol: "grpc", httpVersion: "2", method: streamMethod } as const;
    const rest = { protocol: "rest", httpVersion: "1.1", method: "POST /infer/stream" } as const;
    const active = async (labels: Record<string, string>) =>
      sampleValue(await samplesOf(metrics), "modelmora_active_streams", labels);

    metrics.callStarted({ ...grpc, streaming: true });
    metrics.callStarted({ ...grpc, streaming: true });
    metrics.callStarted({ ...rest, streaming: true });
    metrics.callStarted({
      ...grpc,
      method: "modelmora.InferenceService/ListModels",
      streaming: false,
    });
    assert.equal(await active({ protocol: "grpc", http_version: "2" }), 2);
    assert.equal(await active({ protocol: "rest", http_version: "1.1" }), 1);

    metrics.callFinished({ ...summary(grpc), streaming: true });
    assert.equal(await active({ protocol: "grpc", http_version: "2" }), 1);
    metrics.callFinished({ ...summary(grpc), code: "canceled", streaming: true });
    metrics.callFinished({ ...summary(rest), streaming: true });
    assert.equal(await active({ protocol: "grpc", http_version: "2" }), 0);
    assert.equal(await active({ protocol: "rest", http_version: "1.1" }), 0);

    // Refused before it started: reported, but the gauge stays at zero.
    metrics.callFinished({ ...summary(grpc), code: "unauthenticated", streaming: true });
    assert.equal(await active({ protocol: "grpc", http_version: "2" }), 0);
  });

  it("keeps two instances independent", async () => {
    const a = createMetrics();
    const b = createMetrics();
    assert.notEqual(a.registry, b.registry);
    a.callFinished({ ...summary(), streaming: false });
    a.callFinished({ ...summary(), streaming: false });
    b.callFinished({ ...summary({ protocol: "connect" }), streaming: false });
    a.callStarted({ protocol: "grpc", httpVersion: "2", method: streamMethod, streaming: true });
    const samplesA = await samplesOf(a);
    const samplesB = await samplesOf(b);
    assert.equal(sampleValue(samplesA, "modelmora_calls_total", { protocol: "grpc" }), 2);
    assert.equal(
      sampleValue(samplesA, "modelmora_calls_total", { protocol: "connect" }),
      undefined,
    );
    assert.equal(sampleValue(samplesB, "modelmora_calls_total", { protocol: "connect" }), 1);
    assert.equal(sampleValue(samplesB, "modelmora_calls_total", { protocol: "grpc" }), undefined);
    assert.equal(sampleValue(samplesA, "modelmora_active_streams", { protocol: "grpc" }), 1);
    assert.equal(
      sampleValue(samplesB, "modelmora_active_streams", { protocol: "grpc" }),
      undefined,
    );
  });

  it("times only the images that were drawn, and counts cache hits", async () => {
    const metrics = createMetrics({ collectDefault: false });
    const image = { model: "scene-1024", renderer: "canvas" };
    metrics.imageGenerated({ ...image, cached: false }, 0.2);
    metrics.imageGenerated({ ...image, cached: false }, 0.3);
    metrics.imageGenerated({ ...image, cached: true }, 0);
    const samples = await samplesOf(metrics);
    assert.equal(sampleValue(samples, "modelmora_images_total", { ...image, cached: "false" }), 2);
    assert.equal(sampleValue(samples, "modelmora_images_total", { ...image, cached: "true" }), 1);
    assert.equal(sampleValue(samples, "modelmora_image_generation_seconds_count", image), 2);
    assert.equal(sampleValue(samples, "modelmora_image_generation_seconds_sum", image), 0.5);
    assert.equal(
      sampleValue(samples, "modelmora_image_generation_seconds_bucket", { ...image, le: "0.25" }),
      1,
    );
  });

  it("bounds the method label", async () => {
    const metrics = createMetrics({ collectDefault: false });
    for (let i = 0; i < maxLabelValues + 10; i++) {
      metrics.callFinished({ ...summary({ method: `GET /path-${i}` }), streaming: false });
    }
    const samples = await samplesOf(metrics);
    const methods = samples
      .filter((s) => s.name === "modelmora_calls_total")
      .map((s) => s.labels.method);
    assert.equal(methods.length, maxLabelValues + 1);
    assert.equal(sampleValue(samples, "modelmora_calls_total", { method: "other" }), 10);
  });

  it("takes odd numbers without throwing", async () => {
    const metrics = createMetrics({ collectDefault: false });
    metrics.callFinished({
      ...summary({ bytesSent: -1, durationMs: Number.NaN, firstChunkMs: -5 }),
      streaming: false,
    });
    const samples = await samplesOf(metrics);
    assert.equal(sampleValue(samples, "modelmora_bytes_sent_total", {}), 0);
    assert.equal(sampleValue(samples, "modelmora_call_duration_seconds_sum", {}), 0);
  });
});

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
    readFileSync(new URL("../deploy/grafana/modelmora-dashboard.json", import.meta.url), "utf8"),
  ) as Dashboard;

  /** Every series name and label name render() exposes once each metric has a sample. */
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
    metrics.callFinished({ ...summary(), streaming: true });
    metrics.callFinished({ ...summary({ code: "internal" }), streaming: false });
    metrics.imageGenerated({ model: "thumb-64", renderer: "canvas", cached: false }, 0.01);
    metrics.imageGenerated({ model: "thumb-64", renderer: "canvas", cached: true }, 0);
    const { body } = await metrics.render();
    const samples = parseExposition(body);
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

  it("has the panels the issue asks for", () => {
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
    ]) {
      assert.ok(
        titles.some((t) => t.includes(wanted)),
        `no panel about ${wanted}`,
      );
    }
  });

  it("queries only series and labels that render() exposes", async () => {
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
