import { EventEmitter, once } from "node:events";
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { CloseReason } from "../observability/index.js";
import type { AnyRequest, AnyResponse } from "./http-types.js";
import { type Http1Bounds, http1Settings, watchHttp1 } from "./http1-timeouts.js";
import { createHttp2SessionGuard, type Http2Bounds } from "./http2-session-guard.js";
import { sniffHttpVersion } from "./protocol-sniffer.js";

/** TLS material, PEM-encoded. */
export interface TlsOptions {
  cert: string | Buffer;
  key: string | Buffer;
}

/** Options for createListener; see ServerOptions for what each means and its default. */
export interface ListenerOptions extends Http1Bounds, Http2Bounds {
  /** Serve HTTPS, negotiating h2 or http/1.1 by ALPN; else cleartext HTTP/1.1 and h2 prior knowledge. */
  tls?: TlsOptions;
  maxConcurrentStreams: number;
  maxConnections: number;
  /** The server's memory budget, bytes: also the bound of one HTTP/2 session's memory. */
  memoryBudgetBytes: number;
  firstByteTimeoutMs: number;
  tlsHandshakeTimeoutMs: number;
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
  /** Destroys every connection left. */
  destroyAll(): void;
  /** Counts an HTTP/2 stream its client reset after it reached a handler (rapid-reset protection). */
  streamReset(session: http2.Http2Session): void;
  /** Open connections. */
  readonly connectionCount: number;
}

type Handler = (req: AnyRequest, res: AnyResponse) => void;

/** Creates a listener that sends every request to handler. */
export function createListener(handler: Handler, options: ListenerOptions): Listener {
  const sockets = new Set<net.Socket>();
  const sniffing = new Map<net.Socket, () => void>();
  const sessions = new Set<http2.ServerHttp2Session>();
  const events = new EventEmitter();
  let draining = false;
  const sessionGuard = createHttp2SessionGuard(options, () => draining, options.onClose);
  const onSession = (session: http2.ServerHttp2Session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    sessionGuard.guard(session);
  };
  const { server, http1 } = createServers(handler, options, onSession, (socket, h1, h2) => {
    const stop = sniffHttpVersion(socket, {
      timeoutMs: options.firstByteTimeoutMs,
      onTimeout: () => options.onClose("first_byte_timeout"),
      http2(sniffed) {
        sniffing.delete(sniffed);
        h2.emit("connection", sniffed);
      },
      http1(sniffed) {
        sniffing.delete(sniffed);
        h1.emit("connection", sniffed);
      },
    });
    sniffing.set(socket, stop);
    socket.once("close", () => sniffing.delete(socket));
  });

  server.maxConnections = options.maxConnections;
  server.on("drop", () => options.onClose("connection_limit"));
  server.on("connection", (socket: net.Socket) => {
    if (draining) {
      socket.on("error", () => {});
      socket.destroy();
    } else {
      track(socket, sockets, events);
      // Every connection that closes once shutdown began closes for it:
      // at once when it carries no call, else as its last call ends.
      socket.once("close", () => {
        if (draining) options.onClose("shutdown");
      });
    }
  });

  return {
    listen(port, host) {
      return listenOn(server, port, host);
    },
    drain() {
      draining = true;
      server.close();
      for (const [socket, stop] of sniffing) {
        stop();
        socket.destroy();
      }
      http1.closeIdleConnections();
      for (const session of sessions) {
        // GOAWAY: the client opens no new streams; open ones may finish.
        session.close();
      }
    },
    async closed() {
      if (sockets.size > 0) await once(events, "closed");
    },
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
    streamReset(session) {
      sessionGuard.streamReset(session);
    },
    get connectionCount() {
      return sockets.size;
    },
  };
}

/** Binds `server`; rejects with the bind's error (a port in use, say). */
function listenOn(server: net.Server, port: number, host: string): Promise<net.AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once("error", onError);
    server.listen(port, host, () => {
      server.off("error", onError);
      resolve(server.address() as net.AddressInfo);
    });
  });
}

/** Keeps an open connection in `sockets`; "closed" is emitted on `events` when none is left. */
function track(socket: net.Socket, sockets: Set<net.Socket>, events: EventEmitter): void {
  // A peer that resets the connection (before its first byte, say) makes
  // the socket emit "error"; without a listener that would end the process.
  // The socket closes either way, which is all there is to do.
  socket.on("error", () => {});
  sockets.add(socket);
  socket.once("close", () => {
    sockets.delete(socket);
    if (sockets.size === 0) events.emit("closed");
  });
  // Streams of 1 MB chunks gain nothing from Nagle's algorithm.
  socket.setNoDelay(true);
}

/**
 * The servers behind the port: with TLS, Node's secure HTTP/2 server, which
 * negotiates h2 or http/1.1 by ALPN and runs its own HTTP/1 code for the
 * latter (reading its settings from the server object); without, a TCP
 * server whose connections are sniffed and handed to an HTTP/2 or an
 * HTTP/1 server.
 */
function createServers(
  handler: Handler,
  options: ListenerOptions,
  onSession: (session: http2.ServerHttp2Session) => void,
  sniff: (socket: net.Socket, h1: http.Server, h2: http2.Http2Server) => void,
): { server: net.Server; http1: Pick<http.Server, "closeIdleConnections"> } {
  const h2Options: http2.ServerOptions = {
    settings: {
      initialWindowSize: options.windowBytes,
      maxConcurrentStreams: options.maxConcurrentStreams,
      maxHeaderListSize: options.maxHeaderBytes,
    },
    // nghttp2 refuses new streams (RST_STREAM ENHANCE_YOUR_CALM) once a
    // session holds more than this, in MiB, and Node's default of 10 is two
    // streams' write-ahead: a browser's ten concurrent streams on its one
    // connection were refused. The memory budget bounds what streams hold.
    maxSessionMemory: Math.ceil(options.memoryBudgetBytes / 2 ** 20),
  };
  if (options.tls !== undefined) {
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
    Object.assign(secure, http1Settings(options));
    watchHttp1(secure as unknown as http.Server, options.onClose);
    secure.on("session", onSession);
    // Node's types leave closeIdleConnections off the secure HTTP/2 server,
    // which has it when allowHTTP1 is set.
    return {
      server: secure,
      http1: secure as unknown as Pick<http.Server, "closeIdleConnections">,
    };
  }
  const h2 = http2.createServer(h2Options, handler);
  h2.on("session", onSession);
  const h1 = http.createServer(http1Settings(options), handler);
  watchHttp1(h1, options.onClose);
  // Node starts checking header and request timeouts when its server
  // emits "listening". This one never listens (connections come from the
  // TCP server), so it is told it does.
  h1.emit("listening");
  return { server: net.createServer((socket) => sniff(socket, h1, h2)), http1: h1 };
}
