/**
 * The raw HTTP/2 client of the robustness tests, checked against Node's own
 * HTTP/2 server (nghttp2), over h2c and TLS: what it writes is what a real
 * server reads, and what it reads is what a real server wrote.
 */
import assert from "node:assert/strict";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { makeCertificate, makeTempDir } from "../support/index.js";
import {
  connectH2,
  continuationFrame,
  dataFrame,
  decodeHeaderBlock,
  ErrorCode,
  encodeHeaderBlock,
  FrameType,
  headersFrame,
  Setting,
} from "./h2/index.js";

/** What the reference server saw of the last request. */
interface Seen {
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

function startReference(secure: { cert: string; key: string } | undefined) {
  const seen: Seen[] = [];
  const onStream = (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    const parts: Buffer[] = [];
    stream.on("data", (part: Buffer) => parts.push(part));
    stream.on("error", () => {});
    stream.on("end", () => {
      seen.push({ headers, body: Buffer.concat(parts) });
      const status = Number(headers["x-status"] ?? 200);
      stream.respond({ ":status": status, "retry-after": "17", "x-text": "not digits" });
      stream.end("hello");
    });
  };
  const server = secure
    ? http2.createSecureServer({ ...secure, settings: { maxConcurrentStreams: 7 } })
    : http2.createServer({ settings: { maxConcurrentStreams: 7 } });
  server.on("stream", onStream);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.on("error", () => {});
    session.once("close", () => sessions.delete(session));
  });
  return new Promise<{ url: string; seen: Seen[]; close(): Promise<void> }>((resolve) => {
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `${secure ? "https" : "http"}://127.0.0.1:${port}`,
        seen,
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            for (const session of sessions) session.destroy();
          }),
      });
    });
  });
}

describe("the raw HTTP/2 client against Node's HTTP/2 server", () => {
  let dir: Awaited<ReturnType<typeof makeTempDir>>;
  let cert: Awaited<ReturnType<typeof makeCertificate>>;
  before(async () => {
    dir = await makeTempDir();
    cert = await makeCertificate(dir.path);
  });
  after(async () => {
    await dir.remove();
  });

  for (const secure of [false, true]) {
    describe(secure ? "TLS (ALPN h2)" : "h2c", () => {
      let reference: Awaited<ReturnType<typeof startReference>>;
      before(async () => {
        const { readFile } = await import("node:fs/promises");
        reference = await startReference(
          secure ? { cert: cert.cert, key: await readFile(cert.keyPath, "utf8") } : undefined,
        );
      });
      after(async () => {
        await reference.close();
      });

      it("reads the server's SETTINGS, sends a request it reads, and reads the response", async () => {
        const h2 = await connectH2({ url: reference.url, ca: cert.cert });
        try {
          const settings = await h2.settings();
          assert.equal(settings.get(Setting.maxConcurrentStreams), 7);
          const id = h2.request(
            {
              ":method": "POST",
              ":scheme": "http",
              ":path": "/x",
              ":authority": "a",
              "x-status": "431",
            },
            { body: Buffer.from("body bytes"), keepData: true },
          );
          await h2.waitUntil(() => h2.stream(id).ended, "the response");
          const state = h2.stream(id);
          assert.equal(state.status, 431);
          assert.equal(Buffer.concat(state.data).toString(), "hello");
          const fields = decodeHeaderBlock(state.headerBlocks[0] as Buffer);
          assert.deepEqual(
            fields.find(([name]) => name === "retry-after"),
            ["retry-after", "17"],
          );
          assert.ok(
            fields.some(([, value]) => value === undefined),
            "a Huffman text value reads as undefined",
          );
          const last = reference.seen.at(-1);
          assert.equal(last?.headers[":path"], "/x");
          assert.equal(last?.headers["x-status"], "431");
          assert.equal(last?.body.toString(), "body bytes");
        } finally {
          h2.destroy();
        }
      });

      it("sends a header block cut into HEADERS and CONTINUATION frames", async () => {
        const h2 = await connectH2({ url: reference.url, ca: cert.cert });
        try {
          const id = h2.nextStreamId();
          const block = encodeHeaderBlock({
            ":method": "POST",
            ":scheme": "http",
            ":path": "/pieces",
            ":authority": "a",
            "x-long": "v".repeat(40),
          });
          // Four pieces: nghttp2 takes a handful of CONTINUATION frames per
          // block and ends the connection past that (a CONTINUATION flood).
          const step = Math.ceil(block.length / 4);
          h2.send(headersFrame(id, block.subarray(0, step), { endHeaders: false }));
          for (let i = step; i < block.length; i += step) {
            h2.send(continuationFrame(id, block.subarray(i, i + step), i + step >= block.length));
          }
          h2.send(dataFrame(id, Buffer.from("z"), true));
          await h2.waitUntil(() => h2.stream(id).ended, "the response");
          assert.equal(h2.stream(id).status, 200);
          assert.equal(reference.seen.at(-1)?.headers["x-long"], "v".repeat(40));
        } finally {
          h2.destroy();
        }
      });

      it("sees a RST_STREAM and a GOAWAY with their codes", async () => {
        const h2 = await connectH2({ url: reference.url, ca: cert.cert });
        try {
          await h2.settings();
          // DATA on a stream that was never opened: a connection error.
          h2.send(dataFrame(99, Buffer.from("x")));
          await h2.waitUntil(() => h2.goaway !== undefined, "GOAWAY");
          assert.equal(h2.goaway?.errorCode, ErrorCode.protocolError);
          assert.ok(h2.frames.some((frame) => frame.type === FrameType.goaway));
        } finally {
          h2.destroy();
        }
      });
    });
  }
});
