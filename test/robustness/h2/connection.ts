/**
 * An HTTP/2 client connection driven frame by frame over a plain TCP or
 * TLS socket: the test decides every byte it sends. It answers the
 * server's SETTINGS and PING (unless told not to), never sends
 * WINDOW_UPDATE by itself (a client that never reads is one line of test
 * code), and keeps every frame it receives, per stream, for the test to
 * wait on.
 */
import { EventEmitter } from "node:events";
import net from "node:net";
import tls from "node:tls";
import {
  clientPreface,
  createFrameReader,
  dataFrame,
  ErrorCode,
  errorCodeName,
  Flag,
  type Frame,
  FrameType,
  headerBlockOf,
  headersFrame,
  pingFrame,
  readGoaway,
  readRstStream,
  readSettings,
  rstStreamFrame,
  Setting,
  settingsAckFrame,
  settingsFrame,
  windowUpdateFrame,
} from "./frames.js";
import { encodeHeaderBlock, statusOf } from "./hpack.js";

/** Options for connectH2. */
export interface H2ConnectionOptions {
  /** The server, "http://127.0.0.1:PORT" (h2c) or "https://…" (TLS, ALPN h2). */
  url: string;
  /** CA of the server's certificate, for https URLs. */
  ca?: string | Buffer;
  /**
   * The client's SETTINGS. Default: a 0-byte HPACK table (so the server's
   * header blocks can be read without one; see hpack.ts) and no push.
   */
  settings?: Record<number, number>;
  /** Send the preface and SETTINGS at once. Default true. */
  sendPreface?: boolean;
  /** Acknowledge the server's SETTINGS and answer its PINGs. Default true. */
  autoAck?: boolean;
  /**
   * Give back the window of every DATA frame at once (WINDOW_UPDATE for the
   * stream and the connection), as a client that reads does. Default false:
   * the client never opens its window, so the server can send at most
   * 65,535 bytes on the whole connection.
   */
  autoWindowUpdate?: boolean;
}

/** What the connection saw of one stream. */
export interface StreamState {
  readonly id: number;
  /** Header blocks received (response headers, then trailers), each whole. */
  readonly headerBlocks: Buffer[];
  /** The `:status` of the first header block, once read. */
  status?: number;
  /** Bytes of DATA received. */
  dataBytes: number;
  /** DATA payloads received, when the stream keeps them (see request()). */
  readonly data: Buffer[];
  /** The server ended its side (END_STREAM). */
  ended: boolean;
  /** The RST_STREAM error code, when the server reset the stream. */
  resetCode?: number;
}

/** A raw HTTP/2 client connection. */
export interface H2Connection {
  readonly socket: net.Socket;
  /** Every frame received, in order. */
  readonly frames: readonly Frame[];
  /** The server's first SETTINGS (not an ACK), once received. */
  readonly serverSettings: Map<number, number> | undefined;
  /** The GOAWAY the server sent, if any. */
  readonly goaway: { lastStreamId: number; errorCode: number; debug: string } | undefined;
  /** True once the socket has closed. */
  readonly isClosed: boolean;
  /** Whether the server's SETTINGS and PINGs are answered from now on (see H2ConnectionOptions.autoAck). */
  autoAck: boolean;
  /** Resolves when the socket closes, whoever closed it. */
  readonly closed: Promise<void>;
  /** Writes bytes as they are. */
  send(...chunks: Uint8Array[]): void;
  /**
   * Opens a stream: HEADERS with the given fields, then the body in one DATA
   * frame if there is one. Returns the new (odd) stream id.
   */
  request(
    fields: Record<string, string>,
    options?: { body?: Uint8Array; endStream?: boolean; keepData?: boolean },
  ): number;
  /** The next stream id request() will use, for hand-made HEADERS. */
  nextStreamId(): number;
  /** RST_STREAM (CANCEL unless told). */
  reset(streamId: number, errorCode?: number): void;
  /** What was seen of a stream. */
  stream(streamId: number): StreamState;
  /**
   * Waits until predicate holds, checking after every frame and at close.
   * The limit only keeps a broken test from hanging.
   */
  waitUntil(predicate: () => boolean, what: string, limitMs?: number): Promise<void>;
  /** Waits for the server's SETTINGS. */
  settings(): Promise<Map<number, number>>;
  /** Closes the socket (FIN). */
  end(): void;
  /** Destroys the socket; with reset, the TCP socket under it sends an RST. */
  destroy(reset?: boolean): void;
}

/** Generous limit of a wait, in ms: it only stops a broken test from hanging. */
export const defaultWaitLimitMs = 20_000;

/** A socket to the server, and the TCP socket under it (the same one without TLS). */
export interface OpenSocket {
  readonly socket: net.Socket;
  /** The TCP socket: resetAndDestroy() works only on this one. */
  readonly tcp: net.Socket;
}

/**
 * Opens a raw socket to url: TCP for http, TLS with the given ALPN for
 * https (resolving once the handshake is done).
 */
export function openSocket(
  url: string,
  options: { ca?: string | Buffer; alpn?: string[] } = {},
): Promise<OpenSocket> {
  const { hostname, port, protocol } = new URL(url);
  return new Promise((resolve, reject) => {
    const tcp = net.connect({ host: hostname, port: Number(port) });
    tcp.once("error", reject);
    if (protocol !== "https:") {
      tcp.once("connect", () => {
        tcp.off("error", reject);
        resolve({ socket: tcp, tcp });
      });
      return;
    }
    const socket = tls.connect({
      socket: tcp,
      ca: options.ca,
      servername: net.isIP(hostname) ? undefined : hostname,
      ALPNProtocols: options.alpn ?? ["h2"],
    });
    socket.once("error", reject);
    socket.once("secureConnect", () => {
      tcp.off("error", reject);
      socket.off("error", reject);
      resolve({ socket, tcp });
    });
  });
}

/** Connects and (unless told not to) sends the preface and SETTINGS. */
export async function connectH2(options: H2ConnectionOptions): Promise<H2Connection> {
  const { socket, tcp } = await openSocket(options.url, { ca: options.ca, alpn: ["h2"] });
  return h2OverSocket(socket, options, tcp);
}

/** Runs the raw HTTP/2 client over a socket that is already open. */
export function h2OverSocket(
  socket: net.Socket,
  options: Omit<H2ConnectionOptions, "url" | "ca"> = {},
  tcp: net.Socket = socket,
): H2Connection {
  let autoAck = options.autoAck ?? true;
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const frames: Frame[] = [];
  const streams = new Map<number, StreamState & { pendingBlock?: Buffer[] }>();
  const readFrames = createFrameReader();
  const keepData = new Set<number>();
  let serverSettings: Map<number, number> | undefined;
  let goaway: H2Connection["goaway"];
  let isClosed = false;
  let nextId = 1;

  const stateOf = (id: number) => {
    let state = streams.get(id);
    if (state === undefined) {
      state = { id, headerBlocks: [], dataBytes: 0, data: [], ended: false };
      streams.set(id, state);
    }
    return state;
  };

  const closed = new Promise<void>((resolve) => {
    socket.once("close", () => {
      isClosed = true;
      events.emit("change");
      resolve();
    });
  });
  // A server that resets the connection is one of the outcomes tests wait for.
  socket.on("error", () => {});

  const write = (...chunks: Uint8Array[]) => {
    if (!socket.destroyed && socket.writable) {
      socket.write(chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks));
    }
  };

  socket.on("data", (data: Buffer) => {
    for (const frame of readFrames(data)) {
      frames.push(frame);
      onFrame(frame);
    }
    events.emit("change");
  });

  function onFrame(frame: Frame): void {
    switch (frame.type) {
      case FrameType.settings:
        if ((frame.flags & Flag.ack) === 0) {
          serverSettings ??= readSettings(frame);
          if (autoAck) write(settingsAckFrame());
        }
        break;
      case FrameType.ping:
        if ((frame.flags & Flag.ack) === 0 && autoAck) {
          write(pingFrame(frame.payload, true));
        }
        break;
      case FrameType.goaway:
        goaway = readGoaway(frame);
        break;
      case FrameType.rstStream:
        stateOf(frame.streamId).resetCode = readRstStream(frame);
        break;
      case FrameType.headers:
      case FrameType.continuation: {
        const state = stateOf(frame.streamId);
        const fragment = frame.type === FrameType.headers ? headerBlockOf(frame) : frame.payload;
        state.pendingBlock = [...(state.pendingBlock ?? []), fragment];
        if (frame.flags & Flag.endHeaders) {
          const block = Buffer.concat(state.pendingBlock);
          state.pendingBlock = undefined;
          state.headerBlocks.push(block);
          if (state.headerBlocks.length === 1) {
            state.status = statusOf(block);
          }
        }
        if (frame.type === FrameType.headers && frame.flags & Flag.endStream) {
          state.ended = true;
        }
        break;
      }
      case FrameType.data: {
        const state = stateOf(frame.streamId);
        state.dataBytes += frame.payload.length;
        if (keepData.has(frame.streamId)) state.data.push(frame.payload);
        if (frame.flags & Flag.endStream) state.ended = true;
        if (options.autoWindowUpdate && frame.payload.length > 0) {
          write(windowUpdateFrame(0, frame.payload.length));
          if ((frame.flags & Flag.endStream) === 0) {
            write(windowUpdateFrame(frame.streamId, frame.payload.length));
          }
        }
        break;
      }
    }
  }

  if (options.sendPreface ?? true) {
    write(
      clientPreface,
      settingsFrame(options.settings ?? { [Setting.headerTableSize]: 0, [Setting.enablePush]: 0 }),
    );
  }

  const connection: H2Connection = {
    socket,
    frames,
    get serverSettings() {
      return serverSettings;
    },
    get goaway() {
      return goaway;
    },
    get isClosed() {
      return isClosed;
    },
    get autoAck() {
      return autoAck;
    },
    set autoAck(value: boolean) {
      autoAck = value;
    },
    closed,
    send: write,
    request(fields, requestOptions = {}) {
      const id = nextId;
      nextId += 2;
      stateOf(id);
      if (requestOptions.keepData) keepData.add(id);
      const body = requestOptions.body;
      const endStream = requestOptions.endStream ?? true;
      const block = encodeHeaderBlock(fields);
      if (body === undefined) {
        write(headersFrame(id, block, { endStream }));
      } else {
        write(headersFrame(id, block), dataFrame(id, body, endStream));
      }
      return id;
    },
    nextStreamId() {
      const id = nextId;
      nextId += 2;
      return id;
    },
    reset(streamId, errorCode = ErrorCode.cancel) {
      write(rstStreamFrame(streamId, errorCode));
    },
    stream: stateOf,
    waitUntil(predicate, what, limitMs = defaultWaitLimitMs) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate()) {
            done();
            resolve();
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`gave up waiting for ${what} after ${limitMs} ms`));
        }, limitMs);
        const done = () => {
          clearTimeout(timer);
          events.off("change", check);
        };
        events.on("change", check);
        check();
      });
    },
    async settings() {
      await connection.waitUntil(
        () => serverSettings !== undefined || isClosed,
        "the server's SETTINGS",
      );
      if (serverSettings === undefined) {
        throw new Error("the connection closed before the server sent SETTINGS");
      }
      return serverSettings;
    },
    end() {
      socket.end();
    },
    destroy(reset = false) {
      if (reset) {
        tcp.resetAndDestroy();
        socket.destroy();
      } else {
        socket.destroy();
      }
    },
  };
  return connection;
}

/** "RST_STREAM CANCEL", "END_STREAM", "open": how a stream stands, for messages. */
export function describeStream(state: StreamState): string {
  if (state.resetCode !== undefined) return `reset with ${errorCodeName(state.resetCode)}`;
  if (state.ended) return `ended, status ${state.status}`;
  return `open, status ${state.status}, ${state.dataBytes} data bytes`;
}

/** A WINDOW_UPDATE for the connection, to let a large response through. */
export function connectionWindowUpdate(incrementBytes: number): Buffer {
  return windowUpdateFrame(0, incrementBytes);
}
