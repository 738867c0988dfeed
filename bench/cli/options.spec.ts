/**
 * Unit tests of the bench's flags (`npm run bench:test`): profiles, the
 * sweep switches, rounds, and the flags passed through to the server.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { optionsFromArgs } from "./options.js";
import { UsageError } from "./usage-error.js";

function parse(...argv: string[]) {
  const options = optionsFromArgs(argv);
  assert.ok(options !== undefined);
  return options;
}

describe("optionsFromArgs", () => {
  it("runs every scenario in a full run, sweeps and open loop included, in 3 rounds", () => {
    const options = parse();
    assert.deepEqual(options.scenarios, [
      "single",
      "load",
      "small",
      "unary",
      "memory",
      "open-loop",
      "payload",
      "concurrency",
    ]);
    assert.equal(options.plans.single.transport?.rounds, 3);
    assert.deepEqual(options.concurrencyStreams, [1, 10, 100]);
    assert.deepEqual(options.openLoopRatesRps, [10, 50, 100]);
    assert.equal(options.payloadModels.length, 6);
  });

  it("--sweep runs the sweeps alone, --no-sweep leaves them out", () => {
    assert.deepEqual(parse("--sweep").scenarios, ["payload", "concurrency"]);
    assert.ok(!parse("--no-sweep").scenarios.includes("payload"));
    assert.ok(parse("--no-sweep").scenarios.includes("open-loop"));
    assert.throws(() => parse("--sweep", "--no-sweep"), UsageError);
    assert.throws(() => parse("--sweep", "--scenarios", "single"), UsageError);
  });

  it("--quick reduces the grid and keeps the sweeps", () => {
    const quick = parse("--quick");
    assert.ok(quick.scenarios.includes("payload") && quick.scenarios.includes("concurrency"));
    assert.ok(!quick.scenarios.includes("memory"));
    assert.ok(quick.payloadModels.length < 6);
    assert.equal(quick.plans.load.e2e, undefined);
  });

  it("--rounds applies to every measured scenario but the memory one", () => {
    const options = parse("--rounds", "5");
    assert.equal(options.plans.single.transport?.rounds, 5);
    assert.equal(options.plans.unary.transport?.rounds, 5);
    assert.equal(options.payloadPlan("noise-1k").rounds, 5);
    assert.equal(options.concurrencyPlan(100).rounds, 5);
    assert.equal(options.plans.memory.transport?.rounds, 1);
    assert.throws(() => parse("--rounds", "0"), /--rounds must be a whole number of at least 1/);
  });

  it("takes the sweeps' grids from flags", () => {
    const options = parse("--sizes", "noise-1k,noise-10m", "--streams", "1,50", "--rates", "20");
    assert.deepEqual(options.payloadModels, ["noise-1k", "noise-10m"]);
    assert.deepEqual(options.concurrencyStreams, [1, 50]);
    assert.deepEqual(options.openLoopRatesRps, [20]);
    assert.throws(() => parse("--streams", "1,x"), /--streams must be a whole number/);
  });

  it("passes server flags through to the spawned server and the baselines", () => {
    const options = parse("--chunk-bytes", "500000", "--renderer", "canvas");
    assert.deepEqual(options.serverArgs, ["--chunk-bytes", "500000", "--renderer", "canvas"]);
    assert.deepEqual(options.baselineServerArgs, options.serverArgs);
    assert.equal(options.chunkBytes, 500000);
    assert.throws(() => parse("--chunk-bytes", "0"), /--chunk-bytes must be a whole number/);
  });

  it("passes --workers to the spawned server alone", () => {
    for (const value of ["2", "auto"]) {
      const options = parse("--workers", value);
      assert.deepEqual(options.serverArgs, ["--workers", value]);
      assert.deepEqual(options.baselineServerArgs, []);
    }
    assert.throws(
      () => parse("--workers", "0"),
      /--workers must be a whole number of at least 1 or auto, got "0"/,
    );
    assert.throws(() => parse("--workers", "many"), UsageError);
    assert.throws(
      () => parse("--workers", "2", "--url", "http://127.0.0.1:8080"),
      /with --url, start that server with it/,
    );
  });

  it("runs the browser rows in a full and a quick run, alone with --browser, not in a smoke run", () => {
    assert.equal(parse().browserRows, true);
    assert.equal(parse("--quick").browserRows, true);
    assert.equal(parse("--smoke").browserRows, false);
    assert.equal(parse("--smoke", "--browser").browserRows, true);
    assert.equal(parse("--no-browser").browserRows, false);
    const alone = parse("--browser");
    assert.deepEqual(alone.protocolFilter, ["browser"]);
    assert.deepEqual(alone.scenarios, ["single", "load", "small"]);
    assert.throws(() => parse("--browser", "--protocols", "grpc"), UsageError);
  });

  it("returns undefined for --help", () => {
    assert.equal(optionsFromArgs(["--help"]), undefined);
  });
});
