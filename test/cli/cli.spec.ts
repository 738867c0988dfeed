/**
 * `npm run serve` as a user runs it: `node --import tsx src/cli.ts` in a
 * subprocess. --help, settings from flags and environment variables, bad
 * settings (exit 2 with a message naming the setting), and a port already
 * in use (exit 1). Signals and shutdown are in test/shutdown/.
 */
import assert from "node:assert/strict";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import {
  curl,
  makeTempDir,
  runCli,
  startCli,
  startServer,
  type TempDir,
  type TestServer,
} from "../support/index.js";

/** A message without a stack trace: no "    at f (file:line)" lines. */
function assertNoStack(text: string) {
  assert.doesNotMatch(text, /^\s+at .+:\d+/m, `a stack trace:\n${text}`);
}

/** Files the bad settings below name, made in before(). */
const files = { dir: undefined as TempDir | undefined, keys: "", shortSecret: "" };

/** A setting the CLI must refuse before it listens. */
interface BadSetting {
  name: string;
  args: () => string[];
  env: Record<string, string>;
  message: RegExp;
  /**
   * Whether the error ends by pointing at --help. Default true: usage
   * errors do; errors in the files and keys the settings name do not.
   */
  helpHint?: boolean;
}

const badSettings: BadSetting[] = [
  {
    name: "a port that is not a number",
    args: () => ["--port", "abc"],
    env: {},
    message: /--port \(PORT\) must be a whole number, got "abc"/,
  },
  {
    name: "a bad PORT variable",
    args: () => [],
    env: { PORT: "80a" },
    message: /--port \(PORT\) must be a whole number, got "80a"/,
  },
  {
    name: "a negative cache size",
    args: () => ["--cache-bytes=-1"],
    env: {},
    message: /--cache-bytes .* must be a whole number/,
  },
  {
    name: "an unknown renderer",
    args: () => ["--renderer", "skia"],
    env: {},
    message: /--renderer must be auto, canvas or @napi-rs\/canvas, got "skia"/,
  },
  {
    name: "batch size 0",
    args: () => ["--max-batch-size", "0"],
    env: {},
    message: /--max-batch-size \(MODELMORA_MAX_BATCH_SIZE\) must be at least 1, got 0/,
  },
  {
    name: "an unknown flag",
    args: () => ["--prot", "9000"],
    env: {},
    message: /Unknown option '--prot'/,
  },
  {
    name: "a certificate without a key",
    args: () => ["--tls-cert", "cert.pem"],
    env: {},
    message: /--tls-cert and --tls-key go together/,
  },
  {
    name: "MODELMORA_PUBLIC_HEALTH that is not true or false",
    args: () => ["--port", "0"],
    env: { MODELMORA_PUBLIC_HEALTH: "yes" },
    message: /--public-health .* must be true or false/,
  },
  {
    name: "an API key file with an unknown field",
    args: () => ["--port", "0", "--api-keys-file", files.keys],
    env: {},
    message: /entry 1 \('ci'\): unknown field 'colour'/,
    helpHint: false,
  },
  {
    name: "MODELMORA_API_KEYS without a colon",
    args: () => ["--port", "0"],
    env: { MODELMORA_API_KEYS: "no-colon" },
    message: /MODELMORA_API_KEYS entry 1 must be id:key/,
    helpHint: false,
  },
  {
    name: "a JWT secret shorter than 32 bytes",
    args: () => ["--port", "0", "--jwt-secret-file", files.shortSecret],
    env: {},
    message: /HS256 secret is 9 bytes; it must be at least 32/,
    helpHint: false,
  },
  {
    name: "--log-level loud",
    args: () => ["--port", "0", "--log-level", "loud"],
    env: {},
    message: /log level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"/,
  },
  {
    name: "MODELMORA_LOG_LEVEL=loud",
    args: () => ["--port", "0"],
    env: { MODELMORA_LOG_LEVEL: "loud" },
    message: /log level must be one of trace, debug, info, warn, error, fatal, silent, got "loud"/,
  },
];

describe("the CLI", () => {
  it("--help lists every flag with its variable and default, and exits 0", async () => {
    const result = await runCli(["--help"]);
    assert.equal(result.code, 0);
    const help = result.stdout.toString("utf8");
    assert.match(help, /^Usage: npm run serve -- \[flags\]/);
    for (const [flag, env] of [
      ["--port", "PORT, 8080"],
      ["--host", "HOST, 127.0.0.1"],
      ["--chunk-bytes", "MODELMORA_CHUNK_BYTES, 1000000"],
      ["--max-batch-size", "MODELMORA_MAX_BATCH_SIZE, 32"],
      ["--cache-bytes", "MODELMORA_CACHE_BYTES, 67108864"],
      ["--max-request-bytes", "MODELMORA_MAX_REQUEST_BYTES, 65536"],
      ["--renderer", "MODELMORA_RENDERER, auto"],
      ["--tls-cert", "MODELMORA_TLS_CERT"],
      ["--tls-key", "MODELMORA_TLS_KEY"],
      ["--grace-ms", "MODELMORA_GRACE_MS, 5000"],
    ]) {
      assert.ok(help.includes(flag) && help.includes(`(${env}`), `${flag} (${env}) missing`);
    }
  });

  describe("bad settings exit 2 with one message naming the setting", () => {
    before(async () => {
      files.dir = await makeTempDir();
      files.keys = join(files.dir.path, "keys.json");
      await writeFile(files.keys, JSON.stringify([{ id: "ci", key: "k1", colour: "red" }]));
      files.shortSecret = join(files.dir.path, "short");
      await writeFile(files.shortSecret, "too short\n");
    });
    after(async () => {
      await files.dir?.remove();
    });

    for (const setting of badSettings) {
      it(`${setting.name}`, async () => {
        const result = await runCli(setting.args(), setting.env);
        assert.equal(result.code, 2, result.stderr);
        const firstLine = result.stderr.split("\n")[0] as string;
        assert.match(firstLine, /^modelmora: /);
        assert.match(firstLine, setting.message);
        if (setting.helpHint ?? true) {
          assert.match(result.stderr, /--help/);
        }
        assertNoStack(result.stderr);
        assert.equal(result.stdout.length, 0, "nothing on stdout: it never listened");
      });
    }
  });

  describe("a port already in use", () => {
    let holder: TestServer;
    before(async () => {
      holder = await startServer({ cacheBytes: 0 });
    });
    after(async () => {
      await holder.close();
    });

    it("ends with exit code 1 and one line naming --port, no stack trace", async () => {
      const result = await runCli(["--port", String(holder.port)]);
      assert.equal(result.code, 1);
      const lines = result.stderr.trimEnd().split("\n");
      assert.equal(lines.length, 1, `more than one line:\n${result.stderr}`);
      assert.match(
        lines[0] as string,
        new RegExp(
          `^modelmora: port ${holder.port} on 127\\.0\\.0\\.1 is already in use; pick another with --port or PORT`,
        ),
      );
      assertNoStack(result.stderr);
    });
  });

  it("takes settings from flags and environment variables; a flag wins", async () => {
    const cli = await startCli(["--max-batch-size", "4", "--renderer", "@napi-rs/canvas"], {
      env: { MODELMORA_MAX_BATCH_SIZE: "9", MODELMORA_CHUNK_BYTES: "500000" },
    });
    try {
      const res = await curl([`${cli.url}/v1/models`]);
      const models = JSON.parse(res.stdout.toString("utf8"));
      assert.equal(models.maxBatchSize, 4);
      assert.equal(models.chunkBytes, 500000);
      assert.equal(models.renderer, "@napi-rs/canvas");
      const tooMany = await curl([
        "-H",
        "content-type: application/json",
        "-d",
        '{"model_id":"thumb-64","batch_size":5}',
        `${cli.url}/infer/stream`,
      ]);
      assert.match(tooMany.stdout.toString("utf8"), /batch_size must be from 1 to 4, got 5/);
    } finally {
      await cli.stop();
    }
  });
});
