import { Code, ConnectError } from "@connectrpc/connect";
import type { AnyResponse } from "./http-types.js";

/** The error of a response whose client read nothing for too long. */
export function streamStalled(timeoutMs: number): ConnectError {
  return new ConnectError(
    `the client read nothing for ${timeoutMs} ms; the stream was ended`,
    Code.DeadlineExceeded,
  );
}

/** The error of a response whose client went away. */
export const clientClosed = (): ConnectError =>
  new ConnectError("client closed the response", Code.Canceled);

/**
 * Waits until the response can take more ('drain'). Rejects with CANCELED
 * when it closes first, and with DEADLINE_EXCEEDED (streamStalled) when
 * nothing drained within timeoutMs.
 */
export function drained(res: AnyResponse, timeoutMs: number): Promise<void> {
  if (res.destroyed) return Promise.reject(clientClosed());
  return new Promise<void>((resolve, reject) => {
    const done = (error?: ConnectError) => {
      clearTimeout(timer);
      res.off("drain", onDrain);
      res.off("close", onClose);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onDrain = () => done();
    const onClose = () => done(clientClosed());
    const timer = setTimeout(() => done(streamStalled(timeoutMs)), timeoutMs);
    res.once("drain", onDrain);
    res.once("close", onClose);
  });
}

/** Bytes a response has queued and not yet handed to the socket. */
export function queuedBytes(res: AnyResponse): number {
  return (res as { writableLength?: number }).writableLength ?? 0;
}
