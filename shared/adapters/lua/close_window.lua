-- Close an auction's bid window, once its end and the grace after it have passed by Redis's
-- clock (the clock the bid script judges by). After this nothing gets in, whatever its arrival
-- stamp: the end transition runs it BEFORE it drains the accepted bids and decides, so the
-- drain has every bid the auction will ever accept.
--
-- KEYS: 1 state
-- ARGV: 1 grace (ms: LATE_BID_GRACE_MS)
-- Returns {verdict, endsAt}: verdict is closed (now, or before: the status is no longer open
-- or the flag was set) | open (not yet: endsAt + grace is still ahead) | missing (no state:
-- the caller rebuilds it from PostgreSQL and asks again).

local st = redis.call('HMGET', KEYS[1], 'status', 'endsAt', 'closed')
if not st[1] then return {'missing', 0} end
local ends = tonumber(st[2])
if st[3] == '1' or not (st[1] == 'scheduled' or st[1] == 'live') then return {'closed', ends} end
if now_ms() < ends + tonumber(ARGV[1]) then return {'open', ends} end
redis.call('HSET', KEYS[1], 'closed', '1')
return {'closed', ends}
