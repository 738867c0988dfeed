import type { RedisConnection } from "./redis-connection.js";
import type { RedisKeys } from "./redis-keys.js";

/** Options for createLeaseKeeper. */
export interface LeaseKeeperOptions {
  connection: RedisConnection;
  keys: RedisKeys;
  /** How long a stream counts without renewal, in ms; renewed every third of it. */
  leaseMs: number;
  /** The clock of the leases, in ms since the epoch. */
  now(): number;
}

/** This instance's open streams in Redis, whose leases it renews while any is open. */
export interface LeaseKeeper {
  /** A stream was opened (its lease taken by the openStream script). */
  add(streamId: string, keyId: string): void;
  /** A stream ends: true when it was one of ours. */
  remove(streamId: string): boolean;
  /** The keys of the streams open here, each once. */
  keyIds(): string[];
  /** Stops renewing (the leases then end by themselves). */
  stop(): void;
}

/**
 * Renews the leases of this instance's open streams, in one script for
 * all of them, every third of a lease, and only while any is open (the
 * timer does not keep the process alive). A renewal that fails is only
 * logged by the connection: the next one tries again, and a stream whose
 * lease lapsed meanwhile is added back.
 */
export function createLeaseKeeper(options: LeaseKeeperOptions): LeaseKeeper {
  const { connection, keys, leaseMs } = options;
  const open = new Map<string, string>();
  let timer: NodeJS.Timeout | undefined;

  function renew(): void {
    if (open.size === 0) return;
    const ids = [...open.keys()];
    const keyIds = [...open.values()];
    connection
      .attempt("renew_streams", () =>
        connection.scripts.renewStreams(
          1 + ids.length,
          keys.serverStreams,
          ...keyIds.map(keys.keyStreams),
          options.now(),
          leaseMs,
          ...ids,
        ),
      )
      .catch(() => {});
  }

  function watch(): void {
    if (open.size > 0 && timer === undefined) {
      timer = setInterval(renew, Math.max(1, Math.floor(leaseMs / 3)));
      timer.unref();
    } else if (open.size === 0 && timer !== undefined) {
      clearInterval(timer);
      timer = undefined;
    }
  }

  return {
    add(streamId, keyId) {
      open.set(streamId, keyId);
      watch();
    },
    remove(streamId) {
      const removed = open.delete(streamId);
      watch();
      return removed;
    },
    keyIds: () => [...new Set(open.values())],
    stop() {
      open.clear();
      watch();
    },
  };
}
