-- A set kept from the record in PostgreSQL, holding a sentinel member so that a missing set
-- (flushed, evicted, a new Redis) is told apart from an empty one: the suspended users
-- (keys.SUSPENDED), a seller's blocked bidders (keys.blocked_bidders).
-- KEYS: 1 the set
-- ARGV: 1 mode  2 sentinel  3.. user ids
--   add | remove: SADD / SREM the ids, only when the set exists (a missing set is rebuilt
--                 whole from PostgreSQL before anyone trusts it)
--   load:         replace the set with the sentinel and the ids (the caller holds the
--                 PostgreSQL lock that orders loads with the changes of the record)
--   check:        is ARGV[3] a member? 1 yes, 0 no, -1 the set is missing (rebuild it)
-- Returns (add, remove, load) 1 when the set exists afterwards, 0 when it does not.
local mode, sentinel = ARGV[1], ARGV[2]
if mode == 'check' then
  if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
  return redis.call('SISMEMBER', KEYS[1], ARGV[3])
end
if mode == 'load' then
  redis.call('DEL', KEYS[1])
  redis.call('SADD', KEYS[1], sentinel)
  for i = 3, #ARGV do redis.call('SADD', KEYS[1], ARGV[i]) end
  return 1
end
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
for i = 3, #ARGV do
  if mode == 'add' then redis.call('SADD', KEYS[1], ARGV[i])
  else redis.call('SREM', KEYS[1], ARGV[i]) end
end
return 1
