/**
 * Unit tests of what the report concludes (`npm run bench:test`): the
 * recommendation, the proof of concept's decision rule, its expectations
 * and the targets, on hand-made results whose answers are known.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  type MessageSizes,
  type RowResult,
  type Step,
  spreadOf,
  withRatios,
} from "../results/index.js";
import { applyRule, bandOf, decisionOf } from "./decision-rule.js";
import { expectationsOf } from "./expectations.js";
import { checkTargets } from "./performance-targets.js";
import { recommendationOf } from "./recommendation.js";

interface RowOptions {
  scenario?: RowResult["scenario"];
  step?: Step;
  client?: string;
  protocol?: string;
  httpVersion?: "1.1" | "2";
  diagnostic?: boolean;
  label?: string;
  serverCpuPerMB?: number[];
  p50?: number;
}

/** A result whose headline was measured in the given rounds. */
function result(id: string, rounds: number[], options: RowOptions = {}): RowResult {
  const spread = spreadOf(rounds);
  const baseline = id.startsWith("bare") || id.startsWith("grpc-js");
  const p50 = options.p50 ?? 1;
  const latency = { count: 3, mean: p50, min: p50, max: p50, p50, p90: p50, p99: p50, sd: 0 };
  const scenario = options.scenario ?? "single";
  return {
    scenario,
    step: options.step,
    mode: "transport",
    row: id,
    label: options.label ?? id,
    kind: baseline ? "baseline" : "protocol",
    client: options.client ?? "node",
    protocol: baseline ? undefined : (options.protocol ?? id.replace(/-(h1|h2|wire.*)$/, "")),
    library: options.diagnostic ? "wire" : "test",
    diagnostic: options.diagnostic,
    httpVersion: options.httpVersion ?? (id.endsWith("-h1") ? "1.1" : "2"),
    description: "",
    status: "ok",
    workload: { model: "noise-1000", batch: 10, clients: 1, connections: "per-client" },
    iterations: rounds.length,
    verification: { requests: 0, images: 0, bytes: 0 },
    spread,
    headline: spread?.median,
    headlineUnit: scenario === "unary" ? "calls/s" : "MB/s",
    single:
      scenario === "unary"
        ? undefined
        : {
            totalMs: p50,
            payloadBytes: 30e6,
            throughputMBps: spread?.median ?? 0,
            avgChunkLatencyMs: 1,
            chunks: 40,
            chunksNominal: false,
            firstChunk: latency,
            latency,
          },
    unary: scenario === "unary" ? { callsPerSecond: spread?.median ?? 0, latency } : undefined,
    cpuPerMB:
      options.serverCpuPerMB === undefined
        ? undefined
        : { server: spreadOf(options.serverCpuPerMB) },
  };
}

/** A Node run where REST h1.1 and Connect h2 tie, gRPC trails for client cost and JSON is slow. */
function nodeRun(): RowResult[] {
  return withRatios([
    result("grpc", [300, 310, 290], { serverCpuPerMB: [3, 3.1, 2.9] }),
    result("connect-h2", [820, 800, 840], { serverCpuPerMB: [3, 3, 3] }),
    result("connect-json-h2", [100, 95, 105], { serverCpuPerMB: [18, 18.5, 17.5] }),
    result("rest-h1", [850, 830, 860]),
    result("grpc-wire", [760, 740, 780], { diagnostic: true, label: "gRPC h2 wire" }),
    result("bare-h2", [900, 880, 910]),
    result("bare-h1", [890, 870, 900]),
  ]);
}

describe("recommendation", () => {
  it("names the tied leaders, the trailing rows' ratios and why they trail", () => {
    const rec = recommendationOf(nodeRun());
    const large = rec.lines.find((line) => line.traffic === "large" && line.client === "node");
    assert.ok(large !== undefined);
    assert.deepEqual([...large.pick].sort(), ["connect-h2", "rest-h1"]);
    assert.match(
      large.text,
      /rest-h1 \(850 MB\/s\) and connect-h2 \(820 MB\/s\) are the fastest, within noise of each other/,
    );
    // gRPC trails because of its client: the wire client shows the protocol does better.
    assert.match(
      large.text,
      /grpc is at 0\.35× of rest-h1 \(range [0-9.]+–[0-9.]+×; client cost: the minimal gRPC client reaches 0\.89×\)/,
    );
    assert.match(
      large.text,
      /connect-json-h2 is at 0\.12× of rest-h1 .*6\.00× the server CPU per MB of Connect binary; never use it for images/,
    );
    assert.match(large.text, /median of 3 rounds/);
    // The diagnostic wire row is never picked.
    assert.ok(!large.pick.includes("gRPC h2 wire"));
    assert.match(
      rec.summary[0] ?? "",
      /^Node clients: large streamed payloads → connect-h2 and rest-h1|^Node clients: large streamed payloads → rest-h1 and connect-h2/,
    );
  });

  it("says which client stacks were not measured", () => {
    const rec = recommendationOf(nodeRun());
    assert.match(rec.notMeasured ?? "", /Not measured in this run: Python clients and browsers/);
  });

  it("gives rows from another client stack their own line", () => {
    const run = [
      ...nodeRun(),
      result("python-grpc", [200, 210, 190], { client: "python", protocol: "grpc" }),
      result("python-rest-h1", [400, 410, 390], {
        client: "python",
        protocol: "rest",
        httpVersion: "1.1",
      }),
    ];
    const rec = recommendationOf(run);
    const python = rec.lines.find((line) => line.client === "python" && line.traffic === "large");
    assert.deepEqual(python?.pick, ["python-rest-h1"]);
    assert.match(python?.text ?? "", /Python clients/);
    assert.match(rec.notMeasured ?? "", /^Not measured in this run: browsers \(no rows for them\)/);
    assert.equal(rec.summary.length, 2);
  });

  it("speaks for the SDK rows apart, with their distance from the ceiling", () => {
    const sdk = (id: string, protocol: string, rounds: number[]) =>
      result(id, rounds, { client: "node-sdk", protocol, label: `${protocol} SDK` });
    const run = withRatios([
      ...nodeRun(),
      sdk("grpc-sdk", "grpc", [720, 700, 730]),
      sdk("connect-sdk-h2", "connect", [500, 490, 510]),
    ]);
    const rec = recommendationOf(run);
    const line = rec.lines.find((l) => l.client === "node-sdk" && l.traffic === "large");
    assert.deepEqual(line?.pick, ["grpc SDK"]);
    assert.match(line?.text ?? "", /through this project's SDK \(client\.streamImages\)/);
    assert.match(
      line?.text ?? "",
      /grpc SDK \(720 MB\/s\) is the fastest, at 0\.80× of the bare Node HTTP\/2 ceiling/,
    );
    assert.match(line?.text ?? "", /connect SDK is at 0\.69× of grpc SDK/);
    // The Node line is unchanged: the SDK rows have their own.
    const node = rec.lines.find((l) => l.client === "node" && l.traffic === "large");
    assert.deepEqual([...(node?.pick ?? [])].sort(), ["connect-h2", "rest-h1"]);
  });

  it("ties rows whose wide ranges overlap, and says the machine was busy", () => {
    const run = [result("rest-h1", [300, 120, 320]), result("grpc", [130, 60, 140])];
    const large = recommendationOf(run).lines.find((line) => line.traffic === "large");
    assert.deepEqual([...(large?.pick ?? [])].sort(), ["grpc", "rest-h1"]);
    assert.match(large?.text ?? "", /some ranges are wide .* the machine was busy/);
    assert.match(
      large?.text ?? "",
      /grpc \(130 MB\/s; its median is 0\.43× the fastest's, tied only by wide ranges\)/,
    );
  });

  it("flags a leader above the bare ceiling instead of printing a plain ratio", () => {
    const run = withRatios([
      result("rest-h1", [1200, 1190, 1210]),
      result("bare-h1", [800, 790, 810]),
    ]);
    const large = recommendationOf(run).lines.find((line) => line.traffic === "large");
    assert.match(large?.text ?? "", /above the bare Node HTTP\/1\.1 ceiling, which cannot be/);
  });
});

describe("decision rule", () => {
  it("has the proof of concept's thresholds", () => {
    assert.equal(bandOf(2.01), "grpc-primary");
    assert.equal(bandOf(2), "both");
    assert.equal(bandOf(1.5), "both");
    assert.equal(bandOf(1.49), "similar");
    assert.equal(bandOf(1), "similar");
    assert.equal(bandOf(0.67), "similar");
    assert.equal(bandOf(0.66), "rest-faster");
  });

  it("applies to gRPC against REST over HTTP/1.1 and says so in plain words", () => {
    const decision = decisionOf(nodeRun());
    const primary = decision.primary[0];
    assert.equal(primary?.client, "node");
    assert.equal(primary?.restRow, "rest-h1");
    assert.equal(primary?.band, "rest-faster");
    assert.match(primary?.outcome ?? "", /REST is 2\.83× as fast as gRPC/);
    assert.match(primary?.outcome ?? "", /outside the range the rule was written for/);
    assert.match(primary?.outcome ?? "", /gRPC has no performance case/);
    assert.equal(decision.bands.length, 4);
  });

  it("leaves out a client stack that has no REST to compare with (the SDK)", () => {
    const run = [
      ...nodeRun(),
      result("grpc-sdk", [720, 700, 730], { client: "node-sdk", protocol: "grpc" }),
    ];
    const decision = decisionOf(run);
    assert.deepEqual(
      [...new Set([...decision.primary, ...decision.supporting].map((item) => item.client))],
      ["node"],
    );
  });

  it("leaves out the HTTP/2 comparison for a stack with REST over HTTP/1.1 only (Python's httpx)", () => {
    const decision = decisionOf([
      result("python-grpc", [600, 610, 590], { client: "python", protocol: "grpc" }),
      result("python-rest-h1", [500, 510, 490], {
        client: "python",
        protocol: "rest",
        httpVersion: "1.1",
      }),
    ]);
    assert.equal(decision.primary[0]?.restRow, "python-rest-h1");
    assert.ok(!decision.supporting.some((item) => /over HTTP\/2/.test(item.comparison)));
  });

  it("treats figures within noise as similar", () => {
    const item = applyRule(
      [result("grpc", [500, 480, 520]), result("rest-h1", [510, 490, 530])],
      "node",
      "single",
      "transport",
      "1.1",
      "test",
    );
    assert.equal(item?.band, "similar");
    assert.match(item?.outcome ?? "", /within noise/);
  });

  it("says when the ratio's range reaches another band", () => {
    const item = applyRule(
      [result("grpc", [300, 200, 420]), result("rest-h1", [180, 170, 190])],
      "node",
      "single",
      "transport",
      "1.1",
      "test",
    );
    assert.equal(item?.band, "both");
    assert.ok((item?.otherBands ?? []).length > 0);
    assert.match(item?.outcome ?? "", /not decisive/);
  });

  it("judges a stack without plain gRPC (browsers) with gRPC-Web", () => {
    const item = applyRule(
      [
        result("browser-grpc-web-h2", [100, 105, 95], {
          client: "browser",
          protocol: "grpc-web",
          label: "gRPC-Web h2 Chromium",
        }),
        result("browser-rest-h1", [300, 310, 290], {
          client: "browser",
          protocol: "rest",
          httpVersion: "1.1",
        }),
      ],
      "browser",
      "single",
      "transport",
      "1.1",
      "test",
    );
    assert.equal(item?.grpcRow, "browser-grpc-web-h2");
    assert.equal(item?.band, "rest-faster");
    assert.match(
      item?.outcome ?? "",
      /gRPC-Web h2 Chromium stands in for gRPC: browsers have no plain gRPC/,
    );
  });

  it("does not apply without a REST figure, and says why", () => {
    const item = applyRule(
      [result("grpc", [300, 310, 290])],
      "node",
      "single",
      "transport",
      "1.1",
      "test",
    );
    assert.equal(item?.band, undefined);
    assert.match(item?.outcome ?? "", /^not applied: no REST figure/);
  });
});

describe("expectations", () => {
  const sizes: MessageSizes = {
    listModels: { protobufBytes: 1000, jsonBytes: 1650, restBytes: 1600 },
    chunk: {
      model: "noise-1000",
      dataBytes: 1_000_000,
      protobufBytes: 1_000_320,
      jsonBytes: 1_333_700,
      metadataProtobufBytes: 320,
      metadataJsonBytes: 360,
    },
  };

  it("tests the protobuf size claim against the measured messages", () => {
    const size = expectationsOf([], sizes).find((e) => e.claim.startsWith("Protobuf"));
    assert.equal(size?.mark, "✗");
    assert.match(size?.measured ?? "", /1,000 B protobuf, 1,650 B JSON \(1\.65×\)/);
    assert.match(size?.verdict ?? "", /at most 1\.65× smaller/);
  });

  it("marks claims without figures as not measured", () => {
    const all = expectationsOf([], undefined);
    assert.equal(all.length, 7);
    assert.ok(all.every((e) => e.mark === "–"));
  });

  it("finds where gRPC stops trailing REST in the payload sweep", () => {
    const step = (model: string): Step => ({ kind: "payload", model });
    const sweep = [
      ["noise-1k", [2, 2.1, 1.9], [5, 5.2, 4.8]],
      ["noise-100k", [100, 104, 96], [200, 210, 190]],
      ["noise-1m", [500, 520, 480], [510, 530, 490]],
      ["noise-10m", [800, 820, 790], [700, 710, 690]],
    ] as const;
    const results = sweep.flatMap(([model, grpc, rest]) => [
      result("grpc", [...grpc], { scenario: "payload", step: step(model) }),
      result("rest-h1", [...rest], { scenario: "payload", step: step(model) }),
    ]);
    const large = expectationsOf(results, undefined).find((e) => e.claim.includes("> 1 MB"));
    assert.equal(large?.mark, "≈");
    assert.match(large?.verdict ?? "", /gRPC stops being behind REST from about 1 MB/);
    assert.match(large?.measured ?? "", /1 KB 0\.40×, 100 KB 0\.50×, 1 MB ≈0\.98×, 10 MB 1\.14×/);
  });

  it("compares one shared connection with one connection per stream", () => {
    const step = (streams: number, connections: "shared" | "per-client"): Step => ({
      kind: "concurrency",
      streams,
      connections,
    });
    const results = [10, 100].flatMap((streams) => [
      result("grpc", [400, 410, 390], { scenario: "concurrency", step: step(streams, "shared") }),
      result("grpc", [300, 310, 290], {
        scenario: "concurrency",
        step: step(streams, "per-client"),
      }),
    ]);
    const mux = expectationsOf(results, undefined).find((e) => e.claim.startsWith("HTTP/2"));
    assert.equal(mux?.mark, "✔");
    assert.match(mux?.measured ?? "", /100 streams, one connection \/ one each: grpc 1\.33×/);
  });
});

describe("targets", () => {
  it("says what a miss means, and calls a range across the threshold within noise", () => {
    const checks = checkTargets(
      withRatios([
        result("grpc", [300, 310, 290]),
        result("connect-h2", [640, 600, 690]),
        result("bare-h2", [900, 880, 910]),
      ]),
    );
    const grpc = checks.find((c) => c.row === "grpc" && c.target.includes("bare Node HTTP/2"));
    assert.equal(grpc?.outcome, "missed");
    assert.match(grpc?.meaning ?? "", /under 70% of what the machine can carry/);
    assert.ok((grpc?.why ?? "").length > 0);
    const connect = checks.find(
      (c) => c.row === "connect-h2" && c.target.includes("bare Node HTTP/2"),
    );
    assert.equal(connect?.outcome, "within noise");
    assert.match(connect?.meaning ?? "", /rerun on an idle machine/);
  });

  it("checks the SDK rows against bare Node HTTP/2, one stream and 10 clients", () => {
    const load = { scenario: "load" as const };
    const checks = checkTargets(
      withRatios([
        result("grpc-sdk", [720, 700, 730], { client: "node-sdk", protocol: "grpc" }),
        result("connect-sdk-h2", [500, 490, 510], { client: "node-sdk", protocol: "connect" }),
        result("bare-h2", [900, 880, 910]),
        result("grpc-sdk", [650, 640, 660], { ...load, client: "node-sdk", protocol: "grpc" }),
        result("bare-h2", [1000, 990, 1010], load),
      ]),
    );
    const sdk = checks.filter((c) => c.target.startsWith("through the SDK"));
    const outcome = (row: string, scenario: string) =>
      sdk.find((c) => c.row === row && c.comparison.includes(scenario))?.outcome;
    assert.equal(outcome("grpc-sdk", "single"), "met");
    assert.equal(outcome("connect-sdk-h2", "single"), "missed");
    assert.equal(outcome("grpc-sdk", "load"), "missed");
    // A row the run did not have, where the run has the ceiling.
    assert.equal(outcome("grpc-web-sdk-h2", "single"), "not measured");
    assert.match(sdk[0]?.why ?? "", /streamImages/);
    assert.match(
      sdk.find((c) => c.outcome === "missed")?.meaning ?? "",
      /user of client\.streamImages/,
    );
  });
});
