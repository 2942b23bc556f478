-- Claim up to `limit` due jobs for one worker, atomically (so two workers never take the same
-- job), each under a lease: a worker that dies mid-job leaves a lease that runs out, and the
-- job goes back to the front of the queue.
-- KEYS: 1 ready list  2 delayed zset  3 processing zset  4 data hash  5 meta hash
-- ARGV: 1 now ms  2 limit  3 lease ms
-- Returns {{id, job JSON, meta JSON or ''}, ...}; every claimed job's lease ends at now + lease.
local now, limit, lease = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 100)) do
  redis.call('ZREM', KEYS[3], id)
  redis.call('RPUSH', KEYS[1], id)
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('LPUSH', KEYS[1], id)
end
local claimed = {}
while #claimed < limit do
  local id = redis.call('RPOP', KEYS[1])
  if not id then break end
  local data = redis.call('HGET', KEYS[4], id)
  -- A job already under someone's lease (a stray duplicate id in the list) is left to them.
  if data and not redis.call('ZSCORE', KEYS[3], id) then
    redis.call('ZADD', KEYS[3], now + lease, id)
    claimed[#claimed + 1] = {id, data, redis.call('HGET', KEYS[5], id) or ''}
  end
end
return claimed
