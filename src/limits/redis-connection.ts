import { Redis } from "ioredis";
import type { Registry } from "prom-client";
import {
  admitScript,
  chargeBytesScript,
  closeStreamScript,
  countStreamsScript,
  openStreamScript,
  type RedisScript,
  renewStreamsScript,
  reserveBytesScript,
  returnBytesScript,
} from "./redis-scripts.js";
import { redactedUrl } from "./redis-url.js";
import { createStoreHealth, type LimitStoreLogger } from "./store-health.js";

/** Runs one of the scripts: keys, then arguments. */
export type ScriptRunner = (...args: (string | number)[]) => Promise<unknown>;

/** The limit store's scripts, by name (redis-scripts.ts says what each does). */
export interface LimitScripts {
  readonly admit: ScriptRunner;
  readonly reserveBytes: ScriptRunner;
  readonly returnBytes: ScriptRunner;
  readonly chargeBytes: ScriptRunner;
  readonly openStream: ScriptRunner;
  readonly renewStreams: ScriptRunner;
  readonly closeStream: ScriptRunner;
  readonly countStreams: ScriptRunner;
}

/** Options for createRedisConnection. */
export interface RedisConnectionOptions {
  url: string;
  /** How long a command may take, in ms; also bounds the wait for a connection. */
  commandTimeoutMs: number;
  /** After a timeout, how long to fail every operation at once, in ms. */
  retryAfterTimeoutMs: number;
  logger?: LimitStoreLogger;
  registry?: Registry;
  /** Called each time Redis answers again after it did not (and once connected). */
  onBack(): void;
}

/** A connection to Redis that never makes a caller wait past its timeout. */
export interface RedisConnection {
  readonly scripts: LimitScripts;
  /** True while connected and no command timed out in the last retryAfterTimeoutMs. */
  readonly reachable: boolean;
  /**
   * Runs an operation, or fails at once while Redis is known to be away.
   * Every failure is counted under `operation` and said once in the log.
   */
  attempt<T>(operation: string, run: () => Promise<T>): Promise<T>;
  /** Resolves true once connected, or false after timeoutMs. */
  ready(timeoutMs: number): Promise<boolean>;
  /** Closes the connection, quietly. */
  close(): Promise<void>;
}

/**
 * Connects to Redis with ioredis, set up so that no call hangs: commands
 * are not queued while disconnected (they fail at once), each has a
 * timeout, a command that timed out is never sent again, and it reconnects
 * by itself with back-off up to 2 s. Failures and recoveries go to the
 * store's health (createStoreHealth): one warning, one line back, metrics.
 */
export function createRedisConnection(options: RedisConnectionOptions): RedisConnection {
  const { commandTimeoutMs } = options;
  const redis = connectRedis(options.url, commandTimeoutMs);
  const health = createStoreHealth({
    store: redactedUrl(options.url),
    logger: options.logger,
    registry: options.registry,
  });
  let suspendedUntilMs = 0;
  const back = () => {
    health.succeeded();
    options.onBack();
  };
  redis.on("error", (error) => health.lost(error));
  redis.on("close", () => health.lost(new Error("connection closed")));
  redis.on("ready", () => {
    suspendedUntilMs = 0;
    back();
  });

  return {
    scripts: defineScripts(redis),
    get reachable() {
      return health.reachable && performance.now() >= suspendedUntilMs;
    },
    async attempt(operation, run) {
      if (redis.status !== "ready" || performance.now() < suspendedUntilMs) {
        const error = new Error(`Redis is unreachable (connection ${redis.status})`);
        health.failed(operation, error);
        throw error;
      }
      try {
        const result = await run();
        if (!health.reachable) back();
        return result;
      } catch (error) {
        if (error instanceof Error && /timed out/i.test(error.message)) {
          suspendedUntilMs = performance.now() + options.retryAfterTimeoutMs;
        }
        health.failed(operation, error);
        throw error;
      }
    },
    ready: (timeoutMs) => readyWithin(redis, timeoutMs),
    async close() {
      health.mute();
      await quitWithin(redis, commandTimeoutMs);
    },
  };
}

/**
 * An ioredis client that never queues: commands fail at once while
 * disconnected, each has a timeout, one that timed out is not sent again,
 * and it reconnects with back-off from 200 ms up to 2 s.
 */
function connectRedis(url: string, commandTimeoutMs: number): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    commandTimeout: commandTimeoutMs,
    connectTimeout: Math.max(1000, commandTimeoutMs),
    autoResendUnfulfilledCommands: false,
    maxRetriesPerRequest: 0,
    retryStrategy: (attempt) => Math.min(100 * 2 ** Math.min(attempt, 5), 2000),
  });
}

/**
 * Resolves true once the client is ready, or false after timeoutMs. (Not
 * events.once: that rejects on the first "error", while the client keeps
 * trying until the timeout.)
 */
function readyWithin(redis: Redis, timeoutMs: number): Promise<boolean> {
  if (redis.status === "ready") return Promise.resolve(true);
  return new Promise((resolve) => {
    const onReady = () => {
      clearTimeout(timer);
      resolve(true);
    };
    const timer = setTimeout(() => {
      redis.off("ready", onReady);
      resolve(false);
    }, timeoutMs);
    redis.once("ready", onReady);
  });
}

/** Says goodbye (QUIT) within timeoutMs, then drops the connection either way. */
async function quitWithin(redis: Redis, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      redis.quit(),
      new Promise((_, reject) => {
        timer = setTimeout(reject, timeoutMs);
      }),
    ]);
  } catch {
    // Not connected, or no answer: drop the connection.
  } finally {
    clearTimeout(timer);
  }
  redis.disconnect();
}

/** Defines the scripts on the connection (EVALSHA, falling back to EVAL once after a restart). */
function defineScripts(redis: Redis): LimitScripts {
  const commands = redis as unknown as Record<string, ScriptRunner>;
  const script = (name: string, definition: RedisScript): ScriptRunner => {
    redis.defineCommand(name, { lua: definition.lua, numberOfKeys: definition.numberOfKeys });
    return (...args) => (commands[name] as ScriptRunner).call(redis, ...args);
  };
  return {
    admit: script("modelmoraAdmit", admitScript),
    reserveBytes: script("modelmoraReserveBytes", reserveBytesScript),
    returnBytes: script("modelmoraReturnBytes", returnBytesScript),
    chargeBytes: script("modelmoraChargeBytes", chargeBytesScript),
    openStream: script("modelmoraOpenStream", openStreamScript),
    renewStreams: script("modelmoraRenewStreams", renewStreamsScript),
    closeStream: script("modelmoraCloseStream", closeStreamScript),
    countStreams: script("modelmoraCountStreams", countStreamsScript),
  };
}
