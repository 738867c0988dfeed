import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { AnyRequest, AnyResponse } from "./rest-route.js";

/** TLS material, PEM-encoded. */
export interface TlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Options for createListener. */
export interface ListenerOptions {
  /**
   * Serve HTTPS, negotiating h2 or http/1.1 by ALPN. Without it the
   * listener serves cleartext HTTP/1.1 and HTTP/2 with prior knowledge.
   */
  tls?: TlsOptions;
  /** SETTINGS the server sends on every HTTP/2 connection. */
  http2Settings?: http2.Settings;
  /**
   * Receive window of each HTTP/2 connection, in bytes (Node's default is
   * 65,535, set by the protocol). Applied as each session starts.
   */
  connectionWindowBytes?: number;
}

/** One port that speaks HTTP/1.1 and HTTP/2, with or without TLS. */
export interface Listener {
  /** Starts accepting connections. Resolves with the bound port. */
  listen(port: number, host: string): Promise<net.AddressInfo>;
  /**
   * Stops accepting connections, lets requests in flight finish for up to
   * graceMs, then destroys the connections that are left.
   */
  close(graceMs: number): Promise<void>;
  /** Open connections, for tests that check nothing leaks. */
  readonly connectionCount: number;
}

// RFC 9113 §3.4: every HTTP/2 connection without TLS opens with these 24
// bytes, which no HTTP/1.x request line can start with.
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

type Handler = (req: AnyRequest, res: AnyResponse) => void;

/** Creates a listener that sends every request to handler. */
export function createListener(handler: Handler, options: ListenerOptions = {}): Listener {
  const sockets = new Set<net.Socket>();
  const sessions = new Set<http2.Http2Session>();
  const h2Options = { settings: options.http2Settings };

  const onSession = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.on("error", () => {});
    session.once("close", () => sessions.delete(session));
    if (options.connectionWindowBytes !== undefined) {
      session.setLocalWindowSize(options.connectionWindowBytes);
    }
  };

  let server: net.Server;
  let http1: http.Server | undefined;
  if (options.tls !== undefined) {
    // Node's secure HTTP/2 server does the ALPN negotiation itself and hands
    // http/1.1 connections to its HTTP/1 code when allowHTTP1 is set.
    const secure = http2.createSecureServer(
      { ...h2Options, ...options.tls, allowHTTP1: true, ALPNProtocols: ["h2", "http/1.1"] },
      handler,
    );
    secure.on("session", onSession);
    server = secure;
  } else {
    // Node's cleartext HTTP/2 server has no HTTP/1 fallback, so one TCP
    // server peeks at the first bytes of each connection and hands it to
    // the HTTP/2 or the HTTP/1 server.
    const h2 = http2.createServer(h2Options, handler);
    h2.on("session", onSession);
    http1 = http.createServer(handler);
    const h1 = http1;
    server = net.createServer((socket) => {
      let head = Buffer.alloc(0);
      const onData = (data: Buffer) => {
        head = Buffer.concat([head, data]);
        const compared = Math.min(head.length, http2Preface.length);
        const isHttp2 = head.subarray(0, compared).equals(http2Preface.subarray(0, compared));
        if (isHttp2 && head.length < http2Preface.length) {
          return; // A partial preface: wait for more bytes.
        }
        socket.off("data", onData);
        socket.pause();
        // Give the bytes back so the chosen server reads them as if first.
        socket.unshift(head);
        (isHttp2 ? h2 : h1).emit("connection", socket);
        if (!isHttp2) {
          socket.resume();
        }
      };
      socket.on("data", onData);
    });
  }

  server.on("connection", (socket: net.Socket) => {
    // A peer that resets the connection (before its first byte, say) makes
    // the socket emit "error"; without a listener that would end the process.
    // The socket closes either way, which is all there is to do.
    socket.on("error", () => {});
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    // Streams of 1 MB chunks gain nothing from Nagle's algorithm.
    socket.setNoDelay(true);
  });

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        const onError = (err: Error) => reject(err);
        server.once("error", onError);
        server.listen(port, host, () => {
          server.off("error", onError);
          resolve(server.address() as net.AddressInfo);
        });
      });
    },
    async close(graceMs) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) {
        // GOAWAY: the client opens no new streams; open ones may finish.
        session.close();
      }
      http1?.closeIdleConnections();
      const deadline = Date.now() + graceMs;
      while (sockets.size > 0 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 25));
        http1?.closeIdleConnections();
      }
      for (const socket of sockets) {
        socket.destroy();
      }
      await closed;
    },
    get connectionCount() {
      return sockets.size;
    },
  };
}
