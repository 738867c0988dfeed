/**
 * Issue 5, item 5: the CLI writes one structured JSON line (pino) per call
 * to stderr, with protocol, method, status, bytes, duration and key id,
 * never the key; the level comes from --log-level or MODELMORA_LOG_LEVEL.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { waitFor } from "./helpers.js";
import {
  assertCode,
  assertRefused,
  type CliServer,
  callListModels,
  callStream,
  type LogLine,
  protocolCases,
  runCli,
  smallRequest,
  startCli,
} from "./production-support.js";

const key = "logs_key_2f0c4a9e7d1b3c5a";
const headers = { "x-api-key": key };
const badRequest = { modelId: "thumb-64", prompt: "p", batchSize: 0 };

/** The method label each protocol logs for StreamInference. */
function streamMethodOf(protocol: string): string {
  return protocol === "rest" ? "POST /infer/stream" : "modelmora.InferenceService/StreamInference";
}

function callLines(cli: CliServer): LogLine[] {
  return cli.logLines().filter((line) => line.msg === "call");
}

describe("--log-level info: one JSON line per call", () => {
  let cli: CliServer;
  before(async () => {
    cli = await startCli(["--log-level", "info"], {
      env: { MODELMORA_API_KEYS: `logs-ci:${key}` },
    });
  });
  after(async () => {
    await cli?.stop();
  });

  it("logs each call of each protocol with its fields, and never the key", async () => {
    let calls = 0;
    for (const protocolCase of protocolCases) {
      assertCode(await callStream(cli, protocolCase, smallRequest, { headers }), undefined);
      assertCode(await callListModels(cli, protocolCase, { headers }), undefined);
      assertRefused(
        await callStream(cli, protocolCase, smallRequest, {
          headers: { "x-api-key": `${key}-wrong` },
        }),
        protocolCase,
        Code.Unauthenticated,
      );
      calls += 3;
    }
    await waitFor(() => callLines(cli).length >= calls, `${calls} call lines`);
    const lines = callLines(cli);
    assert.equal(lines.length, calls, "one line per call, no more");

    for (const { protocol, httpVersion } of protocolCases) {
      const mine = lines.filter((line) => line.protocol === protocol);
      assert.equal(mine.length, 3, `${protocol}: 3 lines`);
      const stream = mine.find(
        (line) => line.code === "ok" && line.method === streamMethodOf(protocol),
      );
      assert.ok(stream, `${protocol}: no ok StreamInference line in ${JSON.stringify(mine)}`);
      assert.equal(stream.level, "info");
      assert.equal(stream.http_version, httpVersion);
      assert.equal(stream.key_id, "logs-ci");
      assert.equal(typeof stream.bytes, "number");
      assert.ok((stream.bytes as number) > 2000, `${protocol}: bytes ${stream.bytes}`);
      assert.equal(typeof stream.duration_ms, "number");
      assert.equal(typeof stream.first_chunk_ms, "number");
      assert.match(String(stream.request_id), /^[0-9a-f-]{36}$/);
      assert.match(String(stream.time), /^\d{4}-\d\d-\d\dT/);
      assert.equal(typeof stream.pid, "number");

      const refused = mine.find((line) => line.code === "unauthenticated");
      assert.ok(refused, `${protocol}: no unauthenticated line`);
      assert.equal(refused.level, "warn");
      assert.equal(refused.key_id, undefined, "an unknown key has no key id");
      assert.match(String(refused.error), /unknown API key/);
    }
    assert.ok(!cli.stderr().includes(key), "the key appears in the log");
  });
});

describe("log levels", () => {
  for (const [name, args, env] of [
    ["--log-level warn (over MODELMORA_LOG_LEVEL=silent)", ["--log-level", "warn"], "silent"],
    ["MODELMORA_LOG_LEVEL=warn", [], "warn"],
  ] as const) {
    it(`${name} hides ok calls and keeps refused ones`, async () => {
      const cli = await startCli(args, { env: { MODELMORA_LOG_LEVEL: env } });
      try {
        const protocolCase = protocolCases[0] as (typeof protocolCases)[number];
        for (const each of protocolCases) {
          assertCode(await callStream(cli, each, smallRequest), undefined);
        }
        assertRefused(
          await callStream(cli, protocolCase, badRequest),
          protocolCase,
          Code.InvalidArgument,
        );
        await waitFor(() => callLines(cli).length >= 1, "the warn line of the refused call");
        const lines = cli.logLines();
        assert.deepEqual(
          lines.map((line) => [line.level, line.code]),
          [["warn", "invalid_argument"]],
          "only the refused call is logged (no ok call, no info line)",
        );
      } finally {
        await cli.stop();
      }
    });
  }

  for (const [name, args, env] of [
    ["--log-level loud", ["--log-level", "loud"], {}],
    ["MODELMORA_LOG_LEVEL=loud", [], { MODELMORA_LOG_LEVEL: "loud" }],
  ] as const) {
    it(`${name} exits 2 naming the accepted levels`, async () => {
      const result = await runCli(["--port", "0", ...args], env);
      assert.equal(result.code, 2);
      assert.match(
        result.stderr,
        /log level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"/,
      );
      assert.equal(result.stdout.toString("utf8"), "", "nothing on stdout: it never listened");
    });
  }
});
