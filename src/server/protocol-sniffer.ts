import type net from "node:net";

// RFC 9113 §3.4: every HTTP/2 connection without TLS opens with these 24
// bytes, which no HTTP/1.x request line can start with.
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** What sniffHttpVersion does with a connection once it knows its version. */
export interface SnifferOptions {
  /** How long the first bytes may take, ms; then the socket is destroyed. */
  readonly timeoutMs: number;
  /** Called when the first bytes did not come in time (before the socket is destroyed). */
  onTimeout(): void;
  /** Hands over an HTTP/2 connection, its first bytes given back to it. */
  http2(socket: net.Socket): void;
  /** Hands over an HTTP/1 connection, its first bytes given back to it. */
  http1(socket: net.Socket): void;
}

/**
 * Reads the first bytes of a cleartext connection until they tell HTTP/2
 * prior knowledge (the whole 24-byte preface) from HTTP/1 (anything else),
 * then hands the socket on with those bytes unread again. Node's cleartext
 * HTTP/2 server has no HTTP/1 fallback, so one TCP server does this for
 * both. Returns a function that stops waiting (at shutdown).
 */
export function sniffHttpVersion(socket: net.Socket, options: SnifferOptions): () => void {
  let head = Buffer.alloc(0);
  const timer = setTimeout(() => {
    options.onTimeout();
    socket.destroy();
  }, options.timeoutMs);
  const done = () => {
    clearTimeout(timer);
    socket.off("data", onData);
    socket.off("close", done);
  };
  function onData(data: Buffer): void {
    head = Buffer.concat([head, data]);
    const compared = Math.min(head.length, http2Preface.length);
    const isHttp2 = head.subarray(0, compared).equals(http2Preface.subarray(0, compared));
    if (isHttp2 && head.length < http2Preface.length) {
      return; // A partial preface: wait for more bytes.
    }
    done();
    socket.pause();
    // Give the bytes back so the chosen server reads them as if first.
    socket.unshift(head);
    if (isHttp2) {
      options.http2(socket);
    } else {
      options.http1(socket);
      socket.resume();
    }
  }
  socket.on("data", onData);
  socket.once("close", done);
  return done;
}
