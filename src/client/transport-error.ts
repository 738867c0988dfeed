import http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * Turns a failure of a socket, an HTTP/1.1 request or an HTTP/2 stream
 * into the ConnectError a call reports, with the codes gRPC gives them
 * (https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md#errors):
 * a server that can't be reached or a connection that breaks is
 * UNAVAILABLE; a stream reset by the peer has the code of its RST_STREAM
 * error code; anything else is INTERNAL. A ConnectError passes through.
 * The original error is the `cause`.
 */
export function connectErrorFromTransport(reason: unknown, rstCode?: number): ConnectError {
  if (reason instanceof ConnectError) return reason;
  const fromRst = rstCode === undefined ? undefined : connectErrorFromRstCode(rstCode);
  if (fromRst !== undefined) {
    fromRst.cause = reason;
    return fromRst;
  }
  const codes = nodeErrorCodes(reason);
  const code = codes.some((name) => unavailableNodeCodes.has(name))
    ? Code.Unavailable
    : Code.Internal;
  return ConnectError.from(reason, code);
}

/**
 * The code of an HTTP/2 stream reset by the peer, or undefined for
 * NO_ERROR and STREAM_CLOSED (not an error of the call by themselves).
 */
export function connectErrorFromRstCode(rstCode: number): ConnectError | undefined {
  const known = rstCodes.get(rstCode);
  if (known === undefined) return undefined;
  return new ConnectError(
    `http/2 stream closed with error code ${known.name} (0x${rstCode.toString(16)})`,
    known.code,
  );
}

/** Node error codes that mean the server could not be reached or the connection broke. */
const unavailableNodeCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EPIPE",
  "ERR_HTTP2_GOAWAY_SESSION",
  "ERR_HTTP2_SESSION_ERROR",
]);

/** RST_STREAM error codes and the call codes gRPC maps them to, by number. */
const rstCodes = new Map<number, { name: string; code: Code }>(
  (
    [
      ["PROTOCOL_ERROR", Code.Internal],
      ["INTERNAL_ERROR", Code.Internal],
      ["FLOW_CONTROL_ERROR", Code.Internal],
      ["SETTINGS_TIMEOUT", Code.Internal],
      ["FRAME_SIZE_ERROR", Code.Internal],
      ["COMPRESSION_ERROR", Code.Internal],
      ["CONNECT_ERROR", Code.Internal],
      ["REFUSED_STREAM", Code.Unavailable],
      ["CANCEL", Code.Canceled],
      ["ENHANCE_YOUR_CALM", Code.ResourceExhausted],
      ["INADEQUATE_SECURITY", Code.PermissionDenied],
      ["HTTP_1_1_REQUIRED", Code.PermissionDenied],
    ] as const
  ).map(([name, code]) => [
    (http2.constants as unknown as Record<string, number>)[`NGHTTP2_${name}`] as number,
    { name, code },
  ]),
);

/** The `code` of an error and of each error in its `cause` chain. */
function nodeErrorCodes(reason: unknown): string[] {
  const codes: string[] = [];
  const seen = new Set<unknown>();
  for (let error = reason; error instanceof Error && !seen.has(error); error = error.cause) {
    seen.add(error);
    const code = (error as NodeJS.ErrnoException).code;
    if (typeof code === "string") codes.push(code);
  }
  return codes;
}
