import type { Code } from "@connectrpc/connect";

/**
 * The wire protocol a call arrived on, as a metric and log label. "connect" is
 * the Connect protocol with binary protobuf, "connect-json" the same protocol
 * with JSON bodies, "rest" the chunked REST routes.
 */
export type ProtocolLabel = "grpc" | "grpc-web" | "connect" | "connect-json" | "rest";

/** The HTTP version a call arrived on: "1.1" or "2" (cleartext h2c or TLS h2 alike). */
export type HttpVersionLabel = "1.1" | "2";

/** One finished call, as the server reports it to the logger and the metrics. */
export interface CallSummary {
  /** The protocol the call used. */
  protocol: ProtocolLabel;
  /** The HTTP version of the connection the call used. */
  httpVersion: HttpVersionLabel;
  /**
   * What was called, from a fixed set: "modelmora.InferenceService/StreamInference",
   * "grpc.health.v1.Health/Check", "POST /infer/stream", "GET /healthz". Never a
   * raw request path, which would give metrics an unbounded label.
   */
  method: string;
  /**
   * The outcome as a Connect code name in snake_case: "ok" for success, else
   * "invalid_argument", "canceled", ... (see codeLabelFromCode).
   */
  code: string;
  /** Payload bytes sent to the client: image bytes for streams, body bytes otherwise. */
  bytesSent: number;
  /** Time from the start of the call to its end, in milliseconds. */
  durationMs: number;
  /** Time from the start of the call to the first response chunk, in milliseconds; undefined when nothing was sent. */
  firstChunkMs?: number;
  /** A safe key id (never a key or a token); undefined when auth is off. Logged, never a metric label. */
  keyId?: string;
  /** The error message of a failed call. */
  error?: string;
  /** The request id, when the client sent one or the server made one. */
  requestId?: string;
  /**
   * Who ended the call: "server" (it finished it, with success or an error
   * it sent), "client" (cancelled, reset or hung up), "timeout" (a deadline
   * or a server timeout), "shutdown" (cut at the end of the grace period),
   * "reset" (the HTTP/2 layer reset it). Undefined where not known.
   */
  endedBy?: string;
}

/**
 * Every Connect code name in snake_case, "ok" first. Metrics map any other
 * string to "unknown", so the code label has at most these 17 values.
 */
export const codeLabels = [
  "ok",
  "canceled",
  "unknown",
  "invalid_argument",
  "deadline_exceeded",
  "not_found",
  "already_exists",
  "permission_denied",
  "resource_exhausted",
  "failed_precondition",
  "aborted",
  "out_of_range",
  "unimplemented",
  "internal",
  "unavailable",
  "data_loss",
  "unauthenticated",
] as const;

/** One of codeLabels. */
export type CodeLabel = (typeof codeLabels)[number];

/**
 * The snake_case label of a Connect code: undefined (no error) gives "ok",
 * Code.InvalidArgument gives "invalid_argument". The names follow the Connect
 * protocol's error codes, which are the gRPC ones in snake_case.
 */
export function codeLabelFromCode(code: Code | undefined): CodeLabel {
  if (code === undefined) {
    return "ok";
  }
  // The enum's numbers are the gRPC status numbers, 1 (canceled) to 16
  // (unauthenticated), the same order as codeLabels.
  return codeLabels[code] ?? "unknown";
}

/** True when a string is one of codeLabels. */
export function isCodeLabel(code: string): code is CodeLabel {
  return (codeLabels as readonly string[]).includes(code);
}
