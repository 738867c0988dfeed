/**
 * Prometheus metrics: createMetrics without a server (series, labels, the
 * active-streams gauge, independent registries), then GET /metrics after
 * calls over every protocol and both HTTP versions: calls, errors by code,
 * bytes sent, durations, time to first chunk, active streams and image
 * generation time, each labelled by protocol and HTTP version.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { createMetrics, maxLabelValues } from "../../src/observability/index.js";
import {
  assertCode,
  assertRefused,
  callListModels,
  callStream,
  callSummary,
  everyProtocolCase,
  holdRestStream,
  holdStream,
  httpRequest,
  listModelsMethodOf,
  parseSamples,
  protocolCases,
  protocolNames,
  type Sample,
  samplesOf,
  sampleValue,
  smallRequest,
  startServer,
  streamMethodOf,
  sumOf,
  type TestServer,
  waitFor,
  waitForNoCalls,
} from "../support/index.js";

const streamMethod = streamMethodOf("grpc");

describe("createMetrics", () => {
  it("renders the Prometheus text format with default process metrics", async () => {
    const metrics = createMetrics();
    const { contentType, body } = await metrics.render();
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
    const names = new Set(parseSamples(body).map((s) => s.name));
    assert.ok(names.has("process_cpu_seconds_total"));
    assert.ok(names.has("nodejs_heap_size_used_bytes"));
    assert.match(body, /# TYPE modelmora_calls_total counter/);
    assert.match(body, /# TYPE modelmora_call_duration_seconds histogram/);
    assert.match(body, /# TYPE modelmora_active_streams gauge/);
  });

  it("leaves the default metrics out when asked", async () => {
    const samples = await samplesOf({ metrics: createMetrics({ collectDefault: false }) });
    assert.deepEqual(
      samples.filter((s) => !s.name.startsWith("modelmora_")),
      [],
    );
  });

  it("counts calls, errors, bytes and durations by protocol and HTTP version", async () => {
    const metrics = createMetrics({ collectDefault: false });
    for (const protocol of protocolNames) {
      for (const httpVersion of ["1.1", "2"] as const) {
        const method = protocol === "rest" ? "POST /infer/stream" : streamMethod;
        metrics.callFinished({
          ...callSummary({ protocol, httpVersion, method, bytesSent: 1000, durationMs: 20 }),
          streaming: true,
        });
        metrics.callFinished({
          ...callSummary({
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
      ...callSummary({ code: "made-up", method: "GET /healthz" }),
      streaming: false,
    });
    const samples = await samplesOf({ metrics });
    for (const protocol of protocolNames) {
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
      sampleValue(await samplesOf({ metrics }), "modelmora_active_streams", labels);

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

    metrics.callFinished({ ...callSummary(grpc), streaming: true });
    assert.equal(await active({ protocol: "grpc", http_version: "2" }), 1);
    metrics.callFinished({ ...callSummary(grpc), code: "canceled", streaming: true });
    metrics.callFinished({ ...callSummary(rest), streaming: true });
    assert.equal(await active({ protocol: "grpc", http_version: "2" }), 0);
    assert.equal(await active({ protocol: "rest", http_version: "1.1" }), 0);

    // Refused before it started: reported, but the gauge stays at zero.
    metrics.callFinished({ ...callSummary(grpc), code: "unauthenticated", streaming: true });
    assert.equal(await active({ protocol: "grpc", http_version: "2" }), 0);
  });

  it("keeps two instances independent", async () => {
    const a = createMetrics();
    const b = createMetrics();
    assert.notEqual(a.registry, b.registry);
    a.callFinished({ ...callSummary(), streaming: false });
    a.callFinished({ ...callSummary(), streaming: false });
    b.callFinished({ ...callSummary({ protocol: "connect" }), streaming: false });
    a.callStarted({ protocol: "grpc", httpVersion: "2", method: streamMethod, streaming: true });
    const samplesA = await samplesOf({ metrics: a });
    const samplesB = await samplesOf({ metrics: b });
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
    const samples = await samplesOf({ metrics });
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
      metrics.callFinished({ ...callSummary({ method: `GET /path-${i}` }), streaming: false });
    }
    const samples = await samplesOf({ metrics });
    const methods = samples
      .filter((s) => s.name === "modelmora_calls_total")
      .map((s) => s.labels.method);
    assert.equal(methods.length, maxLabelValues + 1);
    assert.equal(sampleValue(samples, "modelmora_calls_total", { method: "other" }), 10);
  });

  it("takes odd numbers without throwing", async () => {
    const metrics = createMetrics({ collectDefault: false });
    metrics.callFinished({
      ...callSummary({ bytesSent: -1, durationMs: Number.NaN, firstChunkMs: -5 }),
      streaming: false,
    });
    const samples = await samplesOf({ metrics });
    assert.equal(sampleValue(samples, "modelmora_bytes_sent_total", {}), 0);
    assert.equal(sampleValue(samples, "modelmora_call_duration_seconds_sum", {}), 0);
  });
});

describe("GET /metrics after calls over every protocol", () => {
  let srv: TestServer;
  let samples: Sample[];
  let contentType: string;

  async function scrape(): Promise<Sample[]> {
    const response = await httpRequest(srv, { method: "GET", path: "/metrics" });
    assert.equal(response.status, 200);
    contentType = String(response.headers["content-type"]);
    return parseSamples(response.body.toString("utf8"));
  }

  before(async () => {
    srv = await startServer();
    for (const transport of everyProtocolCase) {
      assertCode(await callStream(srv, transport, smallRequest), undefined, transport.name);
      assertCode(await callListModels(srv, transport), undefined, transport.name);
      assertRefused(
        await callStream(srv, transport, { ...smallRequest, batchSize: 0 }),
        transport,
        Code.InvalidArgument,
      );
    }
    // Each call is counted when its response closes on the server.
    await waitForNoCalls(srv.server);
    samples = await scrape();
  });
  after(async () => {
    await srv.close();
  });

  it("is the Prometheus text format", () => {
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  });

  for (const transport of everyProtocolCase) {
    const labels = {
      protocol: transport.protocol,
      http_version: transport.httpVersion,
      method: streamMethodOf(transport.protocol),
    };
    it(`${transport.name}: calls, errors by code, bytes, durations, first chunk`, () => {
      assert.equal(sumOf(samples, "modelmora_calls_total", { ...labels, code: "ok" }), 1);
      assert.equal(
        sumOf(samples, "modelmora_calls_total", { ...labels, code: "invalid_argument" }),
        1,
      );
      assert.equal(
        sumOf(samples, "modelmora_errors_total", { ...labels, code: "invalid_argument" }),
        1,
      );
      assert.equal(sumOf(samples, "modelmora_errors_total", { ...labels, code: "ok" }), 0);
      assert.ok(sumOf(samples, "modelmora_bytes_sent_total", labels) > 2000, "bytes sent");
      assert.equal(sumOf(samples, "modelmora_call_duration_seconds_count", labels), 2);
      assert.ok(sumOf(samples, "modelmora_call_duration_seconds_sum", labels) > 0);
      // Only the call that sent something has a first chunk.
      assert.ok(sumOf(samples, "modelmora_first_chunk_seconds_count", labels) >= 1);
      assert.equal(
        sumOf(samples, "modelmora_first_chunk_seconds_bucket", { ...labels, le: "+Inf" }),
        sumOf(samples, "modelmora_first_chunk_seconds_count", labels),
      );
      const listModels = listModelsMethodOf(transport.protocol);
      assert.equal(
        sumOf(samples, "modelmora_calls_total", { ...labels, method: listModels, code: "ok" }),
        1,
      );
    });
  }

  it("has every protocol label and both HTTP versions", () => {
    const calls = samples.filter((sample) => sample.name === "modelmora_calls_total");
    assert.deepEqual(
      [...new Set(calls.map((sample) => sample.labels.protocol))].sort(),
      [...protocolNames].sort(),
    );
    assert.deepEqual([...new Set(calls.map((sample) => sample.labels.http_version))].sort(), [
      "1.1",
      "2",
    ]);
  });

  it("times image generation by model and renderer", () => {
    const drawn = samples.filter(
      (sample) =>
        sample.name === "modelmora_image_generation_seconds_count" &&
        sample.labels.model === "thumb-64",
    );
    assert.ok(drawn.length > 0 && (drawn[0] as Sample).value >= 1, "no thumb-64 render timed");
    assert.match(String(drawn[0]?.labels.renderer), /canvas/);
    assert.ok(sumOf(samples, "modelmora_images_total", { model: "thumb-64", cached: "true" }) > 0);
  });

  for (const transport of protocolCases) {
    it(`${transport.name}: active_streams goes up while a stream is held, and back down`, async () => {
      const labels = {
        protocol: transport.protocol,
        http_version: transport.httpVersion,
        method: streamMethodOf(transport.protocol),
      };
      const active = async () => sumOf(await scrape(), "modelmora_active_streams", labels);
      assert.equal(await active(), 0);
      let cancel: () => unknown;
      if (transport.protocol === "rest") {
        const held = await holdRestStream(srv);
        assert.equal(held.response.statusCode, 200);
        cancel = held.cancel;
      } else {
        const held = await holdStream(srv, { protocolCase: transport });
        cancel = held.cancel;
      }
      await waitFor(async () => (await active()) === 1, "active_streams to be 1");
      await cancel();
      await waitFor(async () => (await active()) === 0, "active_streams to be 0 again");
      assert.ok(
        sumOf(await scrape(), "modelmora_calls_total", { ...labels, code: "canceled" }) >= 1,
        "the cancelled stream is counted as canceled",
      );
    });
  }
});
