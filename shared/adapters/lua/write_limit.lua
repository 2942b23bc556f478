-- The write rate limiter: one token bucket per (route group, caller), shared by every function
-- instance because it lives in Redis. Bids are not limited here: place_bid.lua has its own
-- bucket per auction, judged in the same round trip as the bid.
-- A suspended user's write is refused in the same round trip (moderation: the set of
-- suspended users, keys.SUSPENDED), before a token is spent.
-- KEYS: 1 bucket hash {tokens, ts}  2 the suspended set
-- ARGV: 1 refill rate (tokens per second)  2 burst (bucket size)  3 user id ('' anonymous)
-- Returns {1, 0} when the write may go ahead, {0, seconds to wait} when it may not,
-- {-1, 0} for a suspended user, {-2, 0} when the suspended set must be rebuilt first.

if ARGV[3] ~= '' then
  if redis.call('EXISTS', KEYS[2]) == 0 then return {-2, 0} end
  if redis.call('SISMEMBER', KEYS[2], ARGV[3]) == 1 then return {-1, 0} end
end

local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local now = now_ms()
local tokens = burst
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
if b[1] then
  tokens = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) / 1000.0 * rate)
end
local ttl = math.ceil(burst / rate * 1000) + 1000
if tokens < 1.0 then
  redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {0, math.max(1, math.ceil((1.0 - tokens) / rate))}
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens - 1.0), 'ts', now)
redis.call('PEXPIRE', KEYS[1], ttl)
return {1, 0}
