/**
 * HTTP/2 limits, advertised and enforced, read and provoked frame by frame:
 * SETTINGS_MAX_CONCURRENT_STREAMS and SETTINGS_MAX_HEADER_LIST_SIZE in the
 * server's SETTINGS; HEADERS past the stream limit refused; a header list
 * past the size limit refused (HTTP/1.1 too); a client that resets streams
 * after they reached the handler, past --max-reset-streams, gets GOAWAY
 * ENHANCE_YOUR_CALM while completed streams never count.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { InferenceRequestSchema } from "../../src/gen/modelmora/inference_pb.js";
import { envelope, startServer, type TestServer, waitFor } from "../support/index.js";
import {
  connectH2,
  describeStream,
  ErrorCode,
  errorCodeName,
  FrameType,
  type H2Connection,
  Setting,
} from "./h2/index.js";
import { connectionsClosed, http1Status, rawSocket, waitForSocketClose } from "./support.js";

const streamPath = "/modelmora.InferenceService/StreamInference";

function get(path: string): Record<string, string> {
  return { ":method": "GET", ":scheme": "http", ":path": path, ":authority": "robustness" };
}

/** POST headers of a gRPC StreamInference call. */
const grpcHeaders: Record<string, string> = {
  ":method": "POST",
  ":scheme": "http",
  ":path": streamPath,
  ":authority": "robustness",
  "content-type": "application/grpc",
  te: "trailers",
};

function grpcBody(prompt: string, batchSize: number, modelId = "thumb-64"): Buffer {
  return envelope(
    toBinary(
      InferenceRequestSchema,
      create(InferenceRequestSchema, { modelId, prompt, batchSize }),
    ),
  );
}

/** GET /healthz on the connection; resolves with the status, or fails with how the stream ended. */
async function healthOn(h2: H2Connection): Promise<number | undefined> {
  const id = h2.request(get("/healthz"));
  await h2.waitUntil(
    () => h2.stream(id).ended || h2.stream(id).resetCode !== undefined || h2.isClosed,
    "GET /healthz",
  );
  assert.ok(
    h2.stream(id).ended,
    `GET /healthz: ${describeStream(h2.stream(id))}, closed ${h2.isClosed}`,
  );
  return h2.stream(id).status;
}

describe("HTTP/2 limits", () => {
  describe("with the defaults", () => {
    let srv: TestServer;
    before(async () => {
      srv = await startServer();
    });
    after(async () => {
      await srv.close();
    });

    it("advertises SETTINGS_MAX_CONCURRENT_STREAMS 100 and SETTINGS_MAX_HEADER_LIST_SIZE 16384", async () => {
      const h2 = await connectH2({ url: srv.url });
      try {
        const settings = await h2.settings();
        const shown = JSON.stringify([...settings]);
        assert.equal(settings.get(Setting.maxConcurrentStreams), 100, `SETTINGS ${shown}`);
        assert.equal(settings.get(Setting.maxHeaderListSize), 16384, `SETTINGS ${shown}`);
      } finally {
        h2.destroy();
      }
    });
  });

  describe("with small limits", () => {
    const maxConcurrentStreams = 5;
    const maxHeaderBytes = 4096;
    const maxResetStreams = 20;
    let srv: TestServer;
    before(async () => {
      srv = await startServer({
        maxConcurrentStreams,
        maxHeaderBytes,
        maxResetStreams,
        // Streams held open by an unfinished body must stay open for the test.
        bodyTimeoutMs: 60_000,
      });
    });
    after(async () => {
      await srv.close();
    });

    it("advertises the configured limits", async () => {
      const h2 = await connectH2({ url: srv.url });
      try {
        const settings = await h2.settings();
        assert.equal(settings.get(Setting.maxConcurrentStreams), maxConcurrentStreams);
        assert.equal(settings.get(Setting.maxHeaderListSize), maxHeaderBytes);
      } finally {
        h2.destroy();
      }
    });

    // RFC 9113 §5.1.2 allows a stream error (REFUSED_STREAM); nghttp2, under
    // Node, makes HEADERS past the limit the client has acknowledged a
    // connection error. Either way the stream is never served, and other
    // connections are.
    it("closes a connection that opens streams past SETTINGS_MAX_CONCURRENT_STREAMS with GOAWAY, serving none past it", async () => {
      const h2 = await connectH2({ url: srv.url });
      try {
        await h2.settings();
        // Streams whose request body never ends stay open.
        for (let i = 0; i < maxConcurrentStreams; i++) {
          h2.request({ ...grpcHeaders }, { endStream: false });
        }
        await waitFor(
          () => srv.server.activeCallCount >= maxConcurrentStreams,
          "the open streams to reach the server",
        );
        const extra = h2.request({ ...grpcHeaders }, { endStream: false });
        await h2.waitUntil(
          () => h2.stream(extra).resetCode !== undefined || h2.goaway !== undefined || h2.isClosed,
          "the stream past the limit to be refused",
        );
        assert.ok(
          h2.goaway !== undefined || h2.stream(extra).resetCode === ErrorCode.refusedStream,
          `the stream past the limit: ${describeStream(h2.stream(extra))}`,
        );
        assert.equal(h2.stream(extra).status, undefined, "the stream past the limit was served");
        assert.ok(srv.server.activeCallCount <= maxConcurrentStreams);
      } finally {
        h2.destroy();
      }
      await waitFor(() => srv.server.activeCallCount === 0, "the streams to end on the server");
      const other = await connectH2({ url: srv.url });
      try {
        await other.settings();
        assert.equal(await healthOn(other), 200);
      } finally {
        other.destroy();
      }
    });

    it("lets no more than SETTINGS_MAX_CONCURRENT_STREAMS of a flood of 500 HEADERS reach the server", async () => {
      const h2 = await connectH2({ url: srv.url });
      try {
        await h2.settings();
        for (let i = 0; i < 500; i++) {
          h2.request({ ...grpcHeaders }, { endStream: false });
        }
        await h2.waitUntil(
          () =>
            h2.isClosed ||
            h2.frames.filter((f) => f.type === FrameType.rstStream).length >=
              500 - maxConcurrentStreams,
          "the streams past the limit to be refused",
        );
        // The streams let in stay open (their bodies never end): the count
        // now is how many reached the server.
        const highest = srv.server.activeCallCount;
        assert.ok(highest <= maxConcurrentStreams, `${highest} streams reached the server at once`);
      } finally {
        h2.destroy();
      }
    });

    it("refuses an HTTP/2 header list over the limit, and the connection goes on", async () => {
      const h2 = await connectH2({ url: srv.url });
      try {
        await h2.settings();
        const calls = srv.server.activeCallCount;
        const id = h2.request({ ...get("/healthz"), "x-big": "b".repeat(2 * maxHeaderBytes) });
        await h2.waitUntil(
          () => h2.stream(id).ended || h2.stream(id).resetCode !== undefined || h2.isClosed,
          "the oversized request to be answered",
        );
        const state = h2.stream(id);
        assert.ok(
          state.resetCode !== undefined || state.status === 431,
          `an oversized header list was served: ${describeStream(state)}`,
        );
        assert.equal(srv.server.activeCallCount, calls);
        assert.equal(await healthOn(h2), 200);
      } finally {
        h2.destroy();
      }
    });

    it("answers 431 to an HTTP/1.1 header block over the limit", async () => {
      const raw = await rawSocket(srv.url);
      raw.write(
        `GET /healthz HTTP/1.1\r\nHost: robustness\r\nX-Big: ${"b".repeat(2 * maxHeaderBytes)}\r\n\r\n`,
      );
      await waitForSocketClose(raw.socket, "an oversized HTTP/1.1 header block");
      assert.equal(http1Status(raw.received()), 431, raw.received().slice(0, 200));
    });

    it("sends GOAWAY ENHANCE_YOUR_CALM to a client that resets handled streams past --max-reset-streams", async () => {
      const before = await connectionsClosed(srv.url, "rapid_reset");
      const h2 = await connectH2({ url: srv.url });
      try {
        await h2.settings();
        let resets = 0;
        for (let i = 0; i < 3 * maxResetStreams && h2.goaway === undefined && !h2.isClosed; i++) {
          // noise-100k × 32 (3.2 MB) is more than the client's 64 KiB window
          // and the server's 2 MiB write-ahead: the handler is still running
          // when the client resets the stream.
          const id = h2.request(grpcHeaders, {
            body: grpcBody(`rapid reset ${i}`, 32, "noise-100k"),
          });
          await h2.waitUntil(
            () => h2.stream(id).status !== undefined || h2.goaway !== undefined || h2.isClosed,
            `the response headers of stream ${id} (it reached the handler)`,
          );
          if (h2.goaway !== undefined || h2.isClosed) break;
          h2.reset(id);
          resets++;
        }
        await h2.waitUntil(() => h2.goaway !== undefined || h2.isClosed, "GOAWAY");
        assert.ok(h2.goaway, `no GOAWAY after ${resets} resets past a limit of ${maxResetStreams}`);
        assert.equal(
          h2.goaway.errorCode,
          ErrorCode.enhanceYourCalm,
          `GOAWAY ${errorCodeName(h2.goaway.errorCode)}`,
        );
        assert.ok(resets >= maxResetStreams, `GOAWAY after only ${resets} resets`);
        await waitForSocketClose(h2.socket, "the connection after GOAWAY");
        assert.ok(
          (await connectionsClosed(srv.url, "rapid_reset")) > before,
          "no rapid_reset close counted",
        );
      } finally {
        h2.destroy();
      }
    });

    it("does not count streams that complete: 3 × --max-reset-streams calls on one connection", async () => {
      const h2 = await connectH2({ url: srv.url, autoWindowUpdate: true });
      try {
        await h2.settings();
        for (let i = 0; i < 3 * maxResetStreams; i++) {
          const id = h2.request(grpcHeaders, { body: grpcBody(`completed ${i}`, 1) });
          await h2.waitUntil(
            () => h2.stream(id).ended || h2.stream(id).resetCode !== undefined || h2.isClosed,
            `call ${i}`,
          );
          assert.ok(h2.stream(id).ended, `call ${i}: ${describeStream(h2.stream(id))}`);
        }
        assert.equal(h2.goaway, undefined);
        assert.equal(await healthOn(h2), 200);
      } finally {
        h2.destroy();
      }
    });
  });
});
