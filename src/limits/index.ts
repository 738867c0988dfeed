/**
 * Per-key rate limits, daily byte quotas and concurrent-stream limits, and
 * the RESOURCE_EXHAUSTED errors (with retry-after) they answer with.
 */
export {
  type KeyLimits,
  keyLimitsFromJson,
  keyLimitsJsonNames,
  resolveKeyLimits,
  unlimited,
} from "./key-limits.js";
export {
  createLimiter,
  type Limiter,
  type LimiterOptions,
  type StreamTicket,
} from "./limiter.js";
export {
  createMemoryBudget,
  type ImageHold,
  type MemoryBudget,
  type MemoryBudgetOptions,
  type Reservation,
} from "./memory-budget.js";
export { resourceExhausted, retryAfterHeader, retryAfterSeconds } from "./retry-after.js";
