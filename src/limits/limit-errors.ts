import type { ConnectError } from "@connectrpc/connect";
import { dayMs, dayOf } from "./limit-store.js";
import { resourceExhausted } from "./retry-after.js";

/**
 * The limiter's refusals, each a ConnectError RESOURCE_EXHAUSTED whose
 * message names the limit and the key, with `retry-after` (resourceExhausted).
 */

/** The key's daily byte quota is used up: retry after the next UTC midnight. */
export function quotaUsedUp(keyId: string, bytesPerDay: number, nowMs: number): ConnectError {
  const untilMidnightMs = (dayOf(nowMs) + 1) * dayMs - nowMs;
  return resourceExhausted(
    `daily quota of ${bytesPerDay} bytes for key '${keyId}' is used up until 00:00 UTC`,
    untilMidnightMs,
  );
}

/** The key's token bucket is empty: retry once a token is back, in waitMs. */
export function rateLimitExceeded(
  keyId: string,
  requestsPerSecond: number,
  waitMs: number,
): ConnectError {
  return resourceExhausted(
    `rate limit of ${requestsPerSecond} requests/s for key '${keyId}' exceeded`,
    waitMs,
  );
}

/** The server has maxServerStreams open: retry after 1 s. */
export function serverStreamsFull(maxServerStreams: number): ConnectError {
  return resourceExhausted(
    `server is at its limit of ${maxServerStreams} concurrent streams`,
    1000,
  );
}

/** The key has maxKeyStreams open: retry after 1 s. */
export function keyStreamsFull(keyId: string, maxKeyStreams: number): ConnectError {
  return resourceExhausted(
    `concurrent stream limit of ${maxKeyStreams} for key '${keyId}' reached`,
    1000,
  );
}
