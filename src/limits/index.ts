/**
 * Per-key rate limits, daily byte quotas and concurrent-stream limits, the
 * RESOURCE_EXHAUSTED errors (with retry-after) they answer with, and the
 * stores that keep their counts: in memory for one process, in Redis for
 * several instances.
 */
export {
  type KeyLimits,
  keyLimitsFromJson,
  keyLimitsJsonNames,
  resolveKeyLimits,
  unlimited,
} from "./key-limits.js";
export {
  type ActiveStreams,
  type AdmitRequest,
  type AdmitResult,
  dayOf,
  type LimitStore,
  type OpenStreamRequest,
  type OpenStreamResult,
  type ReserveBytesRequest,
  remoteBatchBytes,
} from "./limit-store.js";
export { createLimiter, type Limiter, type LimiterOptions } from "./limiter.js";
export {
  createMemoryBudget,
  type ImageHold,
  type MemoryBudget,
  type MemoryBudgetOptions,
  type Reservation,
} from "./memory-budget.js";
export { createMemoryLimitStore, type MemoryLimitStore } from "./memory-limit-store.js";
export {
  createRedisLimitStore,
  type RedisLimitStore,
  type RedisLimitStoreOptions,
} from "./redis-limit-store.js";
export { checkRedisUrl } from "./redis-url.js";
export { resourceExhausted, retryAfterHeader, retryAfterSeconds } from "./retry-after.js";
export {
  createStoreHealth,
  type LimitStoreLogger,
  type StoreHealth,
  type StoreHealthOptions,
} from "./store-health.js";
export type { StreamTicket } from "./stream-ticket.js";
