/**
 * Shutdown, as the client sees it. Streams still running when the grace
 * period ends each end with UNAVAILABLE in their protocol's way (gRPC and
 * gRPC-Web status trailers, Connect end-of-stream; REST bodies are cut off,
 * as documented), and the log says the shutdown ended them. Connections
 * that carry no call (one that never sent a byte, an idle HTTP/1.1
 * keep-alive connection, an HTTP/2 session with no stream) are closed when
 * shutdown starts, not at the end of the grace period.
 */
import assert from "node:assert/strict";
import http from "node:http";
import http2 from "node:http2";
import { describe, it } from "node:test";
import { Code, ConnectError } from "@connectrpc/connect";
import { createInferenceClient } from "../../src/client/index.js";
import type { TestServer } from "../support/index.js";
import {
  clientCases,
  holdStream,
  parseSamples,
  startServer,
  sumOf,
  waitFor,
} from "../support/index.js";
import { connectH2 } from "./h2/index.js";
import { captureLogs, openSocketTo, rawSocket, waitForSocketClose } from "./support.js";

/** A long request: 32 noise-1000 images take far longer than the grace period. */
const longRequest = { modelId: "noise-1000", batchSize: 32 };

/** A stream in flight: resolves `first` at its first chunk, `outcome` when it ends. */
interface RunningStream {
  readonly name: string;
  readonly first: Promise<void>;
  /** "unavailable", "ok", another code, or "truncated"/"complete" for REST. */
  readonly outcome: Promise<string>;
}

function runRpc(srv: TestServer, clientCase: (typeof clientCases)[number]): RunningStream {
  let started: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    started = resolve;
  });
  const inference = createInferenceClient({
    baseUrl: srv.url,
    protocol: clientCase.protocol,
    httpVersion: clientCase.httpVersion,
  });
  const outcome = (async () => {
    try {
      for await (const _ of inference.client.streamInference({
        ...longRequest,
        prompt: `shutdown ${clientCase.name}`,
      })) {
        started();
      }
      return "ok";
    } catch (err) {
      return Code[ConnectError.from(err).code];
    } finally {
      started();
      inference.close();
    }
  })();
  return { name: clientCase.name, first, outcome };
}

const restBody = JSON.stringify({
  model_id: "noise-1000",
  prompt: "shutdown rest",
  batch_size: 32,
});

function runRestHttp1(srv: TestServer): RunningStream {
  let started: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    started = resolve;
  });
  const outcome = new Promise<string>((resolve) => {
    const req = http.request(
      new URL("/infer/stream", srv.url),
      { method: "POST", headers: { "content-type": "application/json" }, agent: false },
      (res) => {
        let cut = false;
        res.on("data", () => started());
        res.on("aborted", () => {
          cut = true;
        });
        res.on("error", () => {
          cut = true;
        });
        res.on("close", () => {
          started();
          resolve(cut || !res.complete ? "truncated" : "complete");
        });
      },
    );
    req.on("error", () => {
      started();
      resolve("truncated");
    });
    req.end(restBody);
  });
  return { name: "rest over HTTP/1.1", first, outcome };
}

function runRestHttp2(srv: TestServer): RunningStream {
  let started: () => void = () => {};
  const first = new Promise<void>((resolve) => {
    started = resolve;
  });
  const outcome = new Promise<string>((resolve) => {
    const session = http2.connect(srv.url);
    session.on("error", () => {});
    const stream = session.request({
      ":method": "POST",
      ":path": "/infer/stream",
      "content-type": "application/json",
    });
    stream.on("data", () => started());
    stream.on("error", () => {});
    stream.on("close", () => {
      started();
      session.destroy();
      // A body cut off: the stream was reset rather than ended cleanly.
      resolve(stream.rstCode === http2.constants.NGHTTP2_NO_ERROR ? "complete" : "truncated");
    });
    stream.end(restBody);
  });
  return { name: "rest over HTTP/2", first, outcome };
}

describe("shutdown", () => {
  it("ends every stream still running at the end of the grace period with UNAVAILABLE, in its protocol's way", async () => {
    const logs = captureLogs();
    const srv = await startServer({ logger: logs.logger });
    const streams = [
      ...clientCases.map((clientCase) => runRpc(srv, clientCase)),
      runRestHttp1(srv),
      runRestHttp2(srv),
    ];
    await Promise.all(streams.map((stream) => stream.first));
    await srv.server.close(1000);
    const outcomes = await Promise.all(
      streams.map(async (stream) => [stream.name, await stream.outcome] as const),
    );
    assert.deepEqual(
      Object.fromEntries(outcomes),
      Object.fromEntries(
        streams.map((stream) => [
          stream.name,
          stream.name.startsWith("rest") ? "truncated" : "Unavailable",
        ]),
      ),
    );
    const cut = logs
      .calls()
      .filter(
        (line) =>
          line.method === "modelmora.InferenceService/StreamInference" ||
          line.method === "POST /infer/stream",
      );
    assert.equal(cut.length, streams.length, "one log line per stream");
    for (const line of cut) {
      assert.deepEqual(
        { code: line.code, ended_by: line.ended_by },
        { code: "unavailable", ended_by: "shutdown" },
        `${line.protocol} over HTTP/${line.http_version}`,
      );
    }
  });

  it("closes connections that carry no call when shutdown starts, while a stream still runs", async () => {
    const srv = await startServer({
      // Long, so that what closes them is the shutdown and nothing else.
      firstByteTimeoutMs: 120_000,
      keepAliveTimeoutMs: 120_000,
      idleTimeoutMs: 120_000,
    });
    // One held stream keeps the server in its grace period.
    const held = await holdStream(srv);
    // Never sends a byte.
    const silent = await openSocketTo(srv.url);
    // One request, then idle keep-alive.
    const keepAlive = await rawSocket(srv.url);
    keepAlive.write("GET /healthz HTTP/1.1\r\nHost: robustness\r\n\r\n");
    await new Promise<void>((resolve) => {
      const check = () => {
        if (/\r\n\r\n\{.*\}/s.test(keepAlive.received())) {
          keepAlive.socket.off("data", check);
          resolve();
        }
      };
      keepAlive.socket.on("data", check);
    });
    // An HTTP/2 session with no stream.
    const h2 = await connectH2({ url: srv.url });
    await h2.settings();

    const closing = srv.server.close(120_000);
    try {
      await waitForSocketClose(silent, "a connection that never sent a byte", 10_000);
      await waitForSocketClose(keepAlive.socket, "an idle keep-alive connection", 10_000);
      await waitForSocketClose(h2.socket, "an HTTP/2 session with no stream", 10_000);
      assert.ok(h2.goaway, "the idle HTTP/2 session got no GOAWAY");
      // In process: the closing server no longer answers GET /metrics. The
      // server counts a close when its own socket closes, which may come a
      // moment after the client's.
      const shutdownCloses = async () =>
        sumOf(
          parseSamples((await srv.server.metrics.render()).body),
          "modelmora_connections_closed_total",
          {
            reason: "shutdown",
          },
        );
      await waitFor(
        async () => (await shutdownCloses()) >= 3,
        'the three closes counted under reason="shutdown"',
      );
    } finally {
      // The stream still ran all along; once it goes, the server closes.
      await held.cancel();
    }
    await closing;
    assert.equal(srv.server.connectionCount, 0);
  });
});
