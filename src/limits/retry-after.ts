import { Code, ConnectError } from "@connectrpc/connect";

/** The metadata key of the wait, in whole seconds, that comes with RESOURCE_EXHAUSTED. */
export const retryAfterHeader = "retry-after";

/**
 * A RESOURCE_EXHAUSTED error that says how long to wait: `retry-after` in its
 * metadata (so REST can answer 429 with a Retry-After header, and gRPC and
 * Connect clients see it in trailers or headers). The wait is rounded up to
 * whole seconds, at least 1.
 */
export function resourceExhausted(message: string, retryAfterMs: number): ConnectError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new ConnectError(`${message}; retry after ${seconds} s`, Code.ResourceExhausted, {
    [retryAfterHeader]: String(seconds),
  });
}

/**
 * The wait a limit error asks for, in whole seconds, read from its
 * `retry-after` metadata; undefined when it has none (any other error).
 */
export function retryAfterSeconds(error: ConnectError): number | undefined {
  const value = error.metadata.get(retryAfterHeader);
  if (value === null || !/^\d+$/.test(value)) {
    return undefined;
  }
  return Number(value);
}
