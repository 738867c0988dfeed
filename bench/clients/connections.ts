/**
 * Plain node:http and node:http2 connections for the bench's own clients
 * (REST, bare baselines), with every socket counted so the bench can report
 * the bytes on the wire (socket.bytesRead: headers, framing and payload).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import http from "node:http";
import http2 from "node:http2";
import net from "node:net";
import type { SocketCounts } from "./types.js";

/** Keeps every socket a client opened, to sum the bytes read from them. */
export class SocketCounter implements SocketCounts {
  private readonly sockets = new Set<net.Socket>();

  /** Adds a socket; closed sockets keep their counts. */
  readonly track = (socket: net.Socket): void => {
    this.sockets.add(socket);
  };

  /** Bytes read from every socket so far, closed ones included. */
  bytesRead(): number {
    let total = 0;
    for (const socket of this.sockets) {
      total += socket.bytesRead;
    }
    return total;
  }

  /** Bytes written to every socket so far. */
  bytesWritten(): number {
    let total = 0;
    for (const socket of this.sockets) {
      total += socket.bytesWritten;
    }
    return total;
  }

  /** Number of TCP connections opened. */
  get connections(): number {
    return this.sockets.size;
  }
}

/** A keep-alive HTTP/1.1 agent whose sockets are counted. */
export function createCountedAgent(counter: SocketCounter): http.Agent {
  const agent = new http.Agent({ keepAlive: true });
  type CreateConnection = (...args: unknown[]) => net.Socket;
  const withCreate = agent as unknown as { createConnection: CreateConnection };
  const create = withCreate.createConnection;
  withCreate.createConnection = function createCountedConnection(
    this: http.Agent,
    ...args: unknown[]
  ) {
    const socket = create.apply(this, args);
    counter.track(socket);
    return socket;
  };
  return agent;
}

/**
 * Opens an HTTP/2 cleartext session (prior knowledge) with windowBytes as
 * the stream window (SETTINGS_INITIAL_WINDOW_SIZE) and the connection
 * window (WINDOW_UPDATE via setLocalWindowSize): the same settings
 * createInferenceClient applies, so every h2 client in the bench reads alike.
 */
export function connectHttp2(
  baseUrl: string,
  windowBytes: number,
  counter: SocketCounter,
): http2.ClientHttp2Session {
  const url = new URL(baseUrl);
  if (url.protocol !== "http:") {
    throw new Error(`the bench's own HTTP/2 clients speak cleartext only, got ${baseUrl}`);
  }
  const session = http2.connect(url, {
    settings: { initialWindowSize: windowBytes },
    createConnection() {
      const socket = net.connect(Number(url.port || 80), url.hostname);
      counter.track(socket);
      return socket;
    },
  });
  // Node can set the connection window only once the session is up.
  session.once("connect", () => session.setLocalWindowSize(windowBytes));
  // Errors surface on the streams; an unhandled session error would crash.
  session.on("error", () => {});
  return session;
}

/** Reads a whole response body into one Buffer. */
export function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    stream.on("data", (part: Buffer) => parts.push(part));
    stream.on("end", () => resolve(Buffer.concat(parts)));
    stream.on("error", reject);
  });
}
