/**
 * Every connection that stalls is closed at its timeout, over HTTP/1.1,
 * h2c and TLS alike: a connection that sends nothing, half a preface, half
 * a request line, headers one byte at a time, a body slower than its
 * Content-Length, a chunked body that never ends, an idle keep-alive
 * connection, an idle HTTP/2 session, a silent HTTP/2 connection that does
 * not answer PING, a TLS handshake that stalls. The server gets small
 * timeouts through ServerOptions; each case waits on the socket's close
 * event (the limit only stops a broken test from hanging) and on the
 * counter of server-side closes, by reason.
 */
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import http2 from "node:http2";
import type net from "node:net";
import { after, before, describe, it } from "node:test";
import { create, toBinary } from "@bufbuild/protobuf";
import { InferenceRequestSchema } from "../../src/gen/modelmora/inference_pb.js";
import type { ServerOptions } from "../../src/server/index.js";
import {
  envelope,
  makeCertificate,
  makeTempDir,
  startServer,
  type TestServer,
} from "../support/index.js";
import {
  connectH2,
  dataFrame,
  encodeHeaderBlock,
  Flag,
  FrameType,
  type H2Connection,
  headersFrame,
} from "./h2/index.js";
import {
  connectionsClosed,
  http1Status,
  openSocketTo,
  type RawSocket,
  rawSocket,
  waitForSocketClose,
} from "./support.js";

/** Every connection-level timeout of the server under test, in ms. */
const timeoutMs = 500;
/** How long a stalled connection may stay open before the test calls it a finding. */
const closeLimitMs = 15_000;

const timeouts: ServerOptions = {
  firstByteTimeoutMs: timeoutMs,
  tlsHandshakeTimeoutMs: timeoutMs,
  headersTimeoutMs: timeoutMs,
  bodyTimeoutMs: timeoutMs,
  keepAliveTimeoutMs: timeoutMs,
  idleTimeoutMs: timeoutMs,
  pingTimeoutMs: timeoutMs,
  // Long, so a stalled response is ended by the PING check, not by this.
  streamIdleTimeoutMs: 120_000,
};

const streamPath = "/modelmora.InferenceService/StreamInference";

function inferenceMessage(modelId = "thumb-64", batchSize = 1): Buffer {
  return Buffer.from(
    toBinary(
      InferenceRequestSchema,
      create(InferenceRequestSchema, { modelId, prompt: "timeouts", batchSize }),
    ),
  );
}

/** Sends text one byte per interval until the socket closes or the text runs out. */
function trickle(raw: RawSocket, text: string, intervalMs = 50): void {
  let i = 0;
  const timer = setInterval(() => {
    if (raw.socket.destroyed || i >= text.length) {
      clearInterval(timer);
      return;
    }
    raw.write(text.slice(i, i + 1));
    i++;
  }, intervalMs);
  raw.socket.once("close", () => clearInterval(timer));
}

/** The context of one case: the server and how to reach it. */
interface Context {
  srv: TestServer;
  /** The server's URL; https for TLS. */
  url: string;
  ca?: string;
  tls: boolean;
}

/** One stalled connection: what it sends, and what must happen. */
interface StallCase {
  name: string;
  /** The transports it runs over. */
  over: readonly ("cleartext" | "tls")[];
  /** The reason modelmora_connections_closed_total counts the close under. */
  reason: string;
  /** Opens the connection and sends what stalls; returns the socket to watch. */
  stall(ctx: Context): Promise<{ socket: net.Socket; check?: () => void | Promise<void> }>;
}

const slowHeaders = `GET /healthz HTTP/1.1\r\nHost: robustness\r\nX-Slow: ${"a".repeat(400)}\r\n\r\n`;

/** A raw HTTP/1.1 connection: TCP, or TLS with ALPN http/1.1. */
function http1(ctx: Context): Promise<RawSocket> {
  return rawSocket(ctx.url, { ca: ctx.ca, alpn: ["http/1.1"] });
}

/** Checks an HTTP/1.1 answer to a request cut off by a timeout: nothing, or 408. */
function expect408OrNothing(raw: RawSocket): () => void {
  return () => {
    const text = raw.received();
    if (text !== "") {
      assert.equal(http1Status(text), 408, `the answer was not 408: ${text.slice(0, 200)}`);
    }
  };
}

/** Checks a REST 408 with the body-timeout error. */
function expectBodyTimeout(raw: RawSocket): () => void {
  return () => {
    const text = raw.received();
    assert.equal(http1Status(text), 408, `expected 408, got: ${text.slice(0, 300)}`);
    assert.match(text, /"code":"deadline_exceeded"/);
    assert.match(text, new RegExp(`request body not received within ${timeoutMs} ms`));
  };
}

const cases: StallCase[] = [
  {
    name: "a connection that sends nothing",
    over: ["cleartext"],
    reason: "first_byte_timeout",
    async stall(ctx) {
      const raw = await openSocketTo(ctx.url);
      return { socket: raw };
    },
  },
  {
    name: "half an HTTP/2 preface",
    over: ["cleartext"],
    reason: "first_byte_timeout",
    async stall(ctx) {
      const raw = await openSocketTo(ctx.url);
      raw.write("PRI * HTTP/2.0\r\n");
      return { socket: raw };
    },
  },
  {
    name: "a TLS connection that sends nothing",
    over: ["tls"],
    reason: "tls_handshake_timeout",
    async stall(ctx) {
      return { socket: await openSocketTo(ctx.url) };
    },
  },
  {
    name: "a TLS handshake that stalls after part of the ClientHello",
    over: ["tls"],
    reason: "tls_handshake_timeout",
    async stall(ctx) {
      const raw = await openSocketTo(ctx.url);
      raw.write(Buffer.from("16030100c8010000c40303", "hex"));
      return { socket: raw };
    },
  },
  {
    name: "HTTP/1.1: half a request line",
    over: ["cleartext", "tls"],
    reason: "headers_timeout",
    async stall(ctx) {
      const raw = await http1(ctx);
      raw.write("GET /hea");
      return { socket: raw.socket, check: expect408OrNothing(raw) };
    },
  },
  {
    name: "HTTP/1.1: headers at one byte per 50 ms",
    over: ["cleartext", "tls"],
    reason: "headers_timeout",
    async stall(ctx) {
      const raw = await http1(ctx);
      trickle(raw, slowHeaders);
      return { socket: raw.socket, check: expect408OrNothing(raw) };
    },
  },
  {
    name: "HTTP/1.1: a REST body slower than its Content-Length",
    over: ["cleartext", "tls"],
    reason: "body_timeout",
    async stall(ctx) {
      const raw = await http1(ctx);
      raw.write(
        'POST /infer/stream HTTP/1.1\r\nHost: robustness\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model_id":',
      );
      return { socket: raw.socket, check: expectBodyTimeout(raw) };
    },
  },
  {
    name: "HTTP/1.1: a REST chunked body that never ends",
    over: ["cleartext", "tls"],
    reason: "body_timeout",
    async stall(ctx) {
      const raw = await http1(ctx);
      raw.write(
        'POST /infer/stream HTTP/1.1\r\nHost: robustness\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"mod\r\n',
      );
      return { socket: raw.socket, check: expectBodyTimeout(raw) };
    },
  },
  {
    name: "HTTP/1.1: a gRPC-Web body slower than its Content-Length",
    over: ["cleartext"],
    reason: "body_timeout",
    async stall(ctx) {
      const raw = await http1(ctx);
      const body = envelope(inferenceMessage());
      raw.write(
        `POST ${streamPath} HTTP/1.1\r\nHost: robustness\r\nContent-Type: application/grpc-web+proto\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      raw.write(body.subarray(0, 4));
      return {
        socket: raw.socket,
        check() {
          const text = raw.received();
          // gRPC-Web reports the status in the headers (trailers-only) or a
          // trailer frame; either way it says grpc-status 4.
          assert.match(text, /grpc-status:\s*4/i, `no DEADLINE_EXCEEDED in: ${text.slice(0, 400)}`);
          const message = /grpc-message:\s*([^\r\n]*)/i.exec(text)?.[1] ?? "";
          assert.match(decodeURIComponent(message), /request body not received within/);
        },
      };
    },
  },
  {
    name: "HTTP/1.1: an idle keep-alive connection",
    over: ["cleartext", "tls"],
    reason: "idle_timeout",
    async stall(ctx) {
      const raw = await http1(ctx);
      raw.write("GET /healthz HTTP/1.1\r\nHost: robustness\r\n\r\n");
      await new Promise<void>((resolve) => {
        const check = () => {
          if (/\r\n\r\n\{.*\}/s.test(raw.received())) {
            raw.socket.off("data", check);
            resolve();
          }
        };
        raw.socket.on("data", check);
      });
      assert.equal(http1Status(raw.received()), 200);
      return { socket: raw.socket };
    },
  },
  {
    name: "HTTP/2: a session that never opens a stream",
    over: ["cleartext", "tls"],
    // Like HTTP/1.1's headers: the first stream must open in time.
    reason: "headers_timeout",
    async stall(ctx) {
      const h2 = await connectH2({ url: ctx.url, ca: ctx.ca });
      await h2.settings();
      return { socket: h2.socket };
    },
  },
  {
    name: "HTTP/2: an idle session after its last stream ended (GOAWAY, then close)",
    over: ["cleartext", "tls"],
    reason: "idle_timeout",
    async stall(ctx) {
      const h2 = await connectH2({ url: ctx.url, ca: ctx.ca, autoWindowUpdate: true });
      const id = h2.request({
        ":method": "GET",
        ":scheme": ctx.tls ? "https" : "http",
        ":path": "/healthz",
        ":authority": "robustness",
      });
      await h2.waitUntil(() => h2.stream(id).ended, "GET /healthz");
      assert.equal(h2.stream(id).status, 200);
      return { socket: h2.socket, check: () => assert.ok(h2.goaway, "no GOAWAY before the close") };
    },
  },
  {
    name: "HTTP/2: a header block whose CONTINUATION never comes",
    over: ["cleartext", "tls"],
    // No stream opens until the header block ends.
    reason: "headers_timeout",
    async stall(ctx) {
      const h2 = await connectH2({ url: ctx.url, ca: ctx.ca });
      const block = encodeHeaderBlock({
        ":method": "GET",
        ":scheme": "http",
        ":path": "/healthz",
        ":authority": "robustness",
      });
      h2.send(headersFrame(h2.nextStreamId(), block.subarray(0, 5), { endHeaders: false }));
      return { socket: h2.socket };
    },
  },
  {
    name: "HTTP/2: a REST body slower than its content-length (408, then the idle session closes)",
    over: ["cleartext", "tls"],
    reason: "idle_timeout",
    async stall(ctx) {
      const h2 = await connectH2({ url: ctx.url, ca: ctx.ca });
      const id = h2.request(
        {
          ":method": "POST",
          ":scheme": ctx.tls ? "https" : "http",
          ":path": "/infer/stream",
          ":authority": "robustness",
          "content-type": "application/json",
          "content-length": "100",
        },
        { endStream: false, keepData: true },
      );
      h2.send(dataFrame(id, Buffer.from('{"model_id":')));
      return {
        socket: h2.socket,
        check() {
          const state = h2.stream(id);
          assert.equal(state.status, 408, `the stream got ${state.status ?? "no status"}`);
          assert.match(Buffer.concat(state.data).toString(), /request body not received within/);
        },
      };
    },
  },
  {
    name: "HTTP/2: a silent connection with an open stream that does not answer PING",
    over: ["cleartext", "tls"],
    reason: "ping_timeout",
    async stall(ctx) {
      // The client never opens its window, so the stream stays open with
      // nothing to send; it does not answer the server's PING either.
      const h2 = await connectH2({ url: ctx.url, ca: ctx.ca, autoAck: false });
      h2.request(
        {
          ":method": "POST",
          ":scheme": ctx.tls ? "https" : "http",
          ":path": streamPath,
          ":authority": "robustness",
          "content-type": "application/grpc",
          te: "trailers",
        },
        { body: envelope(inferenceMessage("noise-1000", 4)) },
      );
      return {
        socket: h2.socket,
        check: () =>
          assert.ok(
            h2.frames.some(
              (frame) => frame.type === FrameType.ping && (frame.flags & Flag.ack) === 0,
            ),
            "the server closed the connection without a PING first",
          ),
      };
    },
  },
];

for (const over of ["cleartext", "tls"] as const) {
  describe(`timeouts close stalled connections (${over})`, () => {
    const ctx = {} as Context;
    let removeDir: (() => Promise<void>) | undefined;
    before(async () => {
      let tls: { cert: string; key: string } | undefined;
      if (over === "tls") {
        const dir = await makeTempDir();
        removeDir = dir.remove;
        const cert = await makeCertificate(dir.path);
        tls = { cert: cert.cert, key: await readFile(cert.keyPath, "utf8") };
        ctx.ca = cert.cert;
      }
      ctx.srv = await startServer({ ...timeouts, tls });
      ctx.url = ctx.srv.url;
      ctx.tls = over === "tls";
    });
    after(async () => {
      await ctx.srv.server.close(0);
      await removeDir?.();
    });

    for (const stallCase of cases.filter((c) => c.over.includes(over))) {
      it(`closes ${stallCase.name} (${stallCase.reason})`, async () => {
        const target = { url: ctx.url, ca: ctx.ca };
        const before = await connectionsClosed(target, stallCase.reason);
        const { socket, check } = await stallCase.stall(ctx);
        await waitForSocketClose(socket, stallCase.name, closeLimitMs);
        await check?.();
        assert.ok(
          (await connectionsClosed(target, stallCase.reason)) > before,
          `modelmora_connections_closed_total{reason="${stallCase.reason}"} did not grow`,
        );
      });
    }

    it("keeps checking a silent HTTP/2 connection: answered PINGs keep it, the first unanswered one closes it (ping_timeout)", async () => {
      const before = await connectionsClosed({ url: ctx.url, ca: ctx.ca }, "ping_timeout");
      const h2: H2Connection = await connectH2({ url: ctx.url, ca: ctx.ca });
      try {
        h2.request(
          {
            ":method": "POST",
            ":scheme": ctx.tls ? "https" : "http",
            ":path": streamPath,
            ":authority": "robustness",
            "content-type": "application/grpc",
            te: "trailers",
          },
          { body: envelope(inferenceMessage("noise-1000", 4)) },
        );
        const pings = () =>
          h2.frames.filter(
            (frame) => frame.type === FrameType.ping && (frame.flags & Flag.ack) === 0,
          ).length;
        // The client answers the first PING, then goes silent for good.
        await h2.waitUntil(() => pings() >= 1 || h2.isClosed, "a first PING", closeLimitMs);
        assert.equal(h2.isClosed, false, "the server closed the connection before any PING");
        h2.autoAck = false;
        await h2.waitUntil(() => pings() >= 2 || h2.isClosed, "a second PING", closeLimitMs);
        assert.equal(h2.isClosed, false, "the server closed a connection that answered its PING");
        await waitForSocketClose(
          h2.socket,
          "a connection that stopped answering PING",
          closeLimitMs,
        );
        assert.ok(
          (await connectionsClosed({ url: ctx.url, ca: ctx.ca }, "ping_timeout")) > before,
          'no close counted under reason="ping_timeout"',
        );
      } finally {
        h2.destroy();
      }
    });

    it("times out a gRPC body that stalls, over HTTP/2 (DEADLINE_EXCEEDED)", async () => {
      const session = http2.connect(ctx.url, { ca: ctx.ca });
      session.on("error", () => {});
      try {
        const stream = session.request({
          ":method": "POST",
          ":path": streamPath,
          "content-type": "application/grpc",
          te: "trailers",
        });
        stream.on("error", () => {});
        stream.write(envelope(inferenceMessage()).subarray(0, 4));
        const status = await new Promise<{ code?: string; message?: string }>((resolve) => {
          const read = (headers: http2.IncomingHttpHeaders) => {
            if (headers["grpc-status"] !== undefined) {
              resolve({
                code: String(headers["grpc-status"]),
                message: decodeURIComponent(String(headers["grpc-message"] ?? "")),
              });
            }
          };
          stream.on("response", read);
          stream.on("trailers", read);
          stream.on("close", () => resolve({}));
          stream.resume();
        });
        assert.equal(status.code, "4", `grpc-status: ${status.code} ${status.message}`);
        assert.match(
          status.message ?? "",
          new RegExp(`request body not received within ${timeoutMs} ms`),
        );
      } finally {
        session.destroy();
      }
    });
  });
}
