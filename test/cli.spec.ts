/**
 * `npm run serve` as a user runs it: `tsx src/cli.ts` in a subprocess.
 * Flags and environment variables, --help, usage errors, a port already in
 * use, and clean shutdown on SIGTERM and SIGINT.
 */
import assert from "node:assert/strict";
import { type ChildProcessWithoutNullStreams, spawn } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { curl, repoRoot, run, startServer, type TestServer } from "./helpers.js";

const tsx = `${repoRoot}node_modules/.bin/tsx`;

/** A running `tsx src/cli.ts`. */
interface Cli {
  readonly child: ChildProcessWithoutNullStreams;
  /** The URL of its "modelmora listening on URL" line. */
  readonly url: string;
  /** Resolves when it exits. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Starts the CLI and waits for its listening line. */
function startCli(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<Cli> {
  const child = spawn(tsx, ["src/cli.ts", ...args], {
    cwd: repoRoot,
    env: { ...process.env, MODELMORA_LOG_LEVEL: "warn", ...env },
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (data: Buffer) => {
    stderr += data.toString("utf8");
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => resolve({ code, signal })),
  );
  return new Promise((resolve, reject) => {
    child.stdout.on("data", (data: Buffer) => {
      stdout += data.toString("utf8");
      const match = /^modelmora listening on (\S+) /m.exec(stdout);
      if (match) {
        resolve({ child, url: match[1] as string, exited, stderr: () => stderr });
      }
    });
    exited.then(({ code }) =>
      reject(new Error(`the CLI exited (${code}) before listening:\n${stdout}${stderr}`)),
    );
  });
}

/** Runs the CLI to its end (for cases where it must not start). */
function runCli(args: readonly string[], env: NodeJS.ProcessEnv = {}) {
  return run(tsx, ["src/cli.ts", ...args], { env: { ...process.env, ...env } });
}

/** A message without a stack trace: no "    at f (file:line)" lines. */
function assertNoStack(text: string) {
  assert.doesNotMatch(text, /^\s+at .+:\d+/m, `a stack trace:\n${text}`);
}

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

  const usageErrors: [string, string[], NodeJS.ProcessEnv, RegExp][] = [
    [
      "a port that is not a number",
      ["--port", "abc"],
      {},
      /--port \(PORT\) must be a whole number, got "abc"/,
    ],
    [
      "a bad PORT variable",
      [],
      { PORT: "80a" },
      /--port \(PORT\) must be a whole number, got "80a"/,
    ],
    ["a negative cache size", ["--cache-bytes=-1"], {}, /--cache-bytes .* must be a whole number/],
    [
      "an unknown renderer",
      ["--renderer", "skia"],
      {},
      /--renderer must be auto, canvas or @napi-rs\/canvas, got "skia"/,
    ],
    [
      "batch size 0",
      ["--max-batch-size", "0"],
      {},
      /--max-batch-size \(MODELMORA_MAX_BATCH_SIZE\) must be at least 1, got 0/,
    ],
    ["an unknown flag", ["--prot", "9000"], {}, /Unknown option '--prot'/],
    [
      "a certificate without a key",
      ["--tls-cert", "cert.pem"],
      {},
      /--tls-cert and --tls-key go together/,
    ],
  ];
  for (const [name, args, env, pattern] of usageErrors) {
    it(`exits 2 with a clear message for ${name}`, async () => {
      const result = await runCli(args, env);
      assert.equal(result.code, 2, result.stderr);
      const firstLine = result.stderr.split("\n")[0] as string;
      assert.match(firstLine, /^modelmora: /);
      assert.match(firstLine, pattern);
      assert.match(result.stderr, /--help/);
      assertNoStack(result.stderr);
      assert.equal(result.stdout.length, 0);
    });
  }

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

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`serves, then shuts down cleanly with exit code 0 on ${signal}`, async () => {
      const cli = await startCli(["--port", "0"]);
      try {
        assert.match(cli.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        const health = await curl([`${cli.url}/healthz`]);
        assert.equal(JSON.parse(health.stdout.toString("utf8")).status, "SERVING");
        cli.child.kill(signal);
        assert.deepEqual(await cli.exited, { code: 0, signal: null });
        assertNoStack(cli.stderr());
      } finally {
        cli.child.kill("SIGKILL");
      }
    });
  }

  it("takes settings from flags and environment variables; a flag wins", async () => {
    const cli = await startCli(
      ["--port", "0", "--max-batch-size", "4", "--renderer", "@napi-rs/canvas"],
      {
        MODELMORA_MAX_BATCH_SIZE: "9",
        MODELMORA_CHUNK_BYTES: "500000",
      },
    );
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
      cli.child.kill("SIGTERM");
      await cli.exited;
    }
  });
});
