/**
 * Truthful call logs: each call's line says how it ended (`code`) and who
 * ended it (`ended_by`): the server (it answered, an error included), the
 * client (it cancelled, reset or hung up), a server timeout, or the HTTP/2
 * layer (nghttp2 reset the stream: a protocol error). A unary protocol
 * error the client got as a full 400 is invalid_argument by the server, not
 * "canceled"/"client went away" (HTTP/1.1) or "unknown" (HTTP/2). Shutdown
 * (ended_by "shutdown") is checked in shutdown.spec.ts.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { createInferenceClient } from "../../src/client/index.js";
import { InferenceRequestSchema } from "../../src/gen/modelmora/inference_pb.js";
import { envelope, rawRequest, startServer, type TestServer, waitFor } from "../support/index.js";
import { connectH2, dataFrame, describeStream, ErrorCode } from "./h2/index.js";
import { captureLogs, type LogLine, rawSocket, waitForSocketClose } from "./support.js";

const streamPath = "/modelmora.InferenceService/StreamInference";
const listModelsPath = "/modelmora.InferenceService/ListModels";
/** The method field of StreamInference's log lines. */
const streamMethod = streamPath.slice(1);

describe("call logs say how a call ended and who ended it", () => {
  let srv: TestServer;
  const logs = captureLogs();
  before(async () => {
    srv = await startServer({ logger: logs.logger, bodyTimeoutMs: 300 });
  });
  after(async () => {
    await srv.close();
  });

  /** Runs act, then waits for the one new call line it causes and returns it. */
  async function lineOf(act: () => Promise<void>, method: string): Promise<LogLine> {
    const before = logs.calls().length;
    await act();
    await waitFor(
      () =>
        logs
          .calls()
          .slice(before)
          .some((line) => line.method === method),
      `the log line of ${method}`,
    );
    return logs
      .calls()
      .slice(before)
      .find((line) => line.method === method) as LogLine;
  }

  for (const httpVersion of ["1.1", "2"] as const) {
    it(`a unary protocol error over HTTP/${httpVersion} (ListModels with a body that is not protobuf): invalid_argument by the server`, async () => {
      const line = await lineOf(async () => {
        const res = await rawRequest(srv.url, {
          httpVersion,
          method: "POST",
          path: listModelsPath,
          headers: { "content-type": "application/proto" },
          body: Buffer.from("ffffffff0f", "hex"),
        });
        assert.equal(res.status, 400, res.body.toString());
      }, "modelmora.InferenceService/ListModels");
      assert.deepEqual(
        { code: line.code, ended_by: line.ended_by },
        { code: "invalid_argument", ended_by: "server" },
      );
    });
  }

  it("a stream the client cancels after its first chunk: canceled by the client", async () => {
    const line = await lineOf(async () => {
      const inference = createInferenceClient({ baseUrl: srv.url, protocol: "grpc" });
      const abort = new AbortController();
      try {
        for await (const _ of inference.client.streamInference(
          { modelId: "noise-1000", prompt: "logs cancel", batchSize: 8 },
          { signal: abort.signal },
        )) {
          abort.abort();
        }
      } catch (err) {
        assert.equal(ConnectError.from(err).code, Code.Canceled);
      } finally {
        inference.close();
      }
    }, streamMethod);
    assert.deepEqual(
      { code: line.code, ended_by: line.ended_by },
      { code: "canceled", ended_by: "client" },
    );
  });

  it("a REST body that stalls past the body timeout: deadline_exceeded by a timeout", async () => {
    const line = await lineOf(async () => {
      const raw = await rawSocket(srv.url);
      raw.write(
        "POST /infer/stream HTTP/1.1\r\nHost: robustness\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
      );
      await waitForSocketClose(raw.socket, "a stalled REST body");
    }, "POST /infer/stream");
    assert.deepEqual(
      { code: line.code, ended_by: line.ended_by },
      { code: "deadline_exceeded", ended_by: "timeout" },
    );
  });

  it("a gRPC stream nghttp2 resets for a protocol error (DATA past its content-length): ended by the HTTP/2 layer", async () => {
    const line = await lineOf(async () => {
      const h2 = await connectH2({ url: srv.url });
      try {
        const id = h2.request(
          {
            ":method": "POST",
            ":scheme": "http",
            ":path": streamPath,
            ":authority": "robustness",
            "content-type": "application/grpc",
            te: "trailers",
            "content-length": "5",
          },
          { endStream: false },
        );
        h2.send(dataFrame(id, Buffer.alloc(20), true));
        await h2.waitUntil(
          () => h2.stream(id).resetCode !== undefined || h2.stream(id).ended,
          "the reset",
        );
        assert.equal(
          h2.stream(id).resetCode,
          ErrorCode.protocolError,
          describeStream(h2.stream(id)),
        );
      } finally {
        h2.destroy();
      }
    }, streamMethod);
    assert.equal(
      line.ended_by,
      "reset",
      `code ${line.code}, ended_by ${line.ended_by}, error ${line.error}`,
    );
    assert.notEqual(line.code, "ok");
  });

  it("a stream the client resets (RST_STREAM CANCEL) while it runs: canceled by the client", async () => {
    const line = await lineOf(async () => {
      const h2 = await connectH2({ url: srv.url });
      try {
        const id = h2.request(
          {
            ":method": "POST",
            ":scheme": "http",
            ":path": streamPath,
            ":authority": "robustness",
            "content-type": "application/grpc",
            te: "trailers",
          },
          {
            body: envelope(
              toBinary(
                InferenceRequestSchema,
                create(InferenceRequestSchema, {
                  modelId: "thumb-64",
                  prompt: "logs reset",
                  batchSize: 32,
                }),
              ),
            ),
          },
        );
        await h2.waitUntil(() => h2.stream(id).status !== undefined, "the response headers");
        h2.reset(id);
        await waitFor(() => srv.server.activeCallCount === 0, "the call to end");
      } finally {
        h2.destroy();
      }
    }, streamMethod);
    assert.deepEqual(
      { code: line.code, ended_by: line.ended_by },
      { code: "canceled", ended_by: "client" },
    );
  });

  it("a call that succeeds: ok by the server", async () => {
    const line = await lineOf(async () => {
      const inference = createInferenceClient({
        baseUrl: srv.url,
        protocol: "connect",
        httpVersion: "1.1",
      });
      try {
        for await (const _ of inference.client.streamInference({
          modelId: "thumb-64",
          prompt: "logs ok",
          batchSize: 1,
        })) {
          // Read it all.
        }
      } finally {
        inference.close();
      }
    }, streamMethod);
    assert.deepEqual(
      { code: line.code, ended_by: line.ended_by },
      { code: "ok", ended_by: "server" },
    );
  });
});
