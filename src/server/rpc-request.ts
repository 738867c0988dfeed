import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { type DescMethod, fromBinary, type MessageShape } from "@bufbuild/protobuf";
import { base64Decode } from "@bufbuild/protobuf/wire";
import { Code, ConnectError } from "@connectrpc/connect";
import { parseTimeout as parseConnectTimeout } from "@connectrpc/connect/protocol-connect";
import { parseTimeout as parseGrpcTimeout } from "@connectrpc/connect/protocol-grpc";
import { messageFromJsonBytes } from "./json-message.js";
import { bodyTooLarge } from "./request-body.js";
import type { WireFormat } from "./wire-format.js";

/** The request message of an RPC, checked, and the body Connect is given instead. */
export interface RpcRequest<Desc extends DescMethod = DescMethod> {
  /** The request message. */
  readonly message: MessageShape<Desc["input"]>;
  /**
   * The body to hand to connect-es: the one message, uncompressed, in an
   * envelope where the protocol uses them; undefined for Connect GET, whose
   * message stays in the query.
   */
  readonly body: Uint8Array | undefined;
}

/** Compression a request may use; connect-node's gzip and Brotli. */
const decompressors: Readonly<Record<string, (data: Uint8Array, maxBytes: number) => Buffer>> = {
  gzip: (data, maxBytes) => gunzipSync(data, { maxOutputLength: maxBytes }),
  br: (data, maxBytes) => brotliDecompressSync(data, { maxOutputLength: maxBytes }),
};

/** The encoding names the server accepts, for errors and accept-encoding headers. */
export const acceptedEncodings = Object.keys(decompressors).join(",");

/**
 * Reads and checks the request of an RPC before connect-es sees it, so that
 * every malformed request is INVALID_ARGUMENT with a message that says
 * what is wrong, whatever the protocol: the timeout header, the envelope
 * (flags, length, how many), compression (declared, known, and within
 * maxBytes once inflated), and the message itself (protobuf, or JSON under
 * messageFromJsonBytes' rules). Unknown compression is UNIMPLEMENTED, as the
 * gRPC and Connect protocols require. Removes the headers of what it undid
 * (compression, content length) from `headers`.
 */
export function readRpcRequest<Desc extends DescMethod>(
  method: Desc,
  format: WireFormat,
  headers: Headers,
  url: string,
  body: Uint8Array,
  maxBytes: number,
): RpcRequest<Desc> {
  checkTimeoutHeader(format, headers);
  headers.delete("content-length");
  if (format.get) {
    const query = new URLSearchParams(url.split("?")[1] ?? "");
    const bytes = messageFromQuery(query, maxBytes);
    return { message: parseMessage(method, format, bytes), body: undefined };
  }
  if (format.family === "connect-unary") {
    const encoding = takeHeader(headers, "content-encoding");
    const bytes = encoding === undefined ? body : decompress(body, encoding, maxBytes, format);
    return { message: parseMessage(method, format, bytes), body: bytes };
  }
  const encodingHeader =
    format.family === "connect-stream" ? "connect-content-encoding" : "grpc-encoding";
  const encoding = takeHeader(headers, encodingHeader);
  const [envelope, ...extra] = splitEnvelopes(body, maxBytes);
  if (envelope === undefined) {
    throw invalid("request has no message; this method takes exactly one");
  }
  if (extra.length > 0) {
    throw invalid(`request has ${extra.length + 1} messages; this method takes exactly one`);
  }
  let bytes = envelope.data;
  if (envelope.compressed) {
    if (encoding === undefined) {
      throw invalid(
        `request message is compressed but the request has no ${encodingHeader} header`,
      );
    }
    bytes = decompress(bytes, encoding, maxBytes, format);
  } else if (encoding !== undefined && decompressors[encoding] === undefined) {
    throw unknownEncoding(encoding, format);
  }
  const enveloped = Buffer.allocUnsafe(5 + bytes.byteLength);
  enveloped[0] = 0;
  enveloped.writeUInt32BE(bytes.byteLength, 1);
  enveloped.set(bytes, 5);
  return { message: parseMessage(method, format, bytes), body: enveloped };
}

interface Envelope {
  readonly compressed: boolean;
  readonly data: Uint8Array;
}

/** Splits enveloped messages: a flags byte, a 4-byte big-endian length, the message. */
function splitEnvelopes(body: Uint8Array, maxBytes: number): Envelope[] {
  const envelopes: Envelope[] = [];
  const view = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  for (let offset = 0; offset < view.byteLength; ) {
    if (view.byteLength - offset < 5) {
      throw invalid(
        `request envelope is truncated: ${view.byteLength - offset} bytes of its 5-byte prefix`,
      );
    }
    const flags = view[offset] as number;
    const length = view.readUInt32BE(offset + 1);
    if ((flags & ~0b1) !== 0) {
      throw invalid(
        `request envelope has flags 0x${flags.toString(16).padStart(2, "0")}; a request message may only set 0x01 (compressed)`,
      );
    }
    if (length > maxBytes) {
      throw bodyTooLarge(length, maxBytes);
    }
    const start = offset + 5;
    if (start + length > view.byteLength) {
      throw invalid(
        `request envelope is truncated: it declares ${length} bytes and has ${view.byteLength - start}`,
      );
    }
    envelopes.push({ compressed: flags === 1, data: view.subarray(start, start + length) });
    offset = start + length;
  }
  return envelopes;
}

function decompress(
  data: Uint8Array,
  encoding: string,
  maxBytes: number,
  format: WireFormat,
): Uint8Array {
  if (encoding === "identity") return data;
  const inflate = decompressors[encoding];
  if (inflate === undefined) {
    throw unknownEncoding(encoding, format);
  }
  try {
    return inflate(data, maxBytes);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw bodyTooLarge(maxBytes + 1, maxBytes);
    }
    throw invalid(`request message is not valid ${encoding}: ${(err as Error).message}`);
  }
}

function unknownEncoding(encoding: string, format: WireFormat): ConnectError {
  const acceptHeader =
    format.family === "connect-unary"
      ? "accept-encoding"
      : format.family === "connect-stream"
        ? "connect-accept-encoding"
        : "grpc-accept-encoding";
  return new ConnectError(
    `request compression "${encoding.slice(0, 32)}" is not supported; use one of ${acceptedEncodings} or none`,
    Code.Unimplemented,
    { [acceptHeader]: acceptedEncodings },
  );
}

/** The message of a Connect GET: `message`, base64url-encoded when `base64=1`, maybe compressed. */
function messageFromQuery(query: URLSearchParams, maxBytes: number): Uint8Array {
  const text = query.get("message") ?? "";
  const base64 = query.get("base64");
  if (base64 !== null && base64 !== "1" && base64 !== "0") {
    throw invalid(`query parameter base64 must be 1 or absent, got "${base64.slice(0, 16)}"`);
  }
  let bytes: Uint8Array;
  if (base64 === "1") {
    if (!/^[A-Za-z0-9\-_+/]*={0,2}$/.test(text)) {
      throw invalid("query parameter message is not valid base64");
    }
    bytes = base64Decode(text);
  } else {
    bytes = Buffer.from(text, "utf8");
  }
  if (bytes.byteLength > maxBytes) {
    throw bodyTooLarge(bytes.byteLength, maxBytes);
  }
  const compression = query.get("compression");
  const format: WireFormat = {
    protocol: "connect",
    family: "connect-unary",
    binary: true,
    get: true,
  };
  return compression === null ? bytes : decompress(bytes, compression, maxBytes, format);
}

function parseMessage<Desc extends DescMethod>(
  method: Desc,
  format: WireFormat,
  bytes: Uint8Array,
): MessageShape<Desc["input"]> {
  if (!format.binary) {
    return messageFromJsonBytes(method.input, bytes) as MessageShape<Desc["input"]>;
  }
  try {
    return fromBinary(method.input, bytes) as MessageShape<Desc["input"]>;
  } catch (err) {
    throw invalid(
      `could not parse the request message as a ${method.input.name} (protobuf binary): ${(err as Error).message}`,
    );
  }
}

/** Checks grpc-timeout or connect-timeout-ms, as connect-es would read it. */
function checkTimeoutHeader(format: WireFormat, headers: Headers): void {
  const grpcStyle = format.family === "grpc" || format.family === "grpc-web";
  const value = headers.get(grpcStyle ? "grpc-timeout" : "connect-timeout-ms");
  // No upper bound, as the router has none (connect-es's default).
  const max = Number.MAX_SAFE_INTEGER;
  const parsed = grpcStyle ? parseGrpcTimeout(value, max) : parseConnectTimeout(value, max);
  if (parsed.error !== undefined) {
    throw new ConnectError(parsed.error.rawMessage, Code.InvalidArgument);
  }
}

function takeHeader(headers: Headers, name: string): string | undefined {
  const value = headers.get(name);
  headers.delete(name);
  return value === null ? undefined : value.trim().toLowerCase();
}

function invalid(message: string): ConnectError {
  return new ConnectError(message, Code.InvalidArgument);
}
