import { fromBinary } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type InferenceResponse, InferenceResponseSchema } from "../gen/modelmora/inference_pb.js";

/**
 * One InferenceResponse as ResponseDecoder hands it on: every field but
 * `data` decoded (its `data` is empty), and `data` as the pieces of the
 * network reads it arrived in, not copied.
 */
export interface DecodedResponse {
  readonly response: InferenceResponse;
  /** The `data` field: views into the buffers the socket delivered, in order. */
  readonly dataPieces: readonly Uint8Array[];
  /** Sum of the pieces' lengths, in bytes. */
  readonly dataBytes: number;
}

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
/** InferenceResponse.data: field 4, wire type 2 (length-delimited). */
const dataField = 4;

/** Where the field parser is inside a data message. */
const Field = {
  /** Reading a tag varint. */
  Tag: 0,
  /** Reading a varint value (wire type 0). */
  Varint: 1,
  /** Reading a length varint (wire type 2). */
  Length: 2,
  /** Copying the bytes of a small field (wire types 1, 2, 5). */
  Bytes: 3,
  /** Passing on the bytes of `data`. */
  Data: 4,
} as const;
type Field = (typeof Field)[keyof typeof Field];

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
  /** The current message's fields other than `data`, as protobuf bytes. */
  private small = new Uint8Array(512);
  private smallBytes = 0;
  /** The varint being read. */
  private readonly varint = new Uint8Array(10);
  private varintBytes = 0;
  private field: Field = Field.Tag;
  /** Field number of the field being read. */
  private fieldNumber = 0;
  /** Bytes left in the current length-delimited or fixed field. */
  private fieldLeft = 0;
  private dataPieces: Uint8Array[] = [];
  private dataBytes = 0;

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
      if (this.flags === 0) this.consume(piece);
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
    this.smallBytes = 0;
    this.varintBytes = 0;
    this.field = Field.Tag;
    this.dataPieces = [];
    this.dataBytes = 0;
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
    if (this.field !== Field.Tag || this.varintBytes > 0) {
      throw new ConnectError("protocol error: a message ended inside a field", Code.Internal);
    }
    let response: InferenceResponse;
    try {
      response = fromBinary(InferenceResponseSchema, this.small.subarray(0, this.smallBytes));
    } catch (err) {
      throw new ConnectError(
        `protocol error: an InferenceResponse that does not decode: ${String(err)}`,
        Code.Internal,
        undefined,
        undefined,
        err,
      );
    }
    const decoded = { response, dataPieces: this.dataPieces, dataBytes: this.dataBytes };
    this.dataPieces = [];
    this.dataBytes = 0;
    this.events.onResponse(decoded);
  }

  /** Feeds bytes of a data message through the field parser. */
  private consume(piece: Uint8Array): void {
    let at = 0;
    while (at < piece.byteLength) {
      if (this.field === Field.Data) {
        const n = Math.min(this.fieldLeft, piece.byteLength - at);
        this.dataPieces.push(piece.subarray(at, at + n));
        this.dataBytes += n;
        this.fieldLeft -= n;
        at += n;
        if (this.fieldLeft === 0) this.field = Field.Tag;
        continue;
      }
      if (this.field === Field.Bytes) {
        const n = Math.min(this.fieldLeft, piece.byteLength - at);
        this.appendSmall(piece.subarray(at, at + n));
        this.fieldLeft -= n;
        at += n;
        if (this.fieldLeft === 0) this.field = Field.Tag;
        continue;
      }
      // A varint: a tag, a value or a length.
      const byte = piece[at] as number;
      at++;
      if (this.varintBytes === this.varint.byteLength) {
        throw new ConnectError("protocol error: a varint longer than 10 bytes", Code.Internal);
      }
      this.varint[this.varintBytes++] = byte;
      if ((byte & 0x80) !== 0) continue;
      const bytes = this.varint.subarray(0, this.varintBytes);
      this.varintBytes = 0;
      this.onVarint(bytes);
    }
  }

  /** A whole varint was read: moves the field parser on. */
  private onVarint(bytes: Uint8Array): void {
    if (this.field === Field.Tag) {
      const tag = varintValue(bytes);
      this.fieldNumber = Math.floor(tag / 8);
      const wireType = tag % 8;
      if (this.fieldNumber === dataField && wireType === 2) {
        // Neither the tag nor the length of `data` joins the small fields.
        this.field = Field.Length;
        return;
      }
      this.appendSmall(bytes);
      switch (wireType) {
        case 0:
          this.field = Field.Varint;
          return;
        case 1:
        case 5:
          this.field = Field.Bytes;
          this.fieldLeft = wireType === 1 ? 8 : 4;
          return;
        case 2:
          this.field = Field.Length;
          return;
        default:
          throw new ConnectError(
            `protocol error: wire type ${wireType} in an InferenceResponse`,
            Code.Internal,
          );
      }
    }
    if (this.field === Field.Varint) {
      this.appendSmall(bytes);
      this.field = Field.Tag;
      return;
    }
    // Field.Length
    const length = varintValue(bytes);
    if (length > this.envelopeLeft) {
      throw new ConnectError(
        "protocol error: a field runs past the end of its message",
        Code.Internal,
      );
    }
    if (this.fieldNumber === dataField) {
      // A repeated `data` field: the last one wins, as protobuf decoding says.
      this.dataPieces = [];
      this.dataBytes = 0;
      this.fieldLeft = length;
      this.field = length === 0 ? Field.Tag : Field.Data;
      return;
    }
    this.appendSmall(bytes);
    this.fieldLeft = length;
    this.field = length === 0 ? Field.Tag : Field.Bytes;
  }

  private appendSmall(bytes: Uint8Array): void {
    if (this.smallBytes + bytes.byteLength > this.small.byteLength) {
      const grown = new Uint8Array(
        Math.max(this.small.byteLength * 2, this.smallBytes + bytes.byteLength),
      );
      grown.set(this.small.subarray(0, this.smallBytes));
      this.small = grown;
    }
    this.small.set(bytes, this.smallBytes);
    this.smallBytes += bytes.byteLength;
  }
}

/** A varint's value; exact up to 2^53, which bounds every length and tag here. */
function varintValue(bytes: Uint8Array): number {
  let value = 0;
  for (let i = bytes.byteLength - 1; i >= 0; i--) {
    value = value * 128 + ((bytes[i] as number) & 0x7f);
  }
  return value;
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
