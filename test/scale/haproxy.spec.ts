/**
 * deploy/haproxy/haproxy.cfg as it ships, in front of two instances (the
 * CLI as subprocesses), all on free ports (skipped with one line where
 * haproxy is missing, unless MODELMORA_REQUIRE_HAPROXY=1). It shows:
 *
 * - the streams of one HTTP/2 client connection spread over both instances
 *   (each instance's own /metrics counts its share);
 * - every protocol, over HTTP/2 and HTTP/1.1, passes through it;
 * - SIGTERM to an instance drains it: its health turns NOT_SERVING, new
 *   calls go to the other, calls in flight finish;
 * - killing an instance mid-stream ends the client's stream with an error
 *   at once (never a hang, never a clean end), and the next calls succeed
 *   on the other instance.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { createClient } from "@connectrpc/connect";
import { createInferenceClient } from "../../src/client/index.js";
import {
  Health,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../src/gen/grpc/health/v1/health_pb.js";
import {
  assertCode,
  type CliServer,
  callHealthCheck,
  callListModels,
  callStream,
  clientFor,
  collect,
  type HaproxyProcess,
  haproxySkipReason,
  holdStream,
  type ProtocolCase,
  parseSamples,
  protocolCases,
  rawRequest,
  smallRequest,
  startCli,
  startHaproxy,
  sumOf,
  waitFor,
  waitForExit,
} from "../support/index.js";

const skip = await haproxySkipReason();
/** The method labels of image streams: RPCs and REST. */
const streamMethods = ["modelmora.InferenceService/StreamInference", "POST /infer/stream"];
/** Every protocol, and REST over HTTP/2 as well. */
const throughCases: readonly ProtocolCase[] = [
  ...protocolCases,
  { name: "rest over HTTP/2", protocol: "rest", httpVersion: "2" },
];
/** Large enough to stay in flight while a test acts (a 64 KiB client window holds it). */
const heldRequest = { modelId: "noise-1000", prompt: "through the balancer", batchSize: 2 };

/** The sum of a metric over the image stream methods, from an instance's own /metrics. */
async function streamMetric(instance: CliServer, name: string): Promise<number> {
  const response = await rawRequest(instance, { method: "GET", path: "/metrics" });
  assert.equal(response.status, 200);
  const samples = parseSamples(response.body.toString("utf8"));
  return streamMethods.reduce((sum, method) => sum + sumOf(samples, name, { method }), 0);
}

/** Image streams (any protocol) an instance finished. */
const streamCalls = (instance: CliServer) => streamMetric(instance, "modelmora_calls_total");
/** Image streams an instance serves now. */
const activeStreams = (instance: CliServer) => streamMetric(instance, "modelmora_active_streams");

const hostOf = (instance: CliServer) => new URL(instance.url).host;

describe("HAProxy in front of two instances", { skip }, () => {
  let a: CliServer;
  let b: CliServer;
  let lb: HaproxyProcess;
  const flags = ["--grace-ms", "20000"];

  before(async () => {
    [a, b] = await Promise.all([startCli(flags), startCli(flags)]);
    lb = await startHaproxy([hostOf(a), hostOf(b)]);
  });
  after(async () => {
    await lb?.stop();
    await a?.stop("SIGKILL");
    await b?.stop("SIGKILL");
  });

  it("spreads 10 gRPC streams of one client connection over both instances", async () => {
    const before = await Promise.all([streamCalls(a), streamCalls(b)]);
    // One client, one HTTP/2 connection, ten streams at once.
    const inference = createInferenceClient({ baseUrl: lb.url, protocol: "grpc" });
    try {
      const streams = Array.from({ length: 10 }, (_, i) =>
        collect(
          inference.client.streamInference({
            modelId: "noise-1000",
            prompt: `spread ${i}`,
            batchSize: 1,
          }),
        ),
      );
      for (const chunks of await Promise.all(streams)) {
        assert.ok(chunks.length > 0);
      }
    } finally {
      inference.close();
    }
    const after = await Promise.all([streamCalls(a), streamCalls(b)]);
    const served = [after[0] - before[0], after[1] - before[1]];
    assert.equal(served[0] + served[1], 10, `served by each: ${served}`);
    assert.ok(served[0] > 0 && served[1] > 0, `both instances served some: ${served}`);
  });

  for (const protocolCase of throughCases) {
    it(`passes ${protocolCase.name} through`, async () => {
      assertCode(await callStream(lb, protocolCase, smallRequest), undefined, "StreamInference");
      assertCode(await callListModels(lb, protocolCase), undefined, "ListModels");
      const health = await callHealthCheck(lb, protocolCase);
      assertCode(health, undefined, "health");
      assert.equal(health.status, "SERVING");
    });
  }

  it("drains an instance on SIGTERM: NOT_SERVING, new calls to the other, calls in flight finish", async () => {
    // A watch on A itself (not through the balancer) sees its health change.
    const direct = clientFor(a, { protocol: "grpc", httpVersion: "2" });
    const statuses: ServingStatus[] = [];
    const watched = (async () => {
      for await (const response of createClient(Health, direct.transport).watch({})) {
        statuses.push(response.status);
      }
    })().finally(() => direct.close());
    await waitFor(() => statuses.length > 0, "the first health status");
    assert.equal(statuses[0], ServingStatus.SERVING);

    // Two streams in flight through the balancer: one on each instance.
    const held = [await holdStream(lb, { request: heldRequest })];
    held.push(await holdStream(lb, { request: heldRequest }));
    await waitFor(async () => (await activeStreams(a)) === 1, "a held stream on A");
    const bBefore = await streamCalls(b);

    a.child.kill("SIGTERM");
    await watched;
    assert.deepEqual(statuses, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    for (let i = 0; i < 6; i++) {
      const protocolCase = throughCases[i % throughCases.length] as ProtocolCase;
      assertCode(await callStream(lb, protocolCase, smallRequest), undefined, protocolCase.name);
    }
    assert.equal((await streamCalls(b)) - bBefore, 6, "B took every new call");
    await waitFor(async () => (await lb.serverStatus())["modelmora-1"] === "DOWN", "A DOWN");
    for (const stream of held) {
      const outcome = await stream.ended;
      assertCode(outcome, undefined, "a stream in flight");
      assert.equal(new Set(outcome.chunks.map((c) => c.metadata.image_index)).size, 2);
    }
    assert.equal((await waitForExit(a)).code, 0, a.stderr());

    // A comes back on its port, for the next test.
    a = await startCli([...flags, "--port", new URL(a.url).port]);
    await waitFor(async () => (await lb.serverStatus())["modelmora-1"] === "UP", "A UP again");
  });

  it("ends a stream with an error, at once, when its instance is killed; the next calls succeed", async () => {
    const held = [await holdStream(lb, { request: heldRequest })];
    held.push(await holdStream(lb, { request: heldRequest }));
    await waitFor(async () => (await activeStreams(b)) === 1, "a held stream on B");

    await b.stop("SIGKILL");
    const outcomes = await Promise.all(held.map((stream) => stream.ended));
    const failed = outcomes.filter((outcome) => outcome.code !== undefined);
    assert.equal(failed.length, 1, "the stream on B failed; the one on A finished");
    // HAProxy 2.6 closes the client's stream with END_STREAM and no
    // trailers when its instance dies (see deploy/README.md), so a Connect
    // gRPC client reports the cut message or the missing status.
    assert.match(failed[0]?.message ?? "", /protocol error|trailer|status|aborted/);
    for (let i = 0; i < 4; i++) {
      const protocolCase = throughCases[i % throughCases.length] as ProtocolCase;
      assertCode(await callStream(lb, protocolCase, smallRequest), undefined, protocolCase.name);
    }
    await waitFor(async () => (await lb.serverStatus())["modelmora-2"] === "DOWN", "B DOWN");
  });
});
