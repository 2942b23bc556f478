-- Close (or reopen) an auction's state for bids, atomically with a last look at it: a cancel
-- flips the status the bid script judges BEFORE it writes PostgreSQL, so no bid is accepted
-- once the cancel is under way; if the cancel is then refused or fails, it reopens.
--
-- KEYS: 1 state  2 highest
-- ARGV: 1 mode: close | reopen   2 refuse when a bid exists (0/1, close)
--       3 the status to restore (reopen)
-- Returns {outcome, status before}: outcome is ok | missing | refused | has_bids.

local status = redis.call('HGET', KEYS[1], 'status')
if not status then return {'missing', ''} end
if ARGV[1] == 'reopen' then
  if status == 'cancelled' then redis.call('HSET', KEYS[1], 'status', ARGV[3]) end
  return {'ok', status}
end
if status == 'sold' or status == 'cancelled' then return {'refused', status} end
if ARGV[2] == '1' and redis.call('EXISTS', KEYS[2]) == 1 then return {'has_bids', status} end
redis.call('HSET', KEYS[1], 'status', 'cancelled')
return {'ok', status}
