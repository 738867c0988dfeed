/**
 * What one key may do. Every field uses 0 for "no limit", so a KeyLimits of
 * all zeros (`unlimited`) limits nothing.
 */
export interface KeyLimits {
  /** Token bucket refill, in requests per second; fractions allowed (0.5 = one every 2 s). 0 = unlimited. */
  requestsPerSecond: number;
  /** Bucket size, in requests: how many calls may come at once after a quiet spell. 0 = max(1, requestsPerSecond). */
  burst: number;
  /** Payload bytes streamed per UTC day, counted across the key's streams. 0 = unlimited. */
  bytesPerDay: number;
  /** Concurrent streams for this key. 0 = unlimited. */
  maxConcurrentStreams: number;
}

/** Limits that limit nothing: every field 0. */
export const unlimited: KeyLimits = Object.freeze({
  requestsPerSecond: 0,
  burst: 0,
  bytesPerDay: 0,
  maxConcurrentStreams: 0,
});

/**
 * The limits that apply to a key: `defaults`, with each field the key sets
 * (not undefined) taking its place. Field by field, so a key that only sets
 * requestsPerSecond keeps the default burst.
 */
export function resolveKeyLimits(defaults: KeyLimits, override?: Partial<KeyLimits>): KeyLimits {
  if (override === undefined) {
    return defaults;
  }
  return {
    requestsPerSecond: override.requestsPerSecond ?? defaults.requestsPerSecond,
    burst: override.burst ?? defaults.burst,
    bytesPerDay: override.bytesPerDay ?? defaults.bytesPerDay,
    maxConcurrentStreams: override.maxConcurrentStreams ?? defaults.maxConcurrentStreams,
  };
}

/** The JSON (snake_case) name of each KeyLimits field, as key files and JWT claims spell them. */
export const keyLimitsJsonNames: Readonly<Record<string, keyof KeyLimits>> = {
  requests_per_second: "requestsPerSecond",
  burst: "burst",
  bytes_per_day: "bytesPerDay",
  max_concurrent_streams: "maxConcurrentStreams",
};

/**
 * Reads limits from JSON such as `{"requests_per_second": 5, "bytes_per_day": 1e9}`.
 * Every field is optional; each must be a finite number ≥ 0, and all but
 * requests_per_second whole numbers. Throws an Error whose message starts with
 * `where` (such as "keys.json entry 'ci': limits") and names the field.
 */
export function keyLimitsFromJson(value: unknown, where: string): Partial<KeyLimits> {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new Error(`${where} must be an object such as {"requests_per_second": 5}`);
  }
  const limits: Partial<KeyLimits> = {};
  for (const [name, field] of Object.entries(value)) {
    const key = keyLimitsJsonNames[name];
    if (key === undefined) {
      const known = Object.keys(keyLimitsJsonNames).join(", ");
      throw new Error(`${where}: unknown field '${name}' (known: ${known})`);
    }
    if (typeof field !== "number" || !Number.isFinite(field) || field < 0) {
      throw new Error(`${where}.${name} must be a number ≥ 0 (0 = unlimited)`);
    }
    if (key !== "requestsPerSecond" && !Number.isInteger(field)) {
      throw new Error(`${where}.${name} must be a whole number`);
    }
    limits[key] = field;
  }
  return limits;
}
