import { Code, ConnectError } from "@connectrpc/connect";
import type { AnyRequest } from "./http-types.js";

/** Bounds on a request body. */
export interface BodyLimits {
  /** Largest body, in bytes, after any decompression too. */
  readonly maxBytes: number;
  /** Time from the end of the headers to the end of the body, in ms. */
  readonly timeoutMs: number;
}

/** The error for a body (or a message in it) over the limit. */
export function bodyTooLarge(bytes: number, maxBytes: number): ConnectError {
  return new ConnectError(
    `request body is ${bytes} bytes or more; the limit is ${maxBytes}`,
    Code.InvalidArgument,
  );
}

/** The error for a body that did not arrive in time. */
export function bodyTimedOut(timeoutMs: number): ConnectError {
  return new ConnectError(
    `request body not received within ${timeoutMs} ms`,
    Code.DeadlineExceeded,
  );
}

// The errors readRequestBody failed with: the rest of such a body is not
// worth reading.
const bodyFailures = new WeakSet<ConnectError>();

/** Whether an error is one readRequestBody failed with (too large, too slow, client gone). */
export function isBodyFailure(err: unknown): boolean {
  return err instanceof ConnectError && bodyFailures.has(err);
}

/**
 * Reads a whole request body. Rejects with INVALID_ARGUMENT past maxBytes
 * (at once when Content-Length says so), DEADLINE_EXCEEDED when the body
 * has not ended within timeoutMs, and CANCELED when the client goes away.
 * On rejection it stops reading; the caller answers and closes the stream.
 */
export function readRequestBody(req: AnyRequest, limits: BodyLimits): Promise<Buffer> {
  const declared = Number(req.headers["content-length"] ?? Number.NaN);
  if (declared > limits.maxBytes) {
    const error = bodyTooLarge(declared, limits.maxBytes);
    bodyFailures.add(error);
    return Promise.reject(error);
  }
  if (req.readableEnded) {
    return Promise.resolve(Buffer.alloc(0));
  }
  return new Promise<Buffer>((resolve, reject) => {
    const parts: Buffer[] = [];
    let length = 0;
    const timer = setTimeout(() => fail(bodyTimedOut(limits.timeoutMs)), limits.timeoutMs);
    function onData(part: Buffer): void {
      length += part.byteLength;
      if (length > limits.maxBytes) {
        fail(bodyTooLarge(length, limits.maxBytes));
        return;
      }
      parts.push(part);
    }
    function onEnd(): void {
      cleanup();
      resolve(Buffer.concat(parts, length));
    }
    function onGone(): void {
      fail(new ConnectError("client went away before the request body ended", Code.Canceled));
    }
    function fail(error: ConnectError): void {
      bodyFailures.add(error);
      cleanup();
      req.pause();
      reject(error);
    }
    function cleanup(): void {
      clearTimeout(timer);
      req.off("data", onData);
      req.off("end", onEnd);
      req.off("aborted", onGone);
      req.off("close", onGone);
      req.off("error", onGone);
    }
    req.on("data", onData);
    req.once("end", onEnd);
    req.once("aborted", onGone);
    req.once("close", onGone);
    req.once("error", onGone);
  });
}
