import { dayMs } from "./limit-store.js";

/** The names of the keys the Redis store writes. */
export interface RedisKeys {
  /** A key's token bucket (a hash). */
  bucket(keyId: string): string;
  /** A key's bytes of one UTC day (a counter). */
  bytes(keyId: string, day: number): string;
  /** A key's open streams, on every instance (a sorted set by lease end). */
  keyStreams(keyId: string): string;
  /** This instance's open streams (a sorted set by lease end), for --max-streams. */
  readonly serverStreams: string;
}

/**
 * Key names under `prefix`, with the key id last so that no id (a JWT
 * subject may hold any character) can make two names meet.
 */
export function redisKeys(prefix: string, instanceId: string): RedisKeys {
  return {
    bucket: (keyId) => `${prefix}bucket:${keyId}`,
    bytes: (keyId, day) => `${prefix}bytes:${day}:${keyId}`,
    keyStreams: (keyId) => `${prefix}streams:key:${keyId}`,
    serverStreams: `${prefix}streams:instance:${instanceId}`,
  };
}

/**
 * How long a day's byte counter should live from nowMs: until an hour after
 * its day ends, at least 1 s. Relative, so that a test's fake clock works.
 */
export function bytesTtlMs(day: number, nowMs: number): number {
  return Math.max(1000, (day + 1) * dayMs + 3_600_000 - nowMs);
}
