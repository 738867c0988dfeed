import { Code, ConnectError } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";

/**
 * An error as the page shows it: the server's code and message as it sent
 * them ("invalid_argument: batch_size must be from 1 to 32, got 40"), the
 * retry-after of a resource_exhausted when the message does not say it,
 * and what to do about credentials.
 */
export function describeError(err: unknown): string {
  const error = ConnectError.from(err);
  let text = `${codeToString(error.code)}: ${error.rawMessage}`;
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined && !/retry after/i.test(error.rawMessage)) {
    text += ` (retry after ${retryAfter} s)`;
  }
  if (error.code === Code.Unauthenticated) {
    text += " — enter an API key above";
  }
  return text;
}

/** Whether an error is the client's own stop (Canceled), not a failure. */
export function isStop(err: unknown): boolean {
  return ConnectError.from(err).code === Code.Canceled;
}

/**
 * The retry-after of an error, in seconds, from its metadata: the
 * Retry-After header of REST and Connect unary, or the trailer of
 * streaming protocols. A page on another origin reads the header only
 * because the server exposes it (--cors-origin).
 */
export function retryAfterOf(err: unknown): string | undefined {
  return ConnectError.from(err).metadata.get("retry-after") ?? undefined;
}
