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
 * Parses the fields of one InferenceResponse as its bytes arrive, piece by
 * piece: every field but `data` (a few hundred bytes) is copied aside and
 * decoded with protobuf-es at the end; `data` is kept as views into the
 * pieces. Protocol violations throw ConnectError with Code.Internal.
 */
export class ResponseFieldParser {
  /** The message's fields other than `data`, as protobuf bytes. */
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
  /** Bytes of the message not yet consumed. */
  private messageLeft = 0;
  private dataPieces: Uint8Array[] = [];
  private dataBytes = 0;

  /** Starts a message of `length` bytes. */
  start(length: number): void {
    this.messageLeft = length;
    this.smallBytes = 0;
    this.varintBytes = 0;
    this.field = Field.Tag;
    this.dataPieces = [];
    this.dataBytes = 0;
  }

  /** The message ended: decodes it. The parser keeps no reference to the result. */
  finish(): DecodedResponse {
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
    return decoded;
  }

  /** Feeds the next bytes of the message (never past its end). */
  consume(piece: Uint8Array): void {
    let at = 0;
    while (at < piece.byteLength) {
      if (this.field === Field.Data || this.field === Field.Bytes) {
        const n = Math.min(this.fieldLeft, piece.byteLength - at);
        const part = piece.subarray(at, at + n);
        if (this.field === Field.Data) {
          this.dataPieces.push(part);
          this.dataBytes += n;
        } else {
          this.appendSmall(part);
        }
        this.fieldLeft -= n;
        this.messageLeft -= n;
        at += n;
        if (this.fieldLeft === 0) this.field = Field.Tag;
        continue;
      }
      // A varint: a tag, a value or a length.
      const byte = piece[at] as number;
      at++;
      this.messageLeft--;
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
    if (length > this.messageLeft) {
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
