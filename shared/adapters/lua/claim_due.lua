-- Claim the due members of a schedule: each is pushed `lease` ms into the future, so a second
-- ticker does not take it, and a ticker that dies mid-transition leaves it to be retried.
-- KEYS: 1 schedule zset   ARGV: 1 limit  2 lease ms
-- Returns the claimed auction ids each followed by the epoch ms it was due (a flat list), so
-- the ticker can say how late it fired.
local now = now_ms()
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[1]))
for i = 1, #due, 2 do
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), due[i])
end
return due
