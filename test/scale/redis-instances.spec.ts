/**
 * Two server instances (the CLI as subprocesses: A with two workers, B with
 * one process) sharing limits through a real redis-server (skipped with one
 * line where redis-server is missing, unless MODELMORA_REQUIRE_REDIS=1):
 * one key's quota is used once across both, its stream cap counts streams
 * on either, the streams of an instance that is killed stop counting once
 * their lease ends, and with Redis gone limits fail open (a warning and a
 * metric), enforced again once Redis is back.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import {
  assertCode,
  assertRefused,
  type CliServer,
  callStream,
  holdStream,
  makeTempDir,
  type ProtocolCase,
  parseSamples,
  protocolCases,
  type RedisProcess,
  rawRequest,
  redisSkipReason,
  smallRequest,
  startCli,
  startRedis,
  sumOf,
  waitFor,
} from "../support/index.js";

const skip = await redisSkipReason();
const keys = {
  quota: "mm_redis_quota_0123456789",
  streams: "mm_redis_streams_0123456789",
  open: "mm_redis_open_0123456789",
};
const grpc = protocolCases[0] as ProtocolCase;
const rest = protocolCases.find((c) => c.protocol === "rest") as ProtocolCase;

/** True while a process with this pid runs. */
function running(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function metricsOf(cli: CliServer) {
  return parseSamples(
    (await rawRequest(cli, { method: "GET", path: "/metrics" })).body.toString("utf8"),
  );
}

describe("two instances sharing limits in Redis", { skip }, () => {
  let redis: RedisProcess;
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let a: CliServer;
  let b: CliServer;

  before(async () => {
    redis = await startRedis();
    dir = await makeTempDir();
    const keysFile = join(dir.path, "keys.json");
    await writeFile(
      keysFile,
      JSON.stringify([
        { id: "open", key: keys.open },
        // About two thumb-64 images (1.5 KB each) a day.
        { id: "quota", key: keys.quota, limits: { bytes_per_day: 4000 } },
        { id: "streams", key: keys.streams, limits: { max_concurrent_streams: 1 } },
      ]),
    );
    const common = ["--redis-url", redis.url, "--stream-lease-ms", "2000"];
    common.push("--api-keys-file", keysFile);
    [a, b] = await Promise.all([startCli(["--workers", "2", ...common]), startCli(common)]);
  });
  after(async () => {
    await a?.stop("SIGKILL");
    await b?.stop("SIGKILL");
    await redis?.stop();
    await dir?.remove();
  });

  it("uses one key's daily quota once across instances", async () => {
    const headers = { "x-api-key": keys.quota };
    assertCode(await callStream(a, grpc, smallRequest, { headers }), undefined, "first call, on A");
    const second = await callStream(b, grpc, smallRequest, { headers });
    assertRefused(
      second,
      grpc,
      Code.ResourceExhausted,
      /daily quota of 4000 bytes for key 'quota'/,
    );
    const third = await callStream(a, rest, smallRequest, { headers });
    assertRefused(third, rest, Code.ResourceExhausted, /daily quota of 4000 bytes/);
  });

  it("counts a key's streams on every instance against its cap", async () => {
    const headers = { "x-api-key": keys.streams };
    const held = await holdStream(a, { headers: headers });
    try {
      for (const target of [b, a]) {
        const refused = await callStream(target, grpc, smallRequest, { headers });
        assertRefused(refused, grpc, Code.ResourceExhausted, /concurrent stream limit of 1/);
      }
    } finally {
      await held.cancel();
    }
    await waitFor(
      async () => (await callStream(b, grpc, smallRequest, { headers })).code === undefined,
      "the slot to be free on B once A's stream ends",
    );
  });

  it("stops counting a killed instance's streams once their lease ends", async () => {
    const headers = { "x-api-key": keys.streams };
    const workers = a
      .logLines()
      .filter((line) => line.msg === "worker listening")
      .map((line) => line.worker_pid as number);
    assert.equal(workers.length, 2);
    const held = await holdStream(a, { headers: headers });
    const refused = await callStream(b, grpc, smallRequest, { headers });
    assertRefused(refused, grpc, Code.ResourceExhausted, /concurrent stream limit of 1/);

    // No shutdown: its workers go with it, and nothing tells Redis.
    await a.stop("SIGKILL");
    await waitFor(() => !workers.some(running), "A's workers to exit with it");
    const outcome = await held.ended;
    assert.notEqual(outcome.code, undefined, "the held stream broke");
    await waitFor(
      async () => (await callStream(b, grpc, smallRequest, { headers })).code === undefined,
      "B to take the key's stream once the dead one's lease ended",
    );
  });

  it("fails open while Redis is gone, and enforces limits again once it is back", async () => {
    const quota = { "x-api-key": keys.quota };
    const streams = { "x-api-key": keys.streams };
    assertRefused(
      await callStream(b, grpc, smallRequest, { headers: quota }),
      grpc,
      Code.ResourceExhausted,
      /daily quota/,
    );

    await redis.kill();
    await waitFor(
      async () => sumOf(await metricsOf(b), "modelmora_limit_store_up") === 0,
      "B to notice",
    );
    // The quota is not enforced meanwhile: the call goes through.
    assertCode(await callStream(b, grpc, smallRequest, { headers: quota }), undefined, "fail open");
    const held = await holdStream(b, { headers: streams });
    assertCode(await callStream(b, rest, smallRequest, { headers: streams }), undefined, "no cap");
    await held.cancel();
    const warnings = b.logLines().filter((line) => /limit store unreachable/.test(line.msg));
    assert.equal(warnings.length, 1, "one warning for the outage");
    assert.equal(warnings[0]?.level, "warn");
    assert.ok(sumOf(await metricsOf(b), "modelmora_limit_store_failures_total") >= 2);

    await redis.restart();
    await waitFor(
      async () => sumOf(await metricsOf(b), "modelmora_limit_store_up") === 1,
      "B to reconnect by itself",
    );
    assert.ok(b.logLines().some((line) => /limit store reachable again/.test(line.msg)));
    const again = await holdStream(b, { headers: streams });
    try {
      assertRefused(
        await callStream(b, rest, smallRequest, { headers: streams }),
        rest,
        Code.ResourceExhausted,
        /concurrent stream limit of 1/,
      );
    } finally {
      await again.cancel();
    }
  });
});
