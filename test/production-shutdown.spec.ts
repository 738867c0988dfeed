/**
 * Issue 5, item 8: on SIGTERM (or SIGINT) the CLI stops taking new calls,
 * lets the streams in flight finish within --grace-ms, ends what is left
 * with UNAVAILABLE, then exits 0. Streams are held open across the signal
 * on every protocol.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Code } from "@connectrpc/connect";
import { boundaryOf, inspectPng, parseMultipart, reassemble, waitFor } from "./helpers.js";
import {
  assertCode,
  type CliServer,
  callListModels,
  callStream,
  holdRestStream,
  holdStream,
  protocolCases,
  restRequest,
  smallRequest,
  startCli,
  waitForExit,
} from "./production-support.js";

const rpcCases = protocolCases.filter((c) => c.protocol !== "rest");

/** Waits for the CLI's "shutting down" log line: the signal has been handled. */
async function waitForShutdownStart(cli: CliServer): Promise<void> {
  await waitFor(
    () => cli.logLines().some((line) => line.msg === "shutting down"),
    'the "shutting down" log line',
  );
}

describe("graceful shutdown of the CLI", () => {
  it("SIGTERM lets held streams of every protocol finish, refuses new calls, exits 0", async () => {
    const cli = await startCli(["--grace-ms", "30000", "--log-level", "info"]);
    try {
      // noise-1000, batch 10: 10 images of 3,005,928 bytes in 40 chunks of 1 MB.
      const request = { modelId: "noise-1000", prompt: "shutdown", batchSize: 10 };
      const held = await Promise.all(
        rpcCases.map((protocolCase) => holdStream(cli, undefined, request, protocolCase)),
      );
      const heldRest = await holdRestStream(cli, undefined, {
        model_id: request.modelId,
        prompt: request.prompt,
        batch_size: request.batchSize,
      });

      cli.child.kill("SIGTERM");
      await waitForShutdownStart(cli);

      // New calls are refused, whichever way they come: the port no longer
      // accepts connections (connection refused), or an open one answers
      // UNAVAILABLE / 503.
      for (const protocolCase of protocolCases) {
        const outcome = await callListModels(cli, protocolCase);
        assert.notEqual(outcome.code, undefined, `${protocolCase.name}: a new call succeeded`);
        assert.ok(
          outcome.code === Code.Unavailable || outcome.code === Code.Unknown,
          `${protocolCase.name}: ${Code[outcome.code as Code]} ${outcome.message}`,
        );
      }

      // The streams in flight run to their end.
      for (const [index, stream] of held.entries()) {
        const outcome = await stream.ended;
        const name = (rpcCases[index] as (typeof rpcCases)[number]).name;
        assertCode(outcome, undefined, name);
        assert.equal(outcome.chunks.length, 40, `${name}: all 40 chunks`);
        const images = reassemble(outcome.chunks);
        assert.equal(images.length, 10);
        inspectPng((images[9] as (typeof images)[number]).png);
      }
      const rest = await heldRest.finish();
      assert.equal(rest.truncated, false, "the REST body was cut off");
      const parts = parseMultipart(rest.body, boundaryOf(String(rest.headers["content-type"])));
      assert.equal(parts.length, 10);
      for (const part of parts) {
        assert.equal(part.body.byteLength, 3_005_928);
      }

      const exit = await waitForExit(cli);
      assert.deepEqual(exit, { code: 0, signal: null });
      const messages = cli.logLines().map((line) => line.msg);
      assert.ok(messages.includes("stopped"), "no stopped line");
      assert.ok(!messages.includes("grace period over, cancelling calls in flight"));
    } finally {
      await cli.stop("SIGKILL");
    }
  });

  it("SIGTERM with a short grace ends streams that can't finish, then exits 0", async () => {
    const cli = await startCli(["--grace-ms", "300", "--log-level", "info"]);
    try {
      // Batch 32, never read: these can't finish in 300 ms.
      const held = await Promise.all(
        rpcCases.map((protocolCase) => holdStream(cli, undefined, undefined, protocolCase)),
      );
      const heldRest = await holdRestStream(cli);
      cli.child.kill("SIGTERM");

      for (const [index, stream] of held.entries()) {
        const outcome = await stream.ended;
        const name = (rpcCases[index] as (typeof rpcCases)[number]).name;
        assertCode(outcome, Code.Unavailable, name);
        assert.match(outcome.message, /^server is shutting down$/, name);
        assert.ok(outcome.chunks.length < 128, `${name}: all chunks arrived`);
      }
      const rest = await heldRest.finish();
      assert.equal(rest.truncated, true, "the REST body ended as if complete");

      assert.deepEqual(await waitForExit(cli), { code: 0, signal: null });
      const lines = cli.logLines();
      assert.ok(
        lines.some((line) => line.msg === "grace period over, cancelling calls in flight"),
        "the server says it cancelled calls",
      );
      // REST has no status left to send mid-body; its log line says why it was cut.
      const restLine = lines.find((line) => line.msg === "call" && line.protocol === "rest");
      assert.equal(restLine?.code, "unavailable");
      assert.equal(restLine?.error, "server is shutting down");
    } finally {
      await cli.stop("SIGKILL");
    }
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`${signal} right after the "listening" line exits 0`, async () => {
      const cli = await startCli([]);
      cli.child.kill(signal);
      assert.deepEqual(await waitForExit(cli), { code: 0, signal: null });
    });
  }

  it("serves normally until the signal", async () => {
    const cli = await startCli(["--grace-ms", "1000"]);
    try {
      for (const protocolCase of protocolCases) {
        assertCode(await callStream(cli, protocolCase, smallRequest), undefined);
      }
      const health = await restRequest(cli, "GET", "/healthz");
      assert.equal(health.status, 200);
    } finally {
      assert.deepEqual(await cli.stop("SIGINT"), { code: 0, signal: null });
    }
  });
});
