/**
 * Call logs: the pino logger without a server (fields, levels, redaction),
 * then the CLI writing one structured JSON line per call to stderr, with
 * protocol, method, status, bytes, duration and key id, never the key, at
 * the level of --log-level or MODELMORA_LOG_LEVEL.
 */
import assert from "node:assert/strict";
import { Writable } from "node:stream";
import { after, before, describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import {
  callLogLevel,
  codeLabelFromCode,
  createServerLogger,
  isSecretFieldName,
  type LoggerOptions,
  logLevelFromString,
  redactText,
} from "../../src/observability/index.js";
import {
  assertCode,
  assertRefused,
  type CliServer,
  callListModels,
  callStream,
  callSummary,
  type LogLine,
  protocolCases,
  smallRequest,
  startCli,
  streamMethodOf,
  waitForExit,
} from "../support/index.js";

const streamMethod = streamMethodOf("grpc");

/** A logger whose lines land in an array, parsed. */
function capturedLogger(options: Omit<LoggerOptions, "destination"> = {}) {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createServerLogger({ ...options, destination });
  return {
    logger,
    text: () => chunks.join(""),
    lines: (): Record<string, unknown>[] =>
      chunks
        .join("")
        .split("\n")
        .filter((line) => line !== "")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
  };
}

describe("createServerLogger", () => {
  it("writes one JSON line per call with every field", () => {
    const { logger, text, lines } = capturedLogger();
    logger.call(
      callSummary({
        code: "invalid_argument",
        keyId: "key-7",
        requestId: "req-1",
        error: "batch_size: must be at most 32, got 33",
      }),
    );
    logger.call(callSummary({ protocol: "rest", httpVersion: "1.1", method: "GET /healthz" }));
    assert.ok(text().endsWith("\n"));
    const [first, second, ...rest] = lines();
    assert.equal(rest.length, 0);
    assert.ok(first !== undefined && second !== undefined);
    assert.equal(first.msg, "call");
    assert.equal(first.level, "warn");
    assert.equal(typeof first.time, "string");
    assert.ok(!Number.isNaN(Date.parse(first.time as string)), "time is ISO 8601");
    assert.deepEqual(
      {
        protocol: first.protocol,
        http_version: first.http_version,
        method: first.method,
        code: first.code,
        bytes: first.bytes,
        duration_ms: first.duration_ms,
        first_chunk_ms: first.first_chunk_ms,
        key_id: first.key_id,
        request_id: first.request_id,
        error: first.error,
      },
      {
        protocol: "grpc",
        http_version: "2",
        method: streamMethod,
        code: "invalid_argument",
        bytes: 1234,
        duration_ms: 12.346,
        first_chunk_ms: 4.5,
        key_id: "key-7",
        request_id: "req-1",
        error: "batch_size: must be at most 32, got 33",
      },
    );
    assert.equal(second.level, "info");
    assert.equal(second.protocol, "rest");
    assert.equal(second.http_version, "1.1");
  });

  it("leaves out the fields a call doesn't have", () => {
    const { logger, lines } = capturedLogger();
    logger.call(callSummary({ firstChunkMs: undefined, bytesSent: 0 }));
    const [line] = lines();
    assert.ok(line !== undefined);
    for (const absent of ["first_chunk_ms", "key_id", "request_id", "error"]) {
      assert.ok(!(absent in line), `${absent} should be left out`);
    }
    assert.equal(line.bytes, 0);
  });

  it("picks the level of a call line from its code", () => {
    const expected: Record<string, "info" | "warn" | "error"> = {
      ok: "info",
      canceled: "info",
      aborted: "info",
      invalid_argument: "warn",
      not_found: "warn",
      unauthenticated: "warn",
      permission_denied: "warn",
      resource_exhausted: "warn",
      deadline_exceeded: "warn",
      unavailable: "warn",
      unimplemented: "warn",
      internal: "error",
      unknown: "error",
      data_loss: "error",
      "no-such-code": "error",
    };
    const { logger, lines } = capturedLogger();
    for (const code of Object.keys(expected)) {
      assert.equal(callLogLevel(code), expected[code], code);
      logger.call(callSummary({ code }));
    }
    assert.deepEqual(
      lines().map((line) => [line.code, line.level]),
      Object.entries(expected),
    );
  });

  it("writes only lines at or above its level", () => {
    const warnOnly = capturedLogger({ level: "warn" });
    warnOnly.logger.debug("d");
    warnOnly.logger.info("i");
    warnOnly.logger.call(callSummary({ code: "ok" }));
    warnOnly.logger.warn("w");
    warnOnly.logger.call(callSummary({ code: "internal" }));
    warnOnly.logger.error("e");
    assert.deepEqual(
      warnOnly.lines().map((line) => [line.level, line.msg]),
      [
        ["warn", "w"],
        ["error", "call"],
        ["error", "e"],
      ],
    );

    const defaults = capturedLogger();
    defaults.logger.debug("d");
    defaults.logger.info("i");
    assert.deepEqual(
      defaults.lines().map((line) => line.msg),
      ["i"],
      "default level is info",
    );

    const debug = capturedLogger({ level: "debug" });
    debug.logger.debug("d", { n: 1 });
    assert.deepEqual(
      debug.lines().map((line) => [line.level, line.msg, line.n]),
      [["debug", "d", 1]],
    );

    const silent = capturedLogger({ level: "silent" });
    silent.logger.error("e");
    silent.logger.call(callSummary({ code: "internal" }));
    assert.equal(silent.text(), "");
  });

  it("redacts fields named like credentials, at any depth", () => {
    const { logger, lines } = capturedLogger();
    logger.info("startup", {
      key: "k-secret-1",
      apiKey: "k-secret-2",
      api_key: "k-secret-3",
      "x-api-key": "k-secret-4",
      token: "t-secret-1",
      accessToken: "t-secret-2",
      authorization: "Bearer t-secret-3",
      password: "p-secret",
      clientSecret: "s-secret",
      jwtSecret: "s-secret-2",
      key_id: "key-7",
      keyId: "key-8",
      nested: { headers: { Authorization: "Basic dXNlcjpwYXNz", cookie: "c=1" } },
      list: [{ token: "t-secret-4" }, "plain"],
    });
    const [line] = lines();
    assert.ok(line !== undefined);
    const text = JSON.stringify(line);
    for (const secret of ["k-secret", "t-secret", "p-secret", "s-secret", "dXNlcjpwYXNz", "c=1"]) {
      assert.ok(!text.includes(secret), `${secret} leaked: ${text}`);
    }
    assert.equal(line.apiKey, "[redacted]");
    assert.equal(line["x-api-key"], "[redacted]");
    assert.equal(line.key_id, "key-7", "a key id is safe");
    assert.equal(line.keyId, "key-8", "a key id is safe");
    assert.deepEqual(line.nested, {
      headers: { Authorization: "[redacted]", cookie: "[redacted]" },
    });
    assert.deepEqual(line.list, [{ token: "[redacted]" }, "plain"]);
  });

  it("redacts bearer credentials and JWTs inside messages, errors and strings", () => {
    const jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    const { logger, lines } = capturedLogger();
    logger.warn(`rejected Bearer ${jwt}`, { detail: `token was ${jwt}` });
    logger.call(callSummary({ code: "unauthenticated", error: `bad header: Bearer abc.def-ghi` }));
    logger.error("failed", { err: new Error(`verify ${jwt}`) });
    const text = lines()
      .map((line) => JSON.stringify(line))
      .join("\n");
    assert.ok(!text.includes(jwt), text);
    assert.ok(!text.includes("abc.def-ghi"), text);
    const [warn, call, error] = lines();
    assert.equal(warn?.msg, "rejected Bearer [redacted]");
    assert.equal(call?.error, "bad header: Bearer [redacted]");
    const err = error?.err as Record<string, unknown>;
    assert.equal(err.name, "Error");
    assert.equal(err.message, "verify [redacted]");
    assert.equal(redactText("no secrets here"), "no secrets here");
  });

  it("survives cycles and keeps its own keys", () => {
    const cyclic: Record<string, unknown> = { name: "loop" };
    cyclic.self = cyclic;
    const { logger, lines } = capturedLogger();
    logger.info("odd fields", { cyclic, level: "mine", msg: "mine too", bytes: new Uint8Array(3) });
    const [line] = lines();
    assert.ok(line !== undefined);
    assert.deepEqual(line.cyclic, { name: "loop", self: "[circular]" });
    assert.equal(line.level, "info");
    assert.equal(line.msg, "odd fields");
    assert.equal(line.field_level, "mine");
    assert.equal(line.field_msg, "mine too");
    assert.equal(line.bytes, "[3 bytes]");
  });

  it("names secret fields by pattern", () => {
    for (const name of ["key", "API_KEY", "private-key", "refresh_token", "Authorization"]) {
      assert.ok(isSecretFieldName(name), name);
    }
    for (const name of ["key_id", "keyId", "method", "bytes", "protocol"]) {
      assert.ok(!isSecretFieldName(name), name);
    }
  });

  it("reads levels from flags and environment", () => {
    assert.equal(logLevelFromString(" WARN "), "warn");
    assert.equal(logLevelFromString("silent"), "silent");
    assert.throws(() => logLevelFromString("verbose"), /must be one of trace, debug, info/);
  });
});

describe("codeLabelFromCode", () => {
  it("gives the snake_case name of every Connect code", () => {
    assert.equal(codeLabelFromCode(undefined), "ok");
    assert.equal(codeLabelFromCode(Code.InvalidArgument), "invalid_argument");
    for (const value of Object.values(Code)) {
      if (typeof value !== "number") continue;
      const snake = (Code[value] as string).replace(/[A-Z]/g, (c, i: number) =>
        i === 0 ? c.toLowerCase() : `_${c.toLowerCase()}`,
      );
      assert.equal(codeLabelFromCode(value), snake);
    }
  });
});

const key = "logs_key_2f0c4a9e7d1b3c5a";
const headers = { "x-api-key": key };
const badRequest = { modelId: "thumb-64", prompt: "p", batchSize: 0 };

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
    // Stopped first: once it has exited, every line it will write is there.
    assert.deepEqual(await cli.stop(), { code: 0, signal: null });
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
        // Stopped first: once it has exited, every line it will write is there.
        cli.child.kill("SIGTERM");
        assert.deepEqual(await waitForExit(cli), { code: 0, signal: null });
        assert.deepEqual(
          cli.logLines().map((line) => [line.level, line.code]),
          [["warn", "invalid_argument"]],
          "only the refused call is logged (no ok call, no info line)",
        );
      } finally {
        await cli.stop("SIGKILL");
      }
    });
  }
});
