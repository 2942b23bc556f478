-- What a client joining a room needs, read atomically: the state, the highest bid, the room's
-- last eventId, and the server clock.
-- KEYS: 1 state  2 highest  3 room stream
-- Returns {stateFlat, highestJson|false, lastEventId|false, nowMs}; stateFlat is empty when
-- the state is missing (the caller rebuilds it from PostgreSQL).
local state = redis.call('HGETALL', KEYS[1])
local highest = redis.call('GET', KEYS[2])
local last = redis.call('XREVRANGE', KEYS[3], '+', '-', 'COUNT', 1)
local last_id = false
if #last > 0 then last_id = last[1][1] end
return {state, highest, last_id, now_ms()}
