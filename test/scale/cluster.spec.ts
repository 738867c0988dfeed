/**
 * `--workers 2`: the CLI as a subprocess with two node:cluster workers on
 * one port. Every protocol works; /metrics on any worker answers for both;
 * limits (a key's quota and stream cap) hold across workers; a worker that
 * dies is logged and replaced, and health says NOT_SERVING until it is;
 * SIGTERM drains every worker; a setting the workers trip on at start-up
 * stops the primary with the worker's message and exit code.
 *
 * node:cluster hands connections to workers in turn, so calls on new
 * connections alternate between them; the call log lines (each with its
 * worker's pid) show which worker served what.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, createClient } from "@connectrpc/connect";
import { rendersPerWorker } from "../../src/cluster/index.js";
import { Health } from "../../src/gen/grpc/health/v1/health_pb.js";
import {
  assertCode,
  assertRefused,
  type CliServer,
  callHealthCheck,
  callListModels,
  callStream,
  clientFor,
  holdStream,
  makeTempDir,
  parseSamples,
  protocolCases,
  rawRequest,
  runCli,
  smallRequest,
  startCli,
  sumOf,
  waitFor,
  waitForExit,
} from "../support/index.js";

const quotaKey = "mm_cluster_quota_0123456789";
const streamsKey = "mm_cluster_streams_0123456789";
const openKey = "mm_cluster_open_0123456789";

/** The pids of the workers that said "worker listening", in order. */
function workerPids(cli: CliServer): number[] {
  return cli
    .logLines()
    .filter((line) => line.msg === "worker listening")
    .map((line) => line.worker_pid as number);
}

/** The pids that logged a finished call of method. */
function pidsServing(cli: CliServer, method: string): Set<number> {
  return new Set(
    cli
      .logLines()
      .filter((line) => line.msg === "call" && line.method === method)
      .map((line) => line.pid as number),
  );
}

describe("--workers 2", () => {
  let cli: CliServer;
  let dir: Awaited<ReturnType<typeof makeTempDir>>;

  before(async () => {
    dir = await makeTempDir();
    const keysFile = join(dir.path, "keys.json");
    await writeFile(
      keysFile,
      JSON.stringify([
        { id: "open", key: openKey },
        // About two thumb-64 images (1.5 KB each) a day.
        { id: "quota", key: quotaKey, limits: { bytes_per_day: 4000 } },
        { id: "streams", key: streamsKey, limits: { max_concurrent_streams: 1 } },
      ]),
    );
    cli = await startCli(["--workers", "2", "--api-keys-file", keysFile, "--grace-ms", "20000"]);
  });
  after(async () => {
    await cli?.stop("SIGKILL");
    await dir?.remove();
  });

  it("prints one listening line, once both workers listen", () => {
    assert.equal(workerPids(cli).length, 2);
    assert.equal(new Set(workerPids(cli)).size, 2, "two worker processes");
  });

  it("gives each worker its share of the cores as render slots", async () => {
    await waitFor(
      () =>
        cli.logLines().filter((line) => line.msg === "listening" && "worker" in line).length === 2,
      "both workers to log listening",
    );
    const slots = cli
      .logLines()
      .filter((line) => line.msg === "listening" && "worker" in line)
      .map((line) => line.max_concurrent_renders);
    assert.deepEqual(slots, [rendersPerWorker(2), rendersPerWorker(2)]);
  });

  for (const protocolCase of protocolCases) {
    it(`serves ${protocolCase.name}, with health SERVING`, async () => {
      const headers = { "x-api-key": openKey };
      assertCode(await callStream(cli, protocolCase, smallRequest, { headers }), undefined);
      assertCode(await callListModels(cli, protocolCase, { headers }), undefined);
      const health = await callHealthCheck(cli, protocolCase);
      assertCode(health, undefined);
      assert.equal(health.status, "SERVING");
    });
  }

  it("answers /metrics for both workers on either one", async () => {
    const before = parseSamples(
      (await rawRequest(cli, { method: "GET", path: "/metrics" })).body.toString(),
    );
    const method = "GET /v1/models";
    const calls = (samples: ReturnType<typeof parseSamples>) =>
      sumOf(samples, "modelmora_calls_total", { method });
    // Each request on a connection of its own: the workers take turns.
    for (let i = 0; i < 6; i++) {
      const response = await rawRequest(cli, {
        method: "GET",
        path: "/v1/models",
        headers: { "x-api-key": openKey },
      });
      assert.equal(response.status, 200);
    }
    await waitFor(() => pidsServing(cli, method).size === 2, "both workers to log ListModels");
    for (let i = 0; i < 2; i++) {
      // Two scrapes, so that both workers answer one: each says the same.
      const samples = parseSamples(
        (await rawRequest(cli, { method: "GET", path: "/metrics" })).body.toString(),
      );
      assert.equal(calls(samples) - calls(before), 6, "every worker's calls, added up");
      const workers = new Set(
        samples
          .filter((sample) => sample.name === "process_resident_memory_bytes")
          .map((sample) => sample.labels.worker),
      );
      assert.deepEqual([...workers].sort(), ["1", "2", "primary"], "process metrics per worker");
      assert.equal(sumOf(samples, "modelmora_workers", { state: "serving" }), 2);
      assert.equal(sumOf(samples, "modelmora_limit_store_up"), 1, "limits kept by the primary");
    }
  });

  it("shares a key's daily quota across workers", async () => {
    const rest = protocolCases.find((c) => c.protocol === "rest");
    assert.ok(rest);
    const headers = { "x-api-key": quotaKey };
    const outcomes = [];
    // Four calls of two images each, on new connections: two per worker.
    // With a quota per worker, one call on each worker would get through.
    for (let i = 0; i < 4; i++) {
      outcomes.push(await callStream(cli, protocolCases[0], smallRequest, { headers }));
    }
    await waitFor(
      () => pidsServing(cli, "modelmora.InferenceService/StreamInference").size === 2,
      "both workers to serve streams",
    );
    const ok = outcomes.filter((outcome) => outcome.code === undefined);
    assert.equal(ok.length, 1, "one call fits the quota, whichever worker serves it");
    for (const outcome of outcomes.slice(1)) {
      assertRefused(outcome, protocolCases[0], Code.ResourceExhausted, /daily quota of 4000/);
    }
    const refused = await callStream(cli, rest, smallRequest, { headers });
    assertRefused(refused, rest, Code.ResourceExhausted, /daily quota of 4000/);
  });

  it("counts a key's streams across workers", async () => {
    const headers = { "x-api-key": streamsKey };
    const held = await holdStream(cli, { headers: headers });
    try {
      for (let i = 0; i < 3; i++) {
        const refused = await callStream(cli, protocolCases[0], smallRequest, { headers });
        assertRefused(
          refused,
          protocolCases[0],
          Code.ResourceExhausted,
          /concurrent stream limit of 1 for key 'streams'/,
        );
      }
    } finally {
      await held.cancel();
    }
    await waitFor(
      async () =>
        (await callStream(cli, protocolCases[0], smallRequest, { headers })).code === undefined,
      "the slot to be free once the held stream ends",
    );
  });

  it("replaces a worker that dies, and says NOT_SERVING until it is back", async () => {
    const [victim, survivor] = workerPids(cli);
    assert.ok(victim !== undefined && survivor !== undefined);
    // Watches on four connections: the workers take turns, so some are on
    // the survivor, which reports the change; those on the victim break.
    const watches = [];
    for (let i = 0; i < 4; i++) {
      const inference = clientFor(cli, { protocol: "grpc", httpVersion: "2" });
      const health = createClient(Health, inference.transport);
      const statuses: number[] = [];
      let firstArrived: () => void = () => {};
      const first = new Promise<void>((resolve) => {
        firstArrived = resolve;
      });
      const ended = (async () => {
        try {
          for await (const response of health.watch({ service: "" })) {
            statuses.push(response.status);
            firstArrived();
          }
          return "ended";
        } catch {
          firstArrived();
          return "broken";
        } finally {
          inference.close();
        }
      })();
      await first;
      watches.push({ statuses, ended });
    }
    assert.ok(
      watches.every((watch) => watch.statuses[0] === 1),
      "every watch starts SERVING",
    );

    process.kill(victim, "SIGKILL");
    const endings = await Promise.all(watches.map((watch) => watch.ended));
    const onSurvivor = watches.filter((_, i) => endings[i] === "ended");
    assert.ok(onSurvivor.length > 0, "some watch was on the surviving worker");
    for (const watch of onSurvivor) {
      assert.deepEqual(watch.statuses, [1, 2], "SERVING, then NOT_SERVING, then the end");
    }
    await waitFor(
      () => cli.logLines().some((line) => line.msg === "worker exited; starting another"),
      "the primary to log the death",
    );
    const death = cli.logLines().find((line) => line.msg === "worker exited; starting another");
    assert.equal(death?.worker_pid, victim);
    assert.equal(death?.signal, "SIGKILL");
    await waitFor(() => workerPids(cli).length === 3, "a new worker to listen");
    await waitFor(
      async () => (await callHealthCheck(cli, protocolCases[0])).status === "SERVING",
      "health to be SERVING again",
    );
    const samples = parseSamples(
      (await rawRequest(cli, { method: "GET", path: "/metrics" })).body.toString(),
    );
    assert.equal(sumOf(samples, "modelmora_worker_restarts_total"), 1);
    assert.equal(sumOf(samples, "modelmora_workers", { state: "serving" }), 2);
  });

  it("drains every worker on SIGTERM: calls in flight finish, then exit 0", async () => {
    const held = await holdStream(cli, {
      headers: { "x-api-key": openKey },
      request: { modelId: "noise-1000", prompt: "drain", batchSize: 2 },
    });
    cli.child.kill("SIGTERM");
    await waitFor(
      () => cli.logLines().filter((line) => line.msg === "shutting down").length >= 3,
      "the primary and both workers to start shutting down",
    );
    const outcome = await held.ended;
    assertCode(outcome, undefined, "the stream in flight");
    assert.equal(outcome.chunks.length > 1, true);
    const exit = await waitForExit(cli);
    assert.equal(exit.code, 0, cli.stderr());
  });
});

describe("--workers 2 with a setting the workers trip on", () => {
  it("exits 2 with the worker's message, once, and never listens", async () => {
    const dir = await makeTempDir();
    try {
      const secret = join(dir.path, "short");
      await writeFile(secret, "too short\n");
      const result = await runCli(["--workers", "2", "--port", "0", "--jwt-secret-file", secret]);
      assert.equal(result.code, 2, result.stderr);
      assert.equal(result.stdout.toString(), "", "it never listened");
      const said = result.stderr.match(/^modelmora: .*HS256 secret is 9 bytes.*$/gm) ?? [];
      assert.equal(said.length, 1, `said once on stderr:\n${result.stderr}`);
    } finally {
      await dir.remove();
    }
  });

  it("rejects a bad --workers value with exit 2", async () => {
    const result = await runCli(["--workers", "many"]);
    assert.equal(result.code, 2);
    assert.match(
      result.stderr,
      /--workers \(MODELMORA_WORKERS\) must be a whole number ≥ 1 or auto/,
    );
  });
});
