/**
 * A minimal client for the binary RPC protocols (gRPC, gRPC-Web, Connect
 * streaming over protobuf), written against the wire formats with
 * node:http2 / node:http, as the REST and bare rows are. It shows what each
 * protocol costs when the client library adds nothing: the connect-node
 * rows show what a user of the standard client gets. Both run against the
 * same server, so the difference between the two rows is client cost.
 *
 * It parses every envelope as it arrives, decodes every field but `data`
 * with protobuf-es, and hands `data` to the image assembler in the pieces
 * it arrives in (StreamingChunkDecoder), where standard clients gather each
 * 1 MB message into one buffer first. Statuses are checked (grpc-status
 * trailer, gRPC-Web trailer frame, Connect end-of-stream message).
 *
 * Library module of `npm run bench`; reads no flags or environment.
 */
import http from "node:http";
import type http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  InferenceRequestSchema,
  InferenceResponseSchema,
  ListModelsResponseSchema,
} from "../../src/index.js";
import { type HashingMode, ImageAssembler, VerificationError } from "../verify/index.js";
import { connectHttp2, createCountedAgent, SocketCounter } from "./connections.js";
import type { BenchClient, ExtraHeaders, StreamCall, StreamOutcome } from "./types.js";

/** The binary protocols this client speaks. */
export type WireProtocol = "grpc" | "grpc-web" | "connect";

/** Options for createWireBenchClient. */
export interface WireBenchClientOptions {
  baseUrl: string;
  protocol: WireProtocol;
  httpVersion: "1.1" | "2";
  /** HTTP/2 stream and connection window in bytes. */
  windowBytes: number;
  headers?: ExtraHeaders;
}

const contentTypes: Record<WireProtocol, string> = {
  grpc: "application/grpc+proto",
  "grpc-web": "application/grpc-web+proto",
  connect: "application/connect+proto",
};

type Headers = Record<string, string | string[] | undefined>;

/** Creates one wire client: one HTTP/2 session or one keep-alive agent. */
export function createWireBenchClient(options: WireBenchClientOptions): BenchClient {
  const sockets = new SocketCounter();
  const url = new URL(options.baseUrl);
  let agent: http.Agent | undefined;
  let session: http2.ClientHttp2Session | undefined;

  /** POSTs one enveloped request; hands each body chunk to onData. */
  function post(
    path: string,
    body: Uint8Array,
    onData: (data: Buffer) => void,
    contentType = contentTypes[options.protocol],
  ): Promise<{ status: number; headers: Headers; trailers: Headers }> {
    const headers: Record<string, string> = {
      ...options.headers,
      "content-type": contentType,
    };
    if (options.protocol === "grpc") headers.te = "trailers";
    if (options.protocol === "grpc-web") headers["x-grpc-web"] = "1";
    if (options.protocol === "connect") headers["connect-protocol-version"] = "1";
    if (options.httpVersion === "2") {
      // A session the server closed (idle timeout, GOAWAY) is replaced by a new one.
      if (session === undefined || session.closed || session.destroyed) {
        session = connectHttp2(options.baseUrl, options.windowBytes, sockets);
      }
      const stream = session.request({ ":method": "POST", ":path": path, ...headers });
      return new Promise((resolve, reject) => {
        let status = 0;
        let responseHeaders: Headers = {};
        let trailers: Headers = {};
        stream.once("response", (h) => {
          status = Number(h[":status"]);
          responseHeaders = h as Headers;
        });
        stream.on("trailers", (h) => {
          trailers = h as Headers;
        });
        stream.on("data", onData);
        stream.once("error", reject);
        stream.once("end", () => resolve({ status, headers: responseHeaders, trailers }));
        stream.end(body);
      });
    }
    agent ??= createCountedAgent(sockets);
    const usedAgent = agent;
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: url.hostname,
          port: url.port,
          method: "POST",
          path,
          headers: { ...headers, "content-length": String(body.byteLength) },
          agent: usedAgent,
        },
        (res) => {
          res.on("data", onData);
          res.once("error", reject);
          res.once("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers as Headers,
              trailers: res.trailers as Headers,
            }),
          );
        },
      );
      req.once("error", reject);
      req.end(body);
    });
  }

  /**
   * Calls a method and feeds the response body to a decoder; throws on a
   * failed status.
   */
  async function call(method: string, request: Uint8Array, decoder: BodyDecoder): Promise<void> {
    let endOfStream: { flags: number; data: Uint8Array } | undefined;
    const { status, headers, trailers } = await post(
      `/modelmora.InferenceService/${method}`,
      envelope(0, request),
      (data) =>
        decoder.push(data, (flags, message) => {
          endOfStream = { flags, data: message };
        }),
    );
    if (status !== 200) {
      throw new Error(`${method}: HTTP ${status}`);
    }
    if (decoder.pendingBytes > 0) {
      throw new VerificationError(`${method}: the response ended inside a message`);
    }
    checkStatus(options.protocol, method, headers, trailers, endOfStream);
  }

  return {
    sockets,
    close() {
      session?.destroy();
      agent?.destroy();
    },
    async stream(streamCall: StreamCall, hashing: HashingMode): Promise<StreamOutcome> {
      const assembler = new ImageAssembler(streamCall.batchSize, hashing);
      const request = toBinary(InferenceRequestSchema, create(InferenceRequestSchema, streamCall));
      const started = performance.now();
      let firstChunkMs = -1;
      let chunks = 0;
      const decoder = new StreamingChunkDecoder({
        onFirstByte() {
          if (firstChunkMs < 0) firstChunkMs = performance.now() - started;
        },
        onMetadata(metadata) {
          assembler.declare(
            Number(metadata.image_index),
            Number(metadata.image_bytes),
            metadata.image_sha256,
          );
        },
        onData(metadata, data, offsetInChunk) {
          assembler.add(
            Number(metadata.image_index),
            data,
            Number(metadata.chunk_offset) + offsetInChunk,
          );
        },
        onMessage() {
          chunks++;
        },
      });
      await call("StreamInference", request, decoder);
      return {
        firstChunkMs,
        totalMs: performance.now() - started,
        payloadBytes: assembler.receivedBytes,
        chunks,
        chunksNominal: false,
        assembler,
      };
    },
    async unary(): Promise<void> {
      let models = 0;
      if (options.protocol === "connect") {
        // Connect unary: the message is the whole body, not enveloped.
        const parts: Buffer[] = [];
        const { status } = await post(
          "/modelmora.InferenceService/ListModels",
          new Uint8Array(0),
          (data) => parts.push(data),
          "application/proto",
        );
        if (status !== 200) throw new Error(`ListModels: HTTP ${status}`);
        models = fromBinary(ListModelsResponseSchema, Buffer.concat(parts)).models.length;
        if (models === 0) throw new VerificationError("ListModels answered with no models");
        return;
      }
      await call(
        "ListModels",
        new Uint8Array(0),
        new EnvelopeSplitter((message) => {
          models = fromBinary(ListModelsResponseSchema, message).models.length;
        }),
      );
      if (models === 0) throw new VerificationError("ListModels answered with no models");
    },
  };
}

/** Reads a response body; hands envelopes other than data messages to onOther. */
interface BodyDecoder {
  /** Bytes of an unfinished envelope. */
  readonly pendingBytes: number;
  push(data: Buffer, onOther: (flags: number, message: Uint8Array) => void): void;
}

/**
 * Splits a byte stream into envelopes (1 byte of flags, 4 of length, the
 * message) and hands each data message, whole, to onMessage: a message that
 * arrived in one read is used in place, one split across reads is gathered
 * with one copy. For small messages.
 */
class EnvelopeSplitter implements BodyDecoder {
  private parts: Buffer[] = [];
  private partsBytes = 0;

  constructor(private readonly onMessage: (message: Uint8Array) => void) {}

  get pendingBytes(): number {
    return this.partsBytes;
  }

  push(data: Buffer, onOther: (flags: number, message: Uint8Array) => void): void {
    const onEnvelope = (flags: number, message: Uint8Array) =>
      flags === 0 ? this.onMessage(message) : onOther(flags, message);
    let chunk = data;
    if (this.partsBytes > 0) {
      this.parts.push(chunk);
      this.partsBytes += chunk.byteLength;
      if (this.partsBytes < 5) return;
      const need = 5 + Buffer.concat(this.parts, 5).readUInt32BE(1);
      if (this.partsBytes < need) return;
      // One copy: gather the message split across reads.
      chunk = Buffer.concat(this.parts, this.partsBytes);
      this.parts = [];
      this.partsBytes = 0;
    }
    let offset = 0;
    while (chunk.byteLength - offset >= 5) {
      const length = chunk.readUInt32BE(offset + 1);
      if (chunk.byteLength - offset - 5 < length) break;
      onEnvelope(chunk[offset] as number, chunk.subarray(offset + 5, offset + 5 + length));
      offset += 5 + length;
    }
    if (offset < chunk.byteLength) {
      this.parts.push(chunk.subarray(offset));
      this.partsBytes = chunk.byteLength - offset;
    }
  }
}

/** What StreamingChunkDecoder reports, as InferenceResponse messages arrive. */
interface ChunkEvents {
  onFirstByte(): void;
  /** A message's metadata, before any of its data. */
  onMetadata(metadata: Record<string, string>): void;
  /** A piece of a message's `data`, at offsetInChunk within that field. */
  onData(metadata: Record<string, string>, data: Uint8Array, offsetInChunk: number): void;
  /** A message is complete. */
  onMessage(): void;
}

/**
 * Decodes a stream of enveloped InferenceResponse messages without
 * gathering them: every field but `data` (a few hundred bytes) is collected
 * and decoded with protobuf-es; `data` is handed on in the pieces it
 * arrives in, never copied. When `data` comes before `metadata` in a
 * message (field order is free in protobuf), it is held until the message
 * ends. This is how a client reads a large `bytes` field at the speed of a
 * raw byte stream; standard gRPC clients gather each message first.
 */
class StreamingChunkDecoder implements BodyDecoder {
  private readonly head = Buffer.alloc(5);
  private headBytes = 0;
  /** Bytes left in the current envelope; -1 between envelopes. */
  private messageLeft = -1;
  private flags = 0;
  /** Non-data envelope (trailers, end of stream) being gathered. */
  private other: Buffer[] = [];
  /** The current message's fields other than data, as protobuf bytes. */
  private small: number[] = [];
  /** Varint being read: its bytes. */
  private varint: number[] = [];
  private state: "tag" | "varint-value" | "length" | "bytes" | "fixed" | "data" = "tag";
  private field = 0;
  private left = 0;
  private dataOffset = 0;
  private metadata: Record<string, string> | undefined;
  private heldData: Uint8Array[] = [];
  private seenFirstByte = false;

  constructor(private readonly events: ChunkEvents) {}

  get pendingBytes(): number {
    return this.messageLeft > 0 || this.headBytes > 0 ? 1 : 0;
  }

  push(data: Buffer, onOther: (flags: number, message: Uint8Array) => void): void {
    if (!this.seenFirstByte) {
      this.seenFirstByte = true;
      this.events.onFirstByte();
    }
    let at = 0;
    while (at < data.byteLength) {
      if (this.messageLeft < 0) {
        const n = Math.min(5 - this.headBytes, data.byteLength - at);
        data.copy(this.head, this.headBytes, at, at + n);
        this.headBytes += n;
        at += n;
        if (this.headBytes < 5) return;
        this.headBytes = 0;
        this.flags = this.head[0] as number;
        this.messageLeft = this.head.readUInt32BE(1);
        this.startMessage();
        if (this.messageLeft === 0) this.endMessage(onOther);
        continue;
      }
      const n = Math.min(this.messageLeft, data.byteLength - at);
      const piece = data.subarray(at, at + n);
      if (this.flags === 0) this.consume(piece);
      else this.other.push(piece);
      at += n;
      this.messageLeft -= n;
      if (this.messageLeft === 0) this.endMessage(onOther);
    }
  }

  private startMessage(): void {
    this.other = [];
    this.small = [];
    this.varint = [];
    this.state = "tag";
    this.dataOffset = 0;
    this.metadata = undefined;
    this.heldData = [];
  }

  private endMessage(onOther: (flags: number, message: Uint8Array) => void): void {
    this.messageLeft = -1;
    if (this.flags !== 0) {
      onOther(this.flags, Buffer.concat(this.other));
      return;
    }
    if (this.state !== "tag") {
      throw new VerificationError("a message ended inside a field");
    }
    if (this.metadata === undefined) {
      this.metadata = this.decodeSmall();
      this.events.onMetadata(this.metadata);
    }
    let offset = 0;
    for (const held of this.heldData) {
      this.events.onData(this.metadata, held, offset);
      offset += held.byteLength;
    }
    this.events.onMessage();
  }

  private decodeSmall(): Record<string, string> {
    return fromBinary(InferenceResponseSchema, Uint8Array.from(this.small)).metadata;
  }

  /** Feeds bytes of a data message through the field state machine. */
  private consume(piece: Buffer): void {
    let at = 0;
    while (at < piece.byteLength) {
      if (this.state === "data") {
        const n = Math.min(this.left, piece.byteLength - at);
        const slice = piece.subarray(at, at + n);
        if (this.metadata !== undefined) {
          this.events.onData(this.metadata, slice, this.dataOffset);
        } else {
          this.heldData.push(slice);
        }
        this.dataOffset += n;
        this.left -= n;
        at += n;
        if (this.left === 0) this.state = "tag";
        continue;
      }
      if (this.state === "bytes" || this.state === "fixed") {
        const n = Math.min(this.left, piece.byteLength - at);
        for (let i = 0; i < n; i++) this.small.push(piece[at + i] as number);
        this.left -= n;
        at += n;
        if (this.left === 0) this.state = "tag";
        continue;
      }
      // A varint: tag, varint value or length.
      const byte = piece[at] as number;
      at++;
      this.varint.push(byte);
      if (byte & 0x80) continue;
      const bytes = this.varint;
      this.varint = [];
      let value = 0;
      for (let i = bytes.length - 1; i >= 0; i--)
        value = value * 128 + ((bytes[i] as number) & 0x7f);
      if (this.state === "tag") {
        this.field = value >>> 3;
        const wireType = value & 7;
        if (this.field === 4 && wireType === 2) {
          this.state = "length";
          continue;
        }
        this.small.push(...bytes);
        if (wireType === 0) this.state = "varint-value";
        else if (wireType === 2) this.state = "length";
        else if (wireType === 1 || wireType === 5) {
          this.state = "fixed";
          this.left = wireType === 1 ? 8 : 4;
        } else throw new VerificationError(`unsupported wire type ${wireType}`);
      } else if (this.state === "varint-value") {
        this.small.push(...bytes);
        this.state = "tag";
      } else if (this.field === 4) {
        // data's length: decode what came before, then stream the bytes.
        this.left = value;
        this.state = value === 0 ? "tag" : "data";
        if (this.metadata === undefined) {
          const metadata = this.decodeSmall();
          if (metadata.image_index !== undefined) {
            this.metadata = metadata;
            this.events.onMetadata(metadata);
          }
        }
      } else {
        this.small.push(...bytes);
        this.left = value;
        this.state = value === 0 ? "tag" : "bytes";
      }
    }
  }
}

function envelope(flags: number, message: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(5 + message.byteLength);
  out[0] = flags;
  out.writeUInt32BE(message.byteLength, 1);
  out.set(message, 5);
  return out;
}

/** Throws unless the protocol's status says OK. */
function checkStatus(
  protocol: WireProtocol,
  method: string,
  headers: Headers,
  trailers: Headers,
  endOfStream: { flags: number; data: Uint8Array } | undefined,
): void {
  let code: string | undefined;
  let message = "";
  if (protocol === "grpc") {
    code = String(trailers["grpc-status"] ?? headers["grpc-status"] ?? "");
    message = String(trailers["grpc-message"] ?? headers["grpc-message"] ?? "");
  } else if (protocol === "grpc-web") {
    const text = endOfStream ? Buffer.from(endOfStream.data).toString("latin1") : "";
    code = /grpc-status:\s*(\d+)/i.exec(text)?.[1] ?? String(headers["grpc-status"] ?? "");
    message = /grpc-message:\s*(.*)/i.exec(text)?.[1]?.trim() ?? "";
  } else {
    if (endOfStream === undefined) {
      throw new VerificationError(`${method}: no Connect end-of-stream message`);
    }
    const end = JSON.parse(Buffer.from(endOfStream.data).toString("utf8")) as {
      error?: { code?: string; message?: string };
    };
    code = end.error === undefined ? "0" : end.error.code;
    message = end.error?.message ?? "";
  }
  if (code !== "0") {
    throw new Error(`${method}: status ${code || "missing"} ${decodeURIComponent(message)}`);
  }
}
