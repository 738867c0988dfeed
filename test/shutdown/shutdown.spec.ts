/**
 * Graceful shutdown: on SIGTERM (or SIGINT) the CLI stops taking new calls,
 * lets the streams in flight finish within --grace-ms, ends what is left
 * with UNAVAILABLE, then exits 0; streams are held open across the signal
 * on every protocol. Readiness turns NOT_SERVING the moment shutdown starts.
 */
import assert from "node:assert/strict";
import net from "node:net";
import { describe, it } from "node:test";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus } from "../../src/index.js";
import {
  assertCode,
  type CliServer,
  callListModels,
  callStream,
  clientFor,
  createGrpcJsHealthClient,
  holdRestStream,
  holdStream,
  httpRequest,
  inspectPng,
  multipartOf,
  protocolCases,
  reassemble,
  rpcCases,
  smallRequest,
  startCli,
  startServer,
  waitFor,
  waitForExit,
} from "../support/index.js";

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
        rpcCases.map((protocolCase) => holdStream(cli, { request, protocolCase })),
      );
      const heldRest = await holdRestStream(cli, { request });

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
      const parts = multipartOf(rest);
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
        rpcCases.map((protocolCase) => holdStream(cli, { protocolCase })),
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

  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    it(`serves every protocol, then exits 0 on ${signal} without a stack trace`, async () => {
      const cli = await startCli(["--grace-ms", "1000"]);
      try {
        assert.match(cli.url, /^http:\/\/127\.0\.0\.1:\d+$/);
        for (const protocolCase of protocolCases) {
          assertCode(await callStream(cli, protocolCase, smallRequest), undefined);
        }
        const health = await httpRequest(cli, { method: "GET", path: "/healthz" });
        assert.equal(health.status, 200);
        assert.equal(JSON.parse(health.body.toString("utf8")).status, "SERVING");
      } finally {
        assert.deepEqual(await cli.stop(signal), { code: 0, signal: null });
      }
      assert.doesNotMatch(cli.stderr(), /^\s+at .+:\d+/m, "a stack trace");
    });
  }
});

describe("readiness while the server shuts down", () => {
  it("Watch streams SERVING then NOT_SERVING on every protocol and grpc-js; /healthz turns 503", async () => {
    const srv = await startServer();
    const watchers = rpcCases.map((protocolCase) => {
      const inference = clientFor(srv, protocolCase);
      const statuses: string[] = [];
      const health = createClient(Health, inference.transport);
      const done = (async () => {
        try {
          for await (const response of health.watch({ service: "" })) {
            statuses.push(ServingStatus[response.status]);
          }
          return "ended";
        } catch (err) {
          return `failed: ${ConnectError.from(err).message}`;
        } finally {
          inference.close();
        }
      })();
      return { name: protocolCase.name, statuses, done };
    });
    const grpcJs = createGrpcJsHealthClient(srv.url);
    const grpcJsStatuses: string[] = [];
    const grpcJsDone = new Promise<string>((resolve) => {
      const call = grpcJs.Watch({ service: "modelmora.InferenceService" });
      call.on("data", (response: { status: string }) => grpcJsStatuses.push(response.status));
      call.on("error", (error) => resolve(`failed: ${error.message}`));
      call.on("end", () => resolve("ended"));
    });
    await waitFor(
      () =>
        watchers.every((watcher) => watcher.statuses.length === 1) && grpcJsStatuses.length === 1,
      "every watch to send its first status",
    );

    // A stream in flight keeps the server in its grace period; a probe's
    // request that is arriving on an open connection gets its answer.
    const held = await holdStream(srv);
    const connections = srv.server.connectionCount;
    const probe = net.connect(srv.port, "127.0.0.1");
    // Reset by the server is an answer too (the assertions below say which).
    probe.on("error", () => {});
    probe.write("GET /healthz HTTP/1.1\r\nhost: localhost\r\n");
    await waitFor(
      () => srv.server.connectionCount > connections,
      "the server to accept the probe's connection",
    );
    // The server accepted the connection; its first bytes are read in the
    // next turn of the event loop (this test and the server share it). A
    // connection that has sent nothing when shutdown starts is closed.
    await new Promise((resolve) => setImmediate(resolve));

    const closed = srv.server.close(20_000);
    try {
      for (const watcher of watchers) {
        assert.equal(await watcher.done, "ended", watcher.name);
        assert.deepEqual(watcher.statuses, ["SERVING", "NOT_SERVING"], watcher.name);
      }
      assert.equal(await grpcJsDone, "ended");
      assert.deepEqual(grpcJsStatuses, ["SERVING", "NOT_SERVING"]);

      const answer = new Promise<string>((resolve) => {
        let text = "";
        probe.setEncoding("utf8");
        probe.on("data", (data: string) => {
          text += data;
          if (text.includes("}")) resolve(text);
        });
        probe.on("close", () => resolve(text));
      });
      probe.write("connection: close\r\n\r\n");
      const response = await answer;
      assert.match(response, /^HTTP\/1\.1 503 /);
      assert.match(response, /"status":"NOT_SERVING"/);

      // New connections are refused: a probe that connects now fails too.
      const late = await httpRequest(srv, { method: "GET", path: "/healthz" });
      assert.equal(late.status, 0, "a new connection during shutdown got an answer");
    } finally {
      probe.destroy();
      grpcJs.close();
      await held.cancel();
      await closed;
    }
  });
});
