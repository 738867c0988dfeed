/**
 * Where the limiter keeps its counts: token buckets, bytes sent per UTC day
 * and open streams. The limiter decides what the limits are and words the
 * errors; a store only counts, each operation atomic, so that every process
 * sharing one store (workers of a server, or instances behind a balancer)
 * enforces a key's limits once.
 *
 * A store that cannot answer (a remote one that is unreachable or too slow)
 * rejects the promise; the limiter then lets the call through uncounted
 * ("fails open"), and the store reports the failure itself (log, metric).
 * A store never makes a caller wait longer than its own timeout.
 */
export interface LimitStore {
  /**
   * How many bytes a stream reserves from its key's daily quota at a time.
   * 0 reserves each chunk as it is sent: exact, for a store in this
   * process. A remote store asks for more per round trip, so that counting
   * 1 MB chunks does not slow a stream; see reserveBytes.
   */
  readonly batchBytes: number;
  /**
   * One call starts. Refuses with "quota" when the key's bytes of the UTC
   * day of nowMs reached bytesPerDay (0 = no quota); otherwise, with a rate
   * (requestsPerSecond > 0), takes one token from the key's bucket of
   * `burst` tokens, refilled at requestsPerSecond, or refuses with "rate"
   * and the milliseconds until a token is back.
   */
  admit(request: AdmitRequest): Promise<AdmitResult>;
  /**
   * A stream starts: counts it against its key (refused with "key" when
   * maxKeyStreams are open, 0 = no cap) and the server (refused with
   * "server" when maxServerStreams are open, 0 = no cap). The server check
   * comes first. Close it with closeStream.
   */
  openStream(request: OpenStreamRequest): Promise<OpenStreamResult>;
  /** A stream ends: its slots are free again. Closing an unknown id does nothing. */
  closeStream(keyId: string, streamId: string): Promise<void>;
  /**
   * Reserves bytes of the key's quota for the UTC day `day`: at least
   * minBytes, and up to maxBytes when there is room. Resolves with the bytes
   * granted. When fewer than minBytes are left, grants 0 and marks the
   * key's quota used up for the day (the bytes that still fit are counted,
   * so the next call is refused too). minBytes 0 never marks.
   */
  reserveBytes(request: ReserveBytesRequest): Promise<number>;
  /** Gives back bytes reserved on `day` that were never sent. */
  returnBytes(keyId: string, day: number, bytes: number): Promise<void>;
  /**
   * Streams this store counts for this server now, in total and per key
   * (keys with none are left out); for tests and diagnostics.
   */
  activeStreams(): Promise<ActiveStreams>;
}

/** The arguments of LimitStore.admit. */
export interface AdmitRequest {
  keyId: string;
  /** The limiter's clock, in milliseconds since the epoch. */
  nowMs: number;
  /** Token bucket refill, in tokens per second; 0 = no rate limit. */
  requestsPerSecond: number;
  /** Bucket size, in tokens (at least 1 when requestsPerSecond > 0). */
  burst: number;
  /** Daily quota, in bytes; 0 = none. */
  bytesPerDay: number;
}

/** What LimitStore.admit decided. */
export type AdmitResult =
  | { admitted: true }
  | { admitted: false; limit: "quota" }
  | { admitted: false; limit: "rate"; waitMs: number };

/** The arguments of LimitStore.openStream. */
export interface OpenStreamRequest {
  keyId: string;
  /** Unique per stream; closeStream names it. */
  streamId: string;
  /** The limiter's clock, in milliseconds since the epoch. */
  nowMs: number;
  /** Streams the key may have open; 0 = no cap. */
  maxKeyStreams: number;
  /** Streams the server may have open across all keys; 0 = no cap. */
  maxServerStreams: number;
}

/** "ok", or the limit that refused the stream. */
export type OpenStreamResult = "ok" | "key" | "server";

/** The arguments of LimitStore.reserveBytes. */
export interface ReserveBytesRequest {
  keyId: string;
  /** UTC day number: milliseconds since the epoch / 86,400,000, rounded down. */
  day: number;
  /** Bytes needed now; fewer left refuses (and marks the quota used up). */
  minBytes: number;
  /** Bytes wanted, when there is room; at least minBytes. */
  maxBytes: number;
  /** The key's daily quota, in bytes (> 0). */
  bytesPerDay: number;
}

/** Streams open now, in total and per key. */
export interface ActiveStreams {
  total: number;
  byKey: ReadonlyMap<string, number>;
}

/**
 * The batchBytes of a store in another process (Redis, the cluster
 * primary): 4 MiB, four 1 MB chunks per round trip, so that counting a
 * stream's bytes costs a round trip every few chunks rather than each one.
 */
export const remoteBatchBytes = 4 * 1024 * 1024;

/** Milliseconds in a day. */
export const dayMs = 86_400_000;

/** The UTC day number of a time, in milliseconds since the epoch. */
export function dayOf(ms: number): number {
  return Math.floor(ms / dayMs);
}
