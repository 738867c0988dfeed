import type { CallOptions } from "@connectrpc/connect";

/** The binary protocols streamImages reads at the wire level. */
export type WireProtocolName = "grpc" | "grpc-web" | "connect";

/**
 * What differs between gRPC, gRPC-Web and Connect for one server-streaming
 * call, once the envelopes are read: the request headers, and where the
 * status is (HTTP trailers, a trailer envelope, an end-of-stream envelope).
 * Each is built from @connectrpc/connect's own protocol helpers, so codes,
 * messages and metadata are what connect-node's transports report.
 */
export interface WireProtocol {
  readonly name: WireProtocolName;
  /**
   * The request headers of a server-streaming call: content type, protocol
   * version, the deadline (`grpc-timeout`, `connect-timeout-ms`) and the
   * caller's headers. No compression is offered: image chunks are PNG,
   * compressed already, and the server never compresses them.
   */
  requestHeader(timeoutMs: number | undefined, userHeaders: CallOptions["headers"]): Headers;
  /**
   * Checks the response's HTTP status and headers; throws the call's
   * ConnectError when they carry an error. Returns what reads the rest.
   */
  openResponse(status: number, header: Headers): WireResponse;
}

/** The status part of one response, fed as the body is read. */
export interface WireResponse {
  /** The call's trailers, as the protocol carries them; complete after finish(). */
  readonly trailer: Headers;
  /** Called before each message: throws if one comes where none may. */
  beforeMessage(): void;
  /** An envelope that is not a message (flags ≠ 0): throws on an error status. */
  onControl(flags: number, data: Uint8Array): void;
  /** The body ended, with these HTTP trailers: throws unless the call succeeded. */
  finish(httpTrailer: Headers): void;
}
