-- Replay a dead letter: out of the dead list, its attempts counted afresh, to the front of
-- the ready queue.
-- KEYS: 1 dead list  2 ready list  3 data hash  4 meta hash
-- ARGV: 1 id  2 now ms
-- Returns 1 when replayed, 0 when the id is not a dead letter, -1 when it was one but its
-- body is gone (the entry is dropped: there is nothing left to run).
local id = ARGV[1]
if redis.call('LREM', KEYS[1], 0, id) == 0 then return 0 end
if redis.call('HEXISTS', KEYS[3], id) == 0 then return -1 end
local raw = redis.call('HGET', KEYS[4], id)
local meta = raw and cjson.decode(raw) or {}
meta.attempts = 0
meta.replays = (tonumber(meta.replays) or 0) + 1
meta.replayedAt = tonumber(ARGV[2])
redis.call('HSET', KEYS[4], id, cjson.encode(meta))
redis.call('RPUSH', KEYS[2], id)
return 1
