/**
 * A stream slot (--max-streams) is taken once the request message has been
 * read and validated, not when the request starts: two requests from one
 * key whose bodies stall after a few bytes must not hold the server's
 * whole stream quota while every other key gets RESOURCE_EXHAUSTED. The
 * stalled ones are cut by the body timeout (long here, so they stay
 * stalled for the whole test).
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import { after, before, describe, it } from "node:test";
import {
  assertCode,
  callStream,
  envelope,
  protocolCases,
  smallRequest,
  startServer,
  type TestServer,
  waitFor,
} from "../support/index.js";
import { type RawSocket, rawSocket } from "./support.js";

const keys = {
  staller: "staller-key-0123456789",
  other: "other-key-0123456789",
};

describe("stalled request bodies do not hold --max-streams", () => {
  let srv: TestServer;
  const stalled: (RawSocket | http2.ClientHttp2Session)[] = [];
  before(async () => {
    srv = await startServer({
      maxServerStreams: 2,
      bodyTimeoutMs: 120_000,
      auth: {
        apiKeys: [
          { id: "staller", key: keys.staller, scopes: ["inference", "models"] },
          { id: "other", key: keys.other, scopes: ["inference", "models"] },
        ],
      },
    });
  });
  after(async () => {
    for (const connection of stalled) {
      if ("socket" in connection && "received" in connection) connection.socket.destroy();
      else (connection as http2.ClientHttp2Session).destroy();
    }
    await srv.close();
  });

  it("serves other keys on every protocol while two bodies stall (gRPC over HTTP/2, REST over HTTP/1.1)", async () => {
    // gRPC: the envelope's first 4 bytes, then nothing.
    const session = http2.connect(srv.url);
    session.on("error", () => {});
    stalled.push(session);
    const stream = session.request({
      ":method": "POST",
      ":path": "/modelmora.InferenceService/StreamInference",
      "content-type": "application/grpc",
      te: "trailers",
      "x-api-key": keys.staller,
    });
    stream.on("error", () => {});
    stream.write(envelope(Buffer.from("0a087468756d622d3634", "hex")).subarray(0, 4));
    // REST: 5 bytes of a 100-byte body, then nothing.
    const rest = await rawSocket(srv.url);
    stalled.push(rest);
    rest.write(
      `POST /infer/stream HTTP/1.1\r\nHost: robustness\r\nContent-Type: application/json\r\nX-Api-Key: ${keys.staller}\r\nContent-Length: 100\r\n\r\n{"mod`,
    );
    await waitFor(
      () => srv.server.activeCallCount >= 2,
      "both stalled requests to reach the server",
    );

    for (const protocolCase of protocolCases) {
      const outcome = await callStream(srv, protocolCase, smallRequest, {
        headers: { "x-api-key": keys.other },
      });
      assertCode(outcome, undefined, `${protocolCase.name}, another key, while two bodies stall`);
      assert.ok(outcome.bytes > 0);
    }
    // The stalled requests were not answered meanwhile: they still stall.
    assert.equal(rest.received(), "", "the stalled REST request was answered");
  });
});
