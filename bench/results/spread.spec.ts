/**
 * Unit tests of the noise rules (`npm run bench:test`): medians and ranges
 * over rounds, "within noise" when ranges overlap, ratios with their range,
 * and the "suspect" flag for a row that beats its own bare ceiling.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { withRatios } from "./analysis.js";
import {
  compare,
  isSuspect,
  median,
  overlaps,
  ratioOf,
  ratioText,
  singleRoundTolerance,
  spreadOf,
  spreadText,
} from "./spread.js";
import type { RowResult } from "./types.js";

describe("spreadOf", () => {
  it("is the median of the rounds with their min and max", () => {
    assert.deepEqual(spreadOf([700, 650, 720]), { median: 700, low: 650, high: 720, rounds: 3 });
    assert.deepEqual(spreadOf([1, 4, 2, 3]), { median: 2.5, low: 1, high: 4, rounds: 4 });
  });

  it("leaves out rounds without a figure", () => {
    assert.deepEqual(spreadOf([Number.NaN, 5, 7]), { median: 6, low: 5, high: 7, rounds: 2 });
    assert.equal(spreadOf([Number.NaN]), undefined);
    assert.equal(spreadOf([]), undefined);
  });

  it("gives a single round a ±10% band, since it has no spread of its own", () => {
    const one = spreadOf([100]);
    assert.equal(singleRoundTolerance, 0.1);
    assert.equal(one?.rounds, 1);
    assert.ok(Math.abs((one?.low ?? 0) - 90) < 1e-9);
    assert.ok(Math.abs((one?.high ?? 0) - 110) < 1e-9);
  });

  it("median of an empty list is NaN", () => {
    assert.ok(Number.isNaN(median([])));
  });
});

describe("compare and overlaps", () => {
  const a = { median: 100, low: 90, high: 110, rounds: 3 };
  it("calls overlapping ranges within noise, whatever the medians", () => {
    const b = { median: 108, low: 105, high: 130, rounds: 3 };
    assert.equal(overlaps(a, b), true);
    assert.equal(compare(a, b), "within noise");
    assert.equal(compare(b, a), "within noise");
  });

  it("calls ranges apart higher or lower", () => {
    const b = { median: 200, low: 180, high: 220, rounds: 3 };
    assert.equal(compare(b, a), "higher");
    assert.equal(compare(a, b), "lower");
  });

  it("touching ranges overlap", () => {
    const b = { median: 115, low: 110, high: 120, rounds: 3 };
    assert.equal(compare(a, b), "within noise");
  });
});

describe("ratioOf", () => {
  it("divides medians and gives the range the two spreads allow", () => {
    const r = ratioOf(
      { median: 50, low: 45, high: 55, rounds: 3 },
      { median: 100, low: 90, high: 110, rounds: 3 },
    );
    assert.equal(r.value, 0.5);
    assert.equal(r.low, 45 / 110);
    assert.equal(r.high, 55 / 90);
    assert.equal(r.withinNoise, false);
    assert.match(ratioText(r), /^0\.50× \(0\.41–0\.61\)$/);
  });

  it("reports overlapping figures as within noise, never as a win", () => {
    const r = ratioOf(
      { median: 105, low: 95, high: 112, rounds: 3 },
      { median: 100, low: 92, high: 108, rounds: 3 },
    );
    assert.equal(r.withinNoise, true);
    assert.equal(ratioText(r), "≈1.05× (within noise)");
  });
});

describe("isSuspect", () => {
  const ceiling = { median: 100, low: 95, high: 105, rounds: 3 };
  it("flags a row above its ceiling by more than the spread", () => {
    assert.equal(isSuspect({ median: 140, low: 130, high: 150, rounds: 3 }, ceiling), true);
  });

  it("does not flag a row that reaches the ceiling within noise", () => {
    assert.equal(isSuspect({ median: 108, low: 100, high: 112, rounds: 3 }, ceiling), false);
    assert.equal(isSuspect({ median: 80, low: 75, high: 85, rounds: 3 }, ceiling), false);
  });
});

describe("spreadText", () => {
  it("shows the median and the range, or says one round", () => {
    assert.equal(
      spreadText({ median: 712.04, low: 690, high: 730.4, rounds: 3 }),
      "712.0 (690.0–730.4)",
    );
    assert.equal(spreadText(spreadOf([5]), 0), "5 (1 round)");
  });
});

/** A transport-only single-request result with the given round figures. */
function row(id: string, httpVersion: "1.1" | "2", rounds: number[]): RowResult {
  const spread = spreadOf(rounds);
  return {
    scenario: "single",
    mode: "transport",
    row: id,
    label: id,
    kind: id.startsWith("bare") ? "baseline" : "protocol",
    client: "node",
    library: "test",
    httpVersion,
    description: "",
    status: "ok",
    workload: { model: "noise-1000", batch: 10, clients: 1, connections: "per-client" },
    iterations: rounds.length,
    verification: { requests: 0, images: 0, bytes: 0 },
    spread,
    headline: spread?.median,
    headlineUnit: "MB/s",
  };
}

describe("withRatios", () => {
  it("divides by the bare row of the same HTTP version, with a range", () => {
    const results = withRatios([
      row("rest-h1", "1.1", [400, 420, 410]),
      row("grpc", "2", [300, 310, 290]),
      row("bare-h1", "1.1", [800, 820, 810]),
      row("bare-h2", "2", [600, 590, 610]),
    ]);
    const rest = results.find((r) => r.row === "rest-h1");
    assert.equal(rest?.ratios?.bareRow, "bare-h1");
    assert.ok(Math.abs((rest?.ratios?.bare?.value ?? 0) - 410 / 810) < 1e-9);
    assert.equal(rest?.ratios?.bare?.suspect, false);
    const grpc = results.find((r) => r.row === "grpc");
    assert.ok(Math.abs((grpc?.ratios?.bare?.value ?? 0) - 300 / 600) < 1e-9);
    assert.equal(results.find((r) => r.row === "bare-h2")?.ratios?.bare, undefined);
  });

  it("marks a row faster than its bare ceiling beyond the spread as suspect", () => {
    const results = withRatios([
      row("rest-h1", "1.1", [1100, 1150, 1120]),
      row("bare-h1", "1.1", [800, 820, 810]),
    ]);
    const rest = results.find((r) => r.row === "rest-h1");
    assert.equal(rest?.ratios?.bare?.suspect, true);
  });

  it("compares only within the same step of a sweep", () => {
    const small = {
      ...row("grpc", "2", [5, 5, 5]),
      scenario: "payload" as const,
      step: { kind: "payload" as const, model: "noise-1k" },
    };
    const large = {
      ...row("bare-h2", "2", [800, 800, 800]),
      scenario: "payload" as const,
      step: { kind: "payload" as const, model: "noise-10m" },
    };
    const [grpc] = withRatios([small, large]);
    assert.equal(grpc?.ratios?.bare, undefined);
  });
});
