import type http from "node:http";
import { STATUS_CODES } from "node:http";
import net from "node:net";
import type { CloseReason } from "../observability/index.js";

/** The HTTP/1.1 bounds, as Node's HTTP/1 server takes them. */
export interface Http1Bounds {
  readonly headersTimeoutMs: number;
  readonly bodyTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
}

/** Node's HTTP/1 server settings for the bounds. */
export function http1Settings(bounds: Http1Bounds) {
  return {
    headersTimeout: bounds.headersTimeoutMs,
    // Node's whole-request timeout, a backstop behind the body timeout of
    // the routes that read a body.
    requestTimeout: bounds.headersTimeoutMs + bounds.bodyTimeoutMs,
    keepAliveTimeout: bounds.keepAliveTimeoutMs,
    maxHeaderSize: bounds.maxHeaderBytes,
    // How often Node checks the header and request timeouts.
    connectionsCheckingInterval: Math.max(50, Math.min(1000, bounds.headersTimeoutMs / 4)),
  };
}

/**
 * Answers HTTP/1.1 parse errors and timeouts as Node would (400, 408, 413,
 * 431, then close) and closes idle keep-alive connections, counting each
 * close the server makes by reason.
 */
export function watchHttp1(server: http.Server, onClose: (reason: CloseReason) => void): void {
  server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
    if (err.code === "ERR_TLS_HANDSHAKE_TIMEOUT") {
      onClose("tls_handshake_timeout");
    } else if (err.code === "ERR_HTTP_REQUEST_TIMEOUT") {
      onClose("headers_timeout");
    }
    const status = httpStatusOfClientError(err.code);
    const response = socket as net.Socket & { _httpMessage?: { headersSent?: boolean } };
    if (status !== undefined && socket.writable && response._httpMessage?.headersSent !== true) {
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
      );
    }
    socket.destroySoon();
  });
  // Emitted when a keep-alive connection was idle for keepAliveTimeoutMs.
  server.on("timeout", (socket: unknown) => {
    if (socket instanceof net.Socket) {
      onClose("idle_timeout");
      socket.destroy();
    }
  });
}

/** The status Node answers an HTTP/1.1 parse or timeout error with; undefined for a reset. */
function httpStatusOfClientError(code: string | undefined): number | undefined {
  switch (code) {
    case "ECONNRESET":
    case "ERR_TLS_HANDSHAKE_TIMEOUT":
      return undefined;
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return 408;
    case "HPE_HEADER_OVERFLOW":
      return 431;
    case "HPE_CHUNK_EXTENSIONS_OVERFLOW":
      return 413;
    default:
      return 400;
  }
}
