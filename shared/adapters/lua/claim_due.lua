-- Claim the due members of a schedule: each is pushed `lease` ms into the future, so a second
-- ticker does not take it, and a ticker that dies mid-transition leaves it to be retried.
-- KEYS: 1 schedule zset   ARGV: 1 limit  2 lease ms
-- Returns the claimed auction ids.
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[1]))
for _, member in ipairs(due) do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), member)
end
return due
