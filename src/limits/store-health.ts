import { Counter, Gauge, type Registry } from "prom-client";

/** What a remote limit store writes to the log. */
export interface LimitStoreLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
}

/** Options for createStoreHealth. */
export interface StoreHealthOptions {
  /** What the log lines name as the store, such as "redis://host:6379/" (never a password). */
  store: string;
  /** Where the lines go. Default: nowhere. */
  logger?: LimitStoreLogger;
  /** Where the metrics go. Default: none. */
  registry?: Registry;
}

/**
 * How a remote limit store is doing, said once per change: one warning
 * when it stops answering ("limits are not enforced"), one line when it
 * answers again. Counts every failed operation in
 * modelmora_limit_store_failures_total{operation} (each one a limit check
 * let through) and shows modelmora_limit_store_up (1 or 0; across cluster
 * workers the lowest).
 */
export interface StoreHealth {
  /** True after a success, false after a failure. Starts false. */
  readonly reachable: boolean;
  /** An operation answered. */
  succeeded(): void;
  /** An operation failed: the limiter lets its check through. */
  failed(operation: string, error: unknown): void;
  /** The connection went (no operation failed yet): warn, count nothing. */
  lost(error: unknown): void;
  /** From now on say nothing (the store is closing). */
  mute(): void;
}

/** Creates the health of one remote store. */
export function createStoreHealth(options: StoreHealthOptions): StoreHealth {
  const registers = options.registry === undefined ? [] : [options.registry];
  const failures = new Counter({
    name: "modelmora_limit_store_failures_total",
    help: "Operations of the shared limit store that failed (unreachable or timed out); each let a limit check through.",
    labelNames: ["operation"],
    registers,
  });
  const up = new Gauge({
    name: "modelmora_limit_store_up",
    help: "1 while the shared limit store answers, 0 while limits are not enforced.",
    registers,
    // Across cluster workers: 0 as soon as one of them cannot reach it.
    aggregator: "min",
  });
  up.set(0);
  let reachable = false;
  let warned = false;
  let muted = false;

  function down(error: unknown): void {
    reachable = false;
    up.set(0);
    if (!warned && !muted) {
      warned = true;
      options.logger?.warn("limit store unreachable: limits are not enforced until it answers", {
        store: options.store,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }

  return {
    get reachable() {
      return reachable;
    },
    succeeded() {
      if (reachable) return;
      reachable = true;
      up.set(1);
      if (warned && !muted) {
        warned = false;
        options.logger?.info("limit store reachable again: limits are enforced", {
          store: options.store,
        });
      }
    },
    failed(operation, error) {
      failures.inc({ operation });
      down(error);
    },
    lost: down,
    mute() {
      muted = true;
    },
  };
}
