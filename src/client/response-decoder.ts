import { Code, ConnectError } from "@connectrpc/connect";
import { type DecodedResponse, ResponseFieldParser } from "./response-fields.js";

/** What a ResponseDecoder reports as envelopes end. */
export interface ResponseDecoderEvents {
  /** A data envelope (flags 0) holding one InferenceResponse. */
  onResponse(decoded: DecodedResponse): void;
  /**
   * Any other envelope, whole: the gRPC-Web trailers (flags 0x80), the
   * Connect end of stream (flags 0x02). The protocol decides what it means.
   */
  onControl(flags: number, data: Uint8Array): void;
}

/** Options for ResponseDecoder. */
export interface ResponseDecoderOptions {
  /**
   * Largest envelope accepted, in bytes: the `data` of one message is held
   * until the message ends, so this bounds what one message can pin in
   * memory. Past it the call fails with RESOURCE_EXHAUSTED. Default 64 MiB
   * (the server's chunks are 1,000,000 bytes by default).
   */
  maxMessageBytes?: number;
}

/** Default largest envelope: 64 MiB. */
export const defaultMaxMessageBytes = 64 * 1024 * 1024;

/** The envelope flag of a compressed message (gRPC, gRPC-Web, Connect). */
const compressedFlag = 0x01;

/**
 * Decodes a response body of enveloped InferenceResponse messages (gRPC,
 * gRPC-Web and Connect streaming share the envelope: one flags byte, a
 * 4-byte big-endian length, the message) as the network delivers it,
 * without gathering messages: every field but `data` (a few hundred bytes)
 * is collected and decoded with protobuf-es; `data` is kept as views into
 * the delivered buffers and handed on with its message. This is how one
 * copy per byte suffices (into the image); a standard client gathers each
 * 1 MB message into one buffer first, then the caller copies it again.
 *
 * Protocol violations throw ConnectError with Code.Internal; an envelope
 * over maxMessageBytes, Code.ResourceExhausted.
 */
export class ResponseDecoder {
  private readonly maxMessageBytes: number;
  private readonly head = new Uint8Array(5);
  private headBytes = 0;
  /** Bytes left in the current envelope; -1 between envelopes. */
  private envelopeLeft = -1;
  private flags = 0;
  /** A control envelope being gathered. */
  private control: Uint8Array[] = [];
  /** The fields of the current data envelope. */
  private readonly fields = new ResponseFieldParser();

  constructor(
    private readonly events: ResponseDecoderEvents,
    options: ResponseDecoderOptions = {},
  ) {
    this.maxMessageBytes = options.maxMessageBytes ?? defaultMaxMessageBytes;
  }

  /** True between envelopes: a body may end here. */
  get atBoundary(): boolean {
    return this.envelopeLeft < 0 && this.headBytes === 0;
  }

  /** Decodes the next bytes of the body. The decoder keeps views into `chunk`. */
  push(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.byteLength) {
      if (this.envelopeLeft < 0) {
        const n = Math.min(5 - this.headBytes, chunk.byteLength - at);
        this.head.set(chunk.subarray(at, at + n), this.headBytes);
        this.headBytes += n;
        at += n;
        if (this.headBytes < 5) return;
        this.headBytes = 0;
        this.startEnvelope();
        if (this.envelopeLeft === 0) this.endEnvelope();
        continue;
      }
      const n = Math.min(this.envelopeLeft, chunk.byteLength - at);
      const piece = chunk.subarray(at, at + n);
      if (this.flags === 0) this.fields.consume(piece);
      else this.control.push(piece);
      at += n;
      this.envelopeLeft -= n;
      if (this.envelopeLeft === 0) this.endEnvelope();
    }
  }

  /** Call when the body ended: throws if it ended inside an envelope. */
  end(): void {
    if (!this.atBoundary) {
      throw new ConnectError("protocol error: the response ended inside a message", Code.Internal);
    }
  }

  private startEnvelope(): void {
    const head = this.head;
    this.flags = head[0] as number;
    // >>> 0: the length is unsigned; bitwise operators work on int32.
    const length =
      (((head[1] as number) << 24) |
        ((head[2] as number) << 16) |
        ((head[3] as number) << 8) |
        (head[4] as number)) >>>
      0;
    if (length > this.maxMessageBytes) {
      throw new ConnectError(
        `message size ${length} is larger than the limit of ${this.maxMessageBytes} bytes (maxMessageBytes)`,
        Code.ResourceExhausted,
      );
    }
    if ((this.flags & compressedFlag) !== 0) {
      throw new ConnectError(
        "protocol error: a compressed message, but no compression was negotiated",
        Code.Internal,
      );
    }
    this.envelopeLeft = length;
    this.control = [];
    if (this.flags === 0) this.fields.start(length);
  }

  private endEnvelope(): void {
    this.envelopeLeft = -1;
    if (this.flags !== 0) {
      const data =
        this.control.length === 1 ? (this.control[0] as Uint8Array) : concat(this.control);
      this.control = [];
      this.events.onControl(this.flags, data);
      return;
    }
    this.events.onResponse(this.fields.finish());
  }
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.byteLength;
  }
  return out;
}
