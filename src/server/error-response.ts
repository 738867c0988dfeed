import { Code, type ConnectError } from "@connectrpc/connect";
import { encodeEnvelope } from "@connectrpc/connect/protocol";
import {
  codeToHttpStatus,
  endStreamFlag,
  endStreamToJson,
  errorToJsonBytes,
} from "@connectrpc/connect/protocol-connect";
import { setTrailerStatus } from "@connectrpc/connect/protocol-grpc";
import { type AnyResponse, headersObject, sendBody } from "./http-types.js";
import type { WireFormat } from "./wire-format.js";

/**
 * Answers a request that failed before any response was written, in the
 * way of its protocol, so every client reads the code and message:
 *
 * - gRPC and gRPC-Web: a "trailers-only" response, HTTP 200 with
 *   grpc-status and grpc-message in the headers;
 * - Connect streaming: HTTP 200 and one end-of-stream message holding the
 *   error;
 * - Connect unary and REST: the HTTP status of the error (httpStatusOf)
 *   and the JSON {"code", "message"}.
 *
 * The error's metadata (retry-after, say) goes out as headers. `format` is
 * undefined for REST and for RPC requests whose content type was not
 * understood (they are answered as Connect unary is).
 */
export function writeErrorResponse(
  res: AnyResponse,
  format: WireFormat | undefined,
  error: ConnectError,
): void {
  if (res.headersSent) {
    // Too late for a status: cut the response off so the client sees it
    // end early instead of short.
    res.destroy();
    return;
  }
  switch (format?.family) {
    case "grpc":
    case "grpc-web": {
      const headers = setTrailerStatus(new Headers(), error);
      const subtype = format.binary ? "proto" : "json";
      headers.set("content-type", `application/${format.family}+${subtype}`);
      for (const [name, value] of Object.entries(headersObject(headers))) {
        res.setHeader(name, value);
      }
      // end() without writeHead() sends the headers with END_STREAM: one
      // HEADERS frame, which is what gRPC clients read as trailers-only.
      res.statusCode = 200;
      res.end();
      return;
    }
    case "connect-stream": {
      const json = JSON.stringify(endStreamToJson(new Headers(), error, {}));
      const body = encodeEnvelope(endStreamFlag, Buffer.from(json, "utf8"));
      sendBody(res, 200, `application/connect+${format.binary ? "proto" : "json"}`, body);
      return;
    }
    default:
      error.metadata.forEach((value, name) => {
        res.setHeader(name, value);
      });
      sendBody(
        res,
        httpStatusOf(error, format === undefined),
        "application/json",
        errorToJsonBytes(error, {}),
      );
  }
}

// HTTP statuses more precise than the code's, for errors that have one.
const httpStatuses = new WeakMap<ConnectError, number>();

/** Gives an error the HTTP status REST and Connect unary answer it with (405, 415). */
export function withHttpStatus(error: ConnectError, status: number): ConnectError {
  httpStatuses.set(error, status);
  return error;
}

/**
 * The HTTP status of an error: its own (withHttpStatus), else Connect's
 * table for its code; for REST, DEADLINE_EXCEEDED is 408 (REST calls have
 * no deadline, so the only one is the request body's).
 */
export function httpStatusOf(error: ConnectError, rest: boolean): number {
  const own = httpStatuses.get(error);
  if (own !== undefined) return own;
  if (rest && error.code === Code.DeadlineExceeded) return 408;
  return codeToHttpStatus(error.code);
}

/** Whether a code means the client ended the call, not the server. */
export function isClientCode(code: Code): boolean {
  return code === Code.Canceled || code === Code.Aborted;
}
