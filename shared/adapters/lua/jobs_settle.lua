-- Settle a claimed job: done (forget it), retry (back into the delayed set) or dead (to the
-- dead-letter list). Only the holder of the current lease settles: a worker whose lease ran
-- out (and whose job another worker took over) changes nothing.
-- KEYS: 1 processing zset  2 delayed zset  3 dead list  4 data hash  5 meta hash
-- ARGV: 1 id  2 lease end (the claim's token)  3 outcome: done | retry | dead  4 due ms  5 meta JSON
-- Returns 1 when settled, 0 when the lease was no longer ours.
local id = ARGV[1]
local score = redis.call('ZSCORE', KEYS[1], id)
if not score or tonumber(score) ~= tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[1], id)
if ARGV[3] == 'done' then
  redis.call('HDEL', KEYS[4], id)
  redis.call('HDEL', KEYS[5], id)
elseif ARGV[3] == 'retry' then
  redis.call('HSET', KEYS[5], id, ARGV[5])
  redis.call('ZADD', KEYS[2], tonumber(ARGV[4]), id)
else
  redis.call('HSET', KEYS[5], id, ARGV[5])
  redis.call('LREM', KEYS[3], 0, id)
  redis.call('RPUSH', KEYS[3], id)
end
return 1
