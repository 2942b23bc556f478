-- Name the seller's blocked set in an auction's state written before states named it (the bid
-- script reads `blockedKey` from the state; a missing one answers "missing").
-- KEYS: 1 state
-- ARGV: 1 the set's key (keys.blocked_bidders)
-- Returns 1 when the state exists (named now or before), 0 when it does not.
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('HSETNX', KEYS[1], 'blockedKey', ARGV[1])
return 1
