-- The new rules of an edited auction into the state the bid script judges, atomically with a
-- last look by Redis's own clock (the clock bids are judged by): only while the state is still
-- scheduled and its goLiveAt has not come. The edit runs this BEFORE it commits in PostgreSQL,
-- so once an edit is acknowledged no bid can be judged by the rules it replaced (relayed
-- after the commit, an edit made just before goLiveAt left the old rules in force until the
-- relay ran).
--
-- KEYS: 1 state
-- ARGV: field/value pairs of the state hash (the rules and the window; never seq or round)
-- Returns ok | missing (the caller rebuilds the state from PostgreSQL and asks again) |
-- too_late (live by Redis's clock, or no longer scheduled: the edit is refused).

local st = redis.call('HMGET', KEYS[1], 'status', 'goLiveAt')
if not st[1] then return 'missing' end
if st[1] ~= 'scheduled' or now_ms() >= tonumber(st[2]) then return 'too_late' end
redis.call('HSET', KEYS[1], unpack(ARGV))
return 'ok'
