/**
 * Issue 5, item 6: GET /metrics in the Prometheus text format, after calls
 * over every protocol and both HTTP versions: calls, errors by code, bytes
 * sent, durations, time to first chunk, active streams and image generation
 * time, each labelled by protocol and HTTP version.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { clientCases } from "./clients.js";
import { startServer, type TestServer, waitFor } from "./helpers.js";
import {
  assertCode,
  assertRefused,
  callListModels,
  callStream,
  holdRestStream,
  holdStream,
  type ProtocolCase,
  parseSamples,
  protocolCases,
  restRequest,
  type Sample,
  smallRequest,
  sumOf,
} from "./production-support.js";

/** Every protocol over every HTTP version it runs on. */
const everyTransport: readonly ProtocolCase[] = [
  ...clientCases,
  { name: "rest over HTTP/1.1", protocol: "rest", httpVersion: "1.1" },
  { name: "rest over HTTP/2", protocol: "rest", httpVersion: "2" },
];

function streamMethodOf(protocol: string): string {
  return protocol === "rest" ? "POST /infer/stream" : "modelmora.InferenceService/StreamInference";
}

describe("GET /metrics after calls over every protocol", () => {
  let srv: TestServer;
  let samples: Sample[];
  let contentType: string;

  async function scrape(): Promise<Sample[]> {
    const response = await restRequest(srv, "GET", "/metrics");
    assert.equal(response.status, 200);
    contentType = String(response.headers["content-type"]);
    return parseSamples(response.body.toString("utf8"));
  }

  before(async () => {
    srv = await startServer();
    for (const transport of everyTransport) {
      assertCode(await callStream(srv, transport, smallRequest), undefined, transport.name);
      assertCode(await callListModels(srv, transport), undefined, transport.name);
      assertRefused(
        await callStream(srv, transport, { ...smallRequest, batchSize: 0 }),
        transport,
        Code.InvalidArgument,
      );
    }
    // Each call is counted when its response closes on the server.
    await waitFor(() => srv.server.activeCallCount === 0, "every call to finish");
    samples = await scrape();
  });
  after(async () => {
    await srv.close();
  });

  it("is the Prometheus text format", () => {
    assert.match(contentType, /^text\/plain; version=0\.0\.4/);
  });

  for (const transport of everyTransport) {
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
      const listModels =
        transport.protocol === "rest" ? "GET /v1/models" : "modelmora.InferenceService/ListModels";
      assert.equal(
        sumOf(samples, "modelmora_calls_total", { ...labels, method: listModels, code: "ok" }),
        1,
      );
    });
  }

  it("has every protocol label and both HTTP versions", () => {
    const calls = samples.filter((sample) => sample.name === "modelmora_calls_total");
    assert.deepEqual([...new Set(calls.map((sample) => sample.labels.protocol))].sort(), [
      "connect",
      "connect-json",
      "grpc",
      "grpc-web",
      "rest",
    ]);
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
        const held = await holdStream(srv, undefined, undefined, transport);
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
