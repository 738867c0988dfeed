import { Code, ConnectError } from "@connectrpc/connect";
import type { HttpVersionLabel, ProtocolLabel } from "../observability/index.js";
import type { AnyRequest } from "./rest-route.js";

/**
 * One call as the server sees it, from the first byte of the request to the
 * last byte of the response, whichever protocol carried it. Filled in as the
 * call goes, then reported once to the log and the metrics.
 */
export interface CallRecord {
  readonly protocol: ProtocolLabel;
  readonly httpVersion: HttpVersionLabel;
  /** "modelmora.InferenceService/StreamInference", "POST /infer/stream", … */
  readonly method: string;
  /** Whether the response is a stream of messages. */
  readonly streaming: boolean;
  /** performance.now() when the request arrived. */
  readonly startedMs: number;
  /** performance.now() when the first response body byte was written. */
  firstChunkMs?: number;
  /** Response body bytes written (after protocol framing, before HTTP framing). */
  bytesSent: number;
  /** The outcome; undefined until known. */
  error?: ConnectError;
  /** Set once the outcome is known to be success. */
  ok?: boolean;
  keyId?: string;
  requestId?: string;
  /**
   * Payloads that bypass protobuf serialization, in the order of their
   * messages; set for binary image streams only. See splicedPayload.
   */
  splice?: Uint8Array[];
}

/**
 * Zero-copy image chunks. Serializing a 1 MB `bytes` field through
 * protobuf-es and Connect's envelope copies it three times and allocates
 * about 4 MB (a growing buffer, the final slice, the envelope): on this
 * project's 2-core machine that was the largest cost of a binary stream.
 * So for binary protocols the service yields each message with an empty
 * `data` field, this symbol holding the payload, and the payload queued in
 * CallRecord.splice; the response writer then appends field 4 (tag, length,
 * bytes) to each serialized message and fixes the envelope length. Proto3
 * parsers accept fields in any order, so the bytes on the wire decode to the
 * same message. JSON protocols serialize normally.
 */
export const splicedPayload: unique symbol = Symbol("modelmora.splicedPayload");

/** Whether a request's content type asks for binary protobuf messages. */
export function isBinaryContentType(contentType: string): boolean {
  const type = contentType.split(";", 1)[0]?.trim().toLowerCase() ?? "";
  return (
    type === "application/grpc" ||
    type === "application/grpc+proto" ||
    type === "application/grpc-web" ||
    type === "application/grpc-web+proto" ||
    type === "application/connect+proto"
  );
}

/** Which protocol a request speaks, from its path, method and content type. */
export function protocolOf(req: AnyRequest, rpc: boolean): ProtocolLabel {
  if (!rpc) return "rest";
  const contentType = String(req.headers["content-type"] ?? "").toLowerCase();
  if (contentType.startsWith("application/grpc-web")) return "grpc-web";
  if (contentType.startsWith("application/grpc")) return "grpc";
  if (contentType.includes("json")) return "connect-json";
  if (req.method === "GET") {
    // Connect GET carries the encoding in the query string.
    return /[?&]encoding=json(&|$)/.test(req.url ?? "") ? "connect-json" : "connect";
  }
  return "connect";
}

/** "1.1" or "2". */
export function httpVersionOf(req: AnyRequest): HttpVersionLabel {
  return req.httpVersion === "2.0" ? "2" : "1.1";
}

/**
 * The outcome of an RPC whose handler did not report one (it failed before
 * the implementation ran: a malformed message, a body over the limit, an
 * unsupported content type): read from the gRPC status, the Connect
 * end-of-stream message, or the HTTP status.
 */
export function errorFromResponse(
  status: number,
  header: Headers,
  trailer: Headers | undefined,
  lastChunk: Uint8Array | undefined,
): ConnectError | undefined {
  const grpcStatus = trailer?.get("grpc-status") ?? header.get("grpc-status");
  if (grpcStatus !== null && grpcStatus !== undefined) {
    const code = Number(grpcStatus);
    if (code === 0) return undefined;
    const message = decodeURIComponent(
      trailer?.get("grpc-message") ?? header.get("grpc-message") ?? "",
    );
    return new ConnectError(message, code as Code);
  }
  if (status !== 200) {
    return new ConnectError(`HTTP ${status}`, codeFromHttpStatus(status));
  }
  // Connect streaming: the last envelope has flag 0b10 and a JSON body
  // with an "error" member when the call failed.
  if (lastChunk !== undefined && lastChunk.byteLength >= 5 && (lastChunk[0] as number) & 0b10) {
    try {
      const end = JSON.parse(Buffer.from(lastChunk.subarray(5)).toString("utf8")) as {
        error?: { code?: string; message?: string };
      };
      if (end.error !== undefined) {
        return new ConnectError(end.error.message ?? "", codeFromName(end.error.code));
      }
    } catch {
      // Not an end-of-stream message we can read: assume success.
    }
  }
  return undefined;
}

function codeFromHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.InvalidArgument;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.NotFound;
    case 405:
    case 415:
    case 501:
      return Code.Unimplemented;
    case 408:
    case 504:
      return Code.DeadlineExceeded;
    case 429:
      return Code.ResourceExhausted;
    case 503:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}

function codeFromName(name: string | undefined): Code {
  if (name === undefined) return Code.Unknown;
  const key = name.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase());
  const code = (Code as unknown as Record<string, Code | undefined>)[key];
  return code ?? Code.Unknown;
}
