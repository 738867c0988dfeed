/**
 * HTTP/2 frames (RFC 9113 §4 and §6) as bytes: what a client puts on the
 * wire, written by hand so a test can send what no well-behaved client
 * sends (a reset straight after a request, a header block cut into
 * one-byte CONTINUATION frames, a stream that never opens its window), and
 * a reader that cuts the server's bytes back into frames.
 */

/** The 24 bytes every HTTP/2 connection opens with (RFC 9113 §3.4). */
export const clientPreface = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

/** Frame types (RFC 9113 §6). */
export const FrameType = {
  data: 0x0,
  headers: 0x1,
  priority: 0x2,
  rstStream: 0x3,
  settings: 0x4,
  pushPromise: 0x5,
  ping: 0x6,
  goaway: 0x7,
  windowUpdate: 0x8,
  continuation: 0x9,
} as const;

/** Frame flags. END_STREAM and ACK share a bit; which one depends on the type. */
export const Flag = {
  endStream: 0x1,
  ack: 0x1,
  endHeaders: 0x4,
  padded: 0x8,
  priority: 0x20,
} as const;

/** SETTINGS parameters (RFC 9113 §6.5.2). */
export const Setting = {
  headerTableSize: 0x1,
  enablePush: 0x2,
  maxConcurrentStreams: 0x3,
  initialWindowSize: 0x4,
  maxFrameSize: 0x5,
  maxHeaderListSize: 0x6,
} as const;

/** Error codes of RST_STREAM and GOAWAY (RFC 9113 §7). */
export const ErrorCode = {
  noError: 0x0,
  protocolError: 0x1,
  internalError: 0x2,
  flowControlError: 0x3,
  settingsTimeout: 0x4,
  streamClosed: 0x5,
  frameSizeError: 0x6,
  refusedStream: 0x7,
  cancel: 0x8,
  compressionError: 0x9,
  connectError: 0xa,
  enhanceYourCalm: 0xb,
  inadequateSecurity: 0xc,
  http11Required: 0xd,
} as const;

/** The name of an error code, for messages: "ENHANCE_YOUR_CALM", or the number. */
export function errorCodeName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) {
    if (value === code) {
      return name.replace(/([A-Z0-9]+)/g, "_$1").toUpperCase();
    }
  }
  return `0x${code.toString(16)}`;
}

/** One frame, as read from the wire or about to be written. */
export interface Frame {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly payload: Buffer;
}

/** The 9-byte frame header followed by the payload. */
export function encodeFrame(
  type: number,
  flags: number,
  streamId: number,
  payload: Uint8Array = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.byteLength, 0, 3);
  head.writeUInt8(type, 3);
  head.writeUInt8(flags, 4);
  head.writeUInt32BE(streamId & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** A SETTINGS frame carrying the given parameters (id → value). */
export function settingsFrame(
  settings: ReadonlyMap<number, number> | Record<number, number> = {},
): Buffer {
  const entries =
    settings instanceof Map
      ? [...settings]
      : Object.entries(settings).map(([id, value]) => [Number(id), value] as const);
  const payload = Buffer.alloc(6 * entries.length);
  entries.forEach(([id, value], i) => {
    payload.writeUInt16BE(id, 6 * i);
    payload.writeUInt32BE(value, 6 * i + 2);
  });
  return encodeFrame(FrameType.settings, 0, 0, payload);
}

/** The acknowledgement of the peer's SETTINGS. */
export function settingsAckFrame(): Buffer {
  return encodeFrame(FrameType.settings, Flag.ack, 0);
}

/** A HEADERS frame carrying a (part of a) header block. */
export function headersFrame(
  streamId: number,
  block: Uint8Array,
  options: { endStream?: boolean; endHeaders?: boolean } = {},
): Buffer {
  const flags =
    (options.endStream ? Flag.endStream : 0) | ((options.endHeaders ?? true) ? Flag.endHeaders : 0);
  return encodeFrame(FrameType.headers, flags, streamId, block);
}

/** A CONTINUATION frame: more of a header block HEADERS started. */
export function continuationFrame(
  streamId: number,
  block: Uint8Array,
  endHeaders: boolean,
): Buffer {
  return encodeFrame(FrameType.continuation, endHeaders ? Flag.endHeaders : 0, streamId, block);
}

/** A DATA frame. */
export function dataFrame(streamId: number, data: Uint8Array, endStream = false): Buffer {
  return encodeFrame(FrameType.data, endStream ? Flag.endStream : 0, streamId, data);
}

/** RST_STREAM with an error code (CANCEL unless told). */
export function rstStreamFrame(streamId: number, errorCode: number = ErrorCode.cancel): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(errorCode, 0);
  return encodeFrame(FrameType.rstStream, 0, streamId, payload);
}

/** WINDOW_UPDATE of a stream, or of the connection (stream 0). */
export function windowUpdateFrame(streamId: number, incrementBytes: number): Buffer {
  const payload = Buffer.alloc(4);
  payload.writeUInt32BE(incrementBytes & 0x7fffffff, 0);
  return encodeFrame(FrameType.windowUpdate, 0, streamId, payload);
}

/** PING with 8 bytes of opaque data; ack answers a peer's PING. */
export function pingFrame(opaque: Uint8Array = Buffer.alloc(8), ack = false): Buffer {
  const payload = Buffer.alloc(8);
  payload.set(opaque.subarray(0, 8));
  return encodeFrame(FrameType.ping, ack ? Flag.ack : 0, 0, payload);
}

/** GOAWAY naming the last stream processed and an error code. */
export function goawayFrame(lastStreamId: number, errorCode: number = ErrorCode.noError): Buffer {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(lastStreamId & 0x7fffffff, 0);
  payload.writeUInt32BE(errorCode, 4);
  return encodeFrame(FrameType.goaway, 0, 0, payload);
}

/** The parameters of a SETTINGS frame, in the order sent. */
export function readSettings(frame: Frame): Map<number, number> {
  const settings = new Map<number, number>();
  for (let offset = 0; offset + 6 <= frame.payload.length; offset += 6) {
    settings.set(frame.payload.readUInt16BE(offset), frame.payload.readUInt32BE(offset + 2));
  }
  return settings;
}

/** The error code of a RST_STREAM frame. */
export function readRstStream(frame: Frame): number {
  return frame.payload.readUInt32BE(0);
}

/** The last stream id, error code and debug text of a GOAWAY frame. */
export function readGoaway(frame: Frame): {
  lastStreamId: number;
  errorCode: number;
  debug: string;
} {
  return {
    lastStreamId: frame.payload.readUInt32BE(0) & 0x7fffffff,
    errorCode: frame.payload.readUInt32BE(4),
    debug: frame.payload.subarray(8).toString("utf8"),
  };
}

/**
 * The header block fragment of a HEADERS frame, without its padding and
 * priority fields.
 */
export function headerBlockOf(frame: Frame): Buffer {
  let start = 0;
  let end = frame.payload.length;
  if (frame.flags & Flag.padded) {
    end -= frame.payload.readUInt8(0);
    start += 1;
  }
  if (frame.type === FrameType.headers && frame.flags & Flag.priority) {
    start += 5;
  }
  return frame.payload.subarray(start, end);
}

/**
 * Cuts a byte stream into frames. Feed it what the socket gives; it returns
 * the frames completed so far and keeps the rest for the next call.
 */
export function createFrameReader(): (data: Buffer) => Frame[] {
  let pending: Buffer = Buffer.alloc(0);
  return function readFrames(data) {
    pending = pending.length === 0 ? data : Buffer.concat([pending, data]);
    const frames: Frame[] = [];
    while (pending.length >= 9) {
      const length = pending.readUIntBE(0, 3);
      if (pending.length < 9 + length) {
        break;
      }
      frames.push({
        type: pending.readUInt8(3),
        flags: pending.readUInt8(4),
        streamId: pending.readUInt32BE(5) & 0x7fffffff,
        // A copy, so the reader can drop the big buffer it was cut from.
        payload: Buffer.from(pending.subarray(9, 9 + length)),
      });
      pending = pending.subarray(9 + length);
    }
    return frames;
  };
}
