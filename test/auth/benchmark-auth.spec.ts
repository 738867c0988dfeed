/**
 * The benchmark against a server with auth on: `npm run bench -- --url URL
 * --api-key KEY` sends the key with every call, and the key never reaches
 * the server's log.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { makeTempDir, run, startCli } from "../support/index.js";

describe("the benchmark with auth on", () => {
  it("npm run bench -- --help lists --api-key and --smoke", async () => {
    const result = await run(process.execPath, ["--import", "tsx", "bench/run.ts", "--help"]);
    assert.equal(result.code, 0, result.stderr);
    const help = result.stdout.toString("utf8");
    assert.match(help, /--api-key KEY/);
    assert.match(help, /--smoke/);
    assert.match(help, /--url URL/);
  });

  it("runs in smoke mode against an auth-enabled CLI server with --url and --api-key", async () => {
    const benchKey = "bench_key_7c2f9e1a4b6d8c0e";
    const cli = await startCli(["--log-level", "info"], {
      env: { MODELMORA_API_KEYS: `bench:${benchKey}` },
    });
    const out = await makeTempDir();
    try {
      const result = await run(process.execPath, [
        "--import",
        "tsx",
        "bench/run.ts",
        "--smoke",
        "--url",
        cli.url,
        "--api-key",
        benchKey,
        "--no-baselines",
        "--out",
        out.path,
      ]);
      assert.equal(result.code, 0, `bench failed:\n${result.stderr.slice(-3000)}`);
      const calls = cli.logLines().filter((line) => line.msg === "call");
      assert.ok(calls.length > 10, "the bench made calls");
      const keyIds = new Set(calls.map((line) => line.key_id));
      assert.ok(keyIds.has("bench"), "the bench's calls carry its key");
      assert.ok(
        !calls.some((line) => line.code === "unauthenticated"),
        "no call of the bench was refused",
      );
      assert.ok(!cli.stderr().includes(benchKey), "the key appears in the server log");
    } finally {
      await cli.stop();
      await out.remove();
    }
  });
});
