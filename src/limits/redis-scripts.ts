/**
 * The Lua scripts of the Redis limit store. Redis runs each one atomically,
 * so instances that share a Redis never see each other's half-done updates.
 * Times are the callers' clocks in milliseconds since the epoch (so that
 * tests can drive them, and so that a UTC day is the same day everywhere);
 * instances should keep their clocks in sync (NTP), as a skew of x ms
 * shifts their refills and leases by x ms. Numbers go back to the store as
 * strings where they may be fractions or large: Redis turns a Lua number
 * into an integer reply by truncating it.
 */

/** A Lua script and how many of its arguments are keys. */
export interface RedisScript {
  /** Undefined: the number of keys is the script's first argument. */
  readonly numberOfKeys: number | undefined;
  readonly lua: string;
}

/**
 * admit(bytesKey, bucketKey; nowMs, requestsPerSecond, burst, bytesPerDay)
 * → {"ok"} | {"quota"} | {"rate", waitMs}.
 *
 * The bucket is a hash {tokens, at, rate}: tokens at time `at`, refilled at
 * `rate` per second (the rate last applied, as the in-memory store does).
 * It expires once it would be full again, since a missing bucket is a full
 * one; so does the day's byte counter, an hour after its day ends.
 */
export const admitScript: RedisScript = {
  numberOfKeys: 2,
  lua: `
local now = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local burst = tonumber(ARGV[3])
local quota = tonumber(ARGV[4])
if quota > 0 then
  local used = tonumber(redis.call('GET', KEYS[1]) or '0')
  if used >= quota then
    return {'quota'}
  end
end
if rate == 0 then
  return {'ok'}
end
local state = redis.call('HMGET', KEYS[2], 'tokens', 'at', 'rate')
local tokens = burst
if state[1] then
  local elapsed = math.max(0, now - tonumber(state[2]))
  tokens = math.min(burst, tonumber(state[1]) + elapsed * tonumber(state[3]) / 1000)
end
local admitted = tokens >= 1 - 1e-9
if admitted then
  tokens = math.max(0, tokens - 1)
end
redis.call('HSET', KEYS[2], 'tokens', string.format('%.17g', tokens),
  'at', string.format('%.0f', now), 'rate', string.format('%.17g', rate))
redis.call('PEXPIRE', KEYS[2], math.ceil((burst - tokens) * 1000 / rate) + 1000)
if admitted then
  return {'ok'}
end
return {'rate', string.format('%.17g', (1 - tokens) * 1000 / rate)}
`,
};

/**
 * reserveBytes(bytesKey; minBytes, maxBytes, bytesPerDay, ttlMs)
 * → bytes granted. Fewer than minBytes left: grants 0 and sets the counter
 * to the quota, so the key's next call is refused too.
 */
export const reserveBytesScript: RedisScript = {
  numberOfKeys: 1,
  lua: `
local min = tonumber(ARGV[1])
local max = tonumber(ARGV[2])
local quota = tonumber(ARGV[3])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local room = math.max(0, quota - used)
if room < min then
  if used < quota then
    redis.call('SET', KEYS[1], string.format('%.0f', quota), 'PX', ARGV[4])
  end
  return 0
end
local granted = math.min(max, room)
if granted > 0 then
  redis.call('INCRBY', KEYS[1], string.format('%.0f', granted))
  redis.call('PEXPIRE', KEYS[1], ARGV[4])
end
return granted
`,
};

/** returnBytes(bytesKey; bytes): takes back up to `bytes`, never below 0; a missing counter stays missing. */
export const returnBytesScript: RedisScript = {
  numberOfKeys: 1,
  lua: `
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local back = math.min(used, tonumber(ARGV[1]))
if back > 0 then
  redis.call('DECRBY', KEYS[1], string.format('%.0f', back))
end
return back
`,
};

/**
 * chargeBytes(bytesKey; bytes, ttlMs): counts bytes sent while the
 * store was unreachable, whatever the quota.
 */
export const chargeBytesScript: RedisScript = {
  numberOfKeys: 1,
  lua: `
redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`,
};

/**
 * openStream(keyStreamsKey, serverStreamsKey; nowMs, leaseMs, maxKeyStreams,
 * maxServerStreams, streamId) → "ok" | "key" | "server".
 *
 * Open streams are members of sorted sets scored by when their lease ends:
 * one set per key (shared by every instance) and one per server instance.
 * Members whose lease has ended are dropped first, so the streams of an
 * instance that died stop counting once their lease ends. Each set expires
 * a lease after its last change.
 */
export const openStreamScript: RedisScript = {
  numberOfKeys: 2,
  lua: `
local now = tonumber(ARGV[1])
local lease = tonumber(ARGV[2])
local maxKey = tonumber(ARGV[3])
local maxServer = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if maxServer > 0 and redis.call('ZCARD', KEYS[2]) >= maxServer then
  return 'server'
end
if maxKey > 0 and redis.call('ZCARD', KEYS[1]) >= maxKey then
  return 'key'
end
local expires = string.format('%.0f', now + lease)
redis.call('ZADD', KEYS[1], expires, ARGV[5])
redis.call('ZADD', KEYS[2], expires, ARGV[5])
redis.call('PEXPIRE', KEYS[1], lease)
redis.call('PEXPIRE', KEYS[2], lease)
return 'ok'
`,
};

/**
 * renewStreams(serverStreamsKey, keyStreamsKey1, …; nowMs, leaseMs,
 * streamId1, …): extends the leases of this instance's open streams (the
 * i-th id belongs to the i-th key set), adding back any that lapsed while
 * the store was unreachable.
 */
export const renewStreamsScript: RedisScript = {
  numberOfKeys: undefined,
  lua: `
local expires = string.format('%.0f', tonumber(ARGV[1]) + tonumber(ARGV[2]))
for i = 2, #KEYS do
  local id = ARGV[i + 1]
  redis.call('ZADD', KEYS[i], expires, id)
  redis.call('PEXPIRE', KEYS[i], ARGV[2])
  redis.call('ZADD', KEYS[1], expires, id)
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return #KEYS - 1
`,
};

/** closeStream(keyStreamsKey, serverStreamsKey; streamId). */
export const closeStreamScript: RedisScript = {
  numberOfKeys: 2,
  lua: `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`,
};

/**
 * countStreams(serverStreamsKey, keyStreamsKey1, …; nowMs) → streams whose
 * lease has not ended: the server's, then each key's.
 */
export const countStreamsScript: RedisScript = {
  numberOfKeys: undefined,
  lua: `
local counts = {}
for i = 1, #KEYS do
  counts[i] = redis.call('ZCOUNT', KEYS[i], '(' .. ARGV[1], '+inf')
end
return counts
`,
};
