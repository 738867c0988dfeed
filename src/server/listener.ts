import { EventEmitter, once } from "node:events";
import http, { STATUS_CODES } from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { CloseReason } from "../observability/index.js";
import type { AnyRequest, AnyResponse } from "./http-types.js";

/** TLS material, PEM-encoded. */
export interface TlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Options for createListener; see ServerOptions for what each means and its default. */
export interface ListenerOptions {
  /** Serve HTTPS, negotiating h2 or http/1.1 by ALPN; else cleartext HTTP/1.1 and h2 prior knowledge. */
  tls?: TlsOptions;
  windowBytes: number;
  maxConcurrentStreams: number;
  maxHeaderBytes: number;
  maxResetStreams: number;
  firstByteTimeoutMs: number;
  tlsHandshakeTimeoutMs: number;
  headersTimeoutMs: number;
  bodyTimeoutMs: number;
  keepAliveTimeoutMs: number;
  idleTimeoutMs: number;
  pingTimeoutMs: number;
  /** Called each time the server closes a connection itself, with the reason. */
  onClose(reason: CloseReason): void;
}

/** One port that speaks HTTP/1.1 and HTTP/2, with or without TLS. */
export interface Listener {
  /** Starts accepting connections. Resolves with the bound address. */
  listen(port: number, host: string): Promise<net.AddressInfo>;
  /**
   * Stops accepting connections, closes those that carry no request now
   * (never sent a byte, idle keep-alive, HTTP/2 without a stream) and the
   * others as their last request ends (HTTP/2: GOAWAY first).
   */
  drain(): void;
  /** Resolves once every connection has closed. */
  closed(): Promise<void>;
  /** Destroys every connection left, giving `reason` to the metrics. */
  destroyAll(reason: CloseReason): void;
  /** Counts an HTTP/2 stream its client reset after it reached a handler (rapid-reset protection). */
  streamReset(req: AnyRequest): void;
  /** Open connections. */
  readonly connectionCount: number;
}

// RFC 9113 §3.4: every HTTP/2 connection without TLS opens with these 24
// bytes, which no HTTP/1.x request line can start with.
const http2Preface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** The window over which client resets of HTTP/2 streams are counted, ms. */
const resetWindowMs = 10_000;

type Handler = (req: AnyRequest, res: AnyResponse) => void;

/** Creates a listener that sends every request to handler. */
export function createListener(handler: Handler, options: ListenerOptions): Listener {
  const sockets = new Set<net.Socket>();
  const undecided = new Set<net.Socket>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const resets = new WeakMap<http2.Http2Session, number[]>();
  const events = new EventEmitter();
  let draining = false;

  const h2Options: http2.ServerOptions = {
    settings: {
      initialWindowSize: options.windowBytes,
      maxConcurrentStreams: options.maxConcurrentStreams,
      maxHeaderListSize: options.maxHeaderBytes,
    },
  };
  const h1Settings = {
    headersTimeout: options.headersTimeoutMs,
    // Node's whole-request timeout, a backstop behind the body timeout of
    // the routes that read a body.
    requestTimeout: options.headersTimeoutMs + options.bodyTimeoutMs,
    keepAliveTimeout: options.keepAliveTimeoutMs,
    maxHeaderSize: options.maxHeaderBytes,
    // How often Node checks the header and request timeouts.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, options.headersTimeoutMs / 4)),
  };

  let server: net.Server;
  let h1: http.Server | undefined;
  if (options.tls !== undefined) {
    // Node's secure HTTP/2 server does the ALPN negotiation itself and hands
    // http/1.1 connections to its HTTP/1 code when allowHTTP1 is set; that
    // code reads its settings from the server object.
    const secure = http2.createSecureServer(
      {
        ...h2Options,
        ...options.tls,
        allowHTTP1: true,
        ALPNProtocols: ["h2", "http/1.1"],
        handshakeTimeout: options.tlsHandshakeTimeoutMs,
      },
      handler,
    );
    Object.assign(secure, h1Settings);
    watchHttp1(secure as unknown as http.Server);
    secure.on("session", guardSession);
    server = secure;
  } else {
    // Node's cleartext HTTP/2 server has no HTTP/1 fallback, so one TCP
    // server reads the first bytes of each connection and hands it to the
    // HTTP/2 or the HTTP/1 server.
    const h2 = http2.createServer(h2Options, handler);
    h2.on("session", guardSession);
    h1 = http.createServer(h1Settings, handler);
    watchHttp1(h1);
    // Node starts checking header and request timeouts when its server
    // emits "listening". This one never listens (connections come from the
    // TCP server above), so it is told it does.
    h1.emit("listening");
    const http1Server = h1;
    server = net.createServer((socket) => decide(socket, h2, http1Server));
  }

  server.on("connection", (socket: net.Socket) => {
    // A peer that resets the connection (before its first byte, say) makes
    // the socket emit "error"; without a listener that would end the process.
    // The socket closes either way, which is all there is to do.
    socket.on("error", () => {});
    if (draining) {
      socket.destroy();
      return;
    }
    sockets.add(socket);
    socket.once("close", () => {
      sockets.delete(socket);
      if (sockets.size === 0) events.emit("closed");
    });
    // Streams of 1 MB chunks gain nothing from Nagle's algorithm.
    socket.setNoDelay(true);
  });

  /** Reads a cleartext connection's first bytes and hands it to HTTP/2 or HTTP/1. */
  function decide(socket: net.Socket, h2: http2.Http2Server, http1Server: http.Server): void {
    undecided.add(socket);
    let head = Buffer.alloc(0);
    const timer = setTimeout(() => {
      options.onClose("first_byte_timeout");
      socket.destroy();
    }, options.firstByteTimeoutMs);
    const done = () => {
      clearTimeout(timer);
      undecided.delete(socket);
      socket.off("data", onData);
      socket.off("close", done);
    };
    const onData = (data: Buffer) => {
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
      (isHttp2 ? h2 : http1Server).emit("connection", socket);
      if (!isHttp2) {
        socket.resume();
      }
    };
    socket.on("data", onData);
    socket.once("close", done);
  }

  /** Timeouts and errors of HTTP/1.1 connections, answered as Node would, and counted. */
  function watchHttp1(target: http.Server): void {
    target.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
      if (err.code === "ERR_TLS_HANDSHAKE_TIMEOUT") {
        options.onClose("tls_handshake_timeout");
      } else if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
        options.onClose("headers_timeout");
      }
      const status = httpStatusOfClientError(err.code);
      const response = socket as net.Socket & { _httpMessage?: { headersSent?: boolean } };
      if (status !== undefined && socket.writable && response._httpMessage?.headersSent !== true) {
        socket.end(
          `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
        );
      }
      socket.destroySoon();
    });
    // Emitted when a keep-alive connection was idle for keepAliveTimeoutMs.
    target.on("timeout", (socket: unknown) => {
      if (socket instanceof net.Socket) {
        options.onClose("idle_timeout");
        socket.destroy();
      }
    });
  }

  /**
   * Bounds an HTTP/2 connection in time: its first stream must open within
   * headersTimeoutMs, it may go idleTimeoutMs without a stream, and when its
   * socket is silent that long while streams are open it gets a PING that
   * must be answered within pingTimeoutMs.
   */
  function guardSession(session: http2.ServerHttp2Session): void {
    sessions.add(session);
    session.on("error", () => {});
    session.setLocalWindowSize(options.windowBytes);
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const closeFor = (reason: CloseReason) => {
      options.onClose(reason);
      session.destroy();
    };
    const arm = (ms: number, reason: CloseReason) => {
      clearTimeout(idle);
      idle = setTimeout(() => closeFor(reason), ms);
    };
    arm(options.headersTimeoutMs, "headers_timeout");
    session.on("stream", (stream) => {
      open += 1;
      clearTimeout(idle);
      stream.once("close", () => {
        open -= 1;
        if (open === 0 && !session.closed && !session.destroyed) {
          if (draining) session.close();
          else arm(options.idleTimeoutMs, "idle_timeout");
        }
      });
    });
    session.setTimeout(options.idleTimeoutMs, () => {
      if (open === 0) return;
      const unanswered = setTimeout(() => closeFor("ping_timeout"), options.pingTimeoutMs);
      const sent = session.ping((err) => {
        if (err === null) clearTimeout(unanswered);
      });
      if (!sent) clearTimeout(unanswered);
    });
    session.once("close", () => {
      clearTimeout(idle);
      sessions.delete(session);
    });
  }

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
    drain() {
      draining = true;
      server.close();
      for (const socket of undecided) {
        options.onClose("shutdown");
        socket.destroy();
      }
      (h1 ?? (server as unknown as http.Server)).closeIdleConnections();
      for (const session of sessions) {
        // GOAWAY: the client opens no new streams; open ones may finish.
        session.close();
      }
    },
    async closed() {
      if (sockets.size > 0) await once(events, "closed");
    },
    destroyAll(reason) {
      for (const socket of sockets) {
        options.onClose(reason);
        socket.destroy();
      }
    },
    streamReset(req) {
      if (!("stream" in req)) return;
      const session = req.stream.session;
      if (session === undefined || session.destroyed) return;
      const now = performance.now();
      const recent = (resets.get(session) ?? []).filter((at) => now - at < resetWindowMs);
      recent.push(now);
      resets.set(session, recent);
      if (recent.length > options.maxResetStreams) {
        options.onClose("rapid_reset");
        session.destroy(undefined, http2.constants.NGHTTP2_ENHANCE_YOUR_CALM);
      }
    },
    get connectionCount() {
      return sockets.size;
    },
  };
}

/** The status Node answers an HTTP/1.1 parse or timeout error with; undefined for a reset. */
function httpStatusOfClientError(code: string | undefined): number | undefined {
  switch (code) {
    case "ECONNRESET":
    case "ERR_TLS_HANDSHAKE_TIMEOUT":
      return undefined;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return 408;
    case "HPE_HEADER_OVERFLOW":
      return 431;
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return 413;
    default:
      return 400;
  }
}
