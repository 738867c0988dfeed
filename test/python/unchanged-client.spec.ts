/**
 * The proof of concept's own client (test/python/unchanged_client.py: grpc.aio,
 * httpx, test-model, a GET /health probe, 10 clients of load), pointed at
 * one port of a real server: 40 chunks and about 31.5 MB over gRPC, the
 * same bytes over REST, and 10 of 10 load clients done.
 *
 * Needs Debian's /usr/bin/python3 with python3-grpcio, python3-grpc-tools,
 * python3-protobuf and python3-httpx (MODELMORA_PYTHON names another
 * interpreter). Without them it skips with one line, unless
 * MODELMORA_REQUIRE_PYTHON=1, as in CI, where it fails.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { run, startServer, type TestServer } from "../support/index.js";

const python = process.env.MODELMORA_PYTHON ?? "/usr/bin/python3";
const pythonRequired = process.env.MODELMORA_REQUIRE_PYTHON === "1";

/** Why the suite cannot run here, or undefined when the Python modules are present. */
function missingPython(): string | undefined {
  const probe = spawnSync(python, ["-c", "import grpc, grpc_tools, google.protobuf, httpx"], {
    encoding: "utf8",
  });
  if (probe.status === 0) return undefined;
  const why = probe.error?.message ?? probe.stderr.trim().split("\n").pop();
  return `${python} cannot import grpc, grpc_tools, google.protobuf and httpx (apt-get install python3-grpcio python3-grpc-tools python3-protobuf python3-httpx): ${why}`;
}
const missing = missingPython();

/** test-model: ten 1024×1024 RGB noise PNG files of about 3.15 MB each. */
const tenImages = { min: 31_000_000, max: 32_000_000 };

interface PocSummary {
  grpc?: { chunks: number; bytes: number };
  grpc_error?: string;
  rest: { chunks: number; bytes: number } | null;
  load: { clients: number; completed: number; bytes: number; chunks: number[]; errors: string[] };
}

describe("the proof of concept's client, unchanged, on one port", {
  skip: !pythonRequired && missing,
}, () => {
  let srv: TestServer | undefined;
  let summary: PocSummary;
  let printed: string;

  before(async () => {
    if (missing) {
      assert.fail(`MODELMORA_REQUIRE_PYTHON=1 but ${missing}`);
    }
    srv = await startServer();
    const result = await run(python, [
      "test/python/unchanged_client.py",
      `127.0.0.1:${srv.port}`,
      "--json",
    ]);
    printed = result.stdout.toString("utf8");
    assert.equal(result.code, 0, `unchanged_client.py failed: ${result.stderr}${printed}`);
    const lines = printed.trim().split("\n");
    summary = JSON.parse(lines[lines.length - 1] as string) as PocSummary;
  });
  after(async () => {
    await srv?.close();
  });

  it("streams test-model over gRPC: 40 chunks, about 31.5 MB", () => {
    assert.equal(summary.grpc_error, undefined);
    assert.equal(summary.grpc?.chunks, 40);
    const bytes = summary.grpc?.bytes ?? 0;
    assert.ok(bytes > tenImages.min && bytes < tenImages.max, `${bytes} bytes`);
    // It prints total_chunks every 10th chunk: 4 per image, per image.
    assert.equal(printed.match(/chunk \d+: total_chunks=4\n/g)?.length, 4, printed);
  });

  it("finds REST through GET /health and streams about 31.5 MB from POST /infer/stream", () => {
    assert.ok(summary.rest, `REST was skipped: ${printed}`);
    // The multipart framing adds a few hundred bytes per image to the PNG files.
    assert.ok(summary.rest.bytes > (summary.grpc?.bytes ?? 0), `${summary.rest.bytes} bytes`);
    assert.ok(summary.rest.bytes < tenImages.max, `${summary.rest.bytes} bytes`);
  });

  it("completes 10 of 10 concurrent gRPC clients of batch_size 5", () => {
    assert.deepEqual(summary.load.errors, []);
    assert.equal(summary.load.completed, 10);
    assert.deepEqual(summary.load.chunks, Array(10).fill(20));
    assert.ok(
      summary.load.bytes > tenImages.min * 5 && summary.load.bytes < tenImages.max * 5,
      `${summary.load.bytes} bytes`,
    );
    assert.match(printed, /✅ 10\/10 clients completed successfully/);
  });
});
