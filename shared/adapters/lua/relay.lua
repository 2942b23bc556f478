-- Relay PostgreSQL outbox rows into Redis, each exactly once (SET NX on its id).
--
-- KEYS: 1 feed  2 jobs data  3 jobs ready
-- ARGV: 1 JSON array of {id, body}  2 room maxlen  3 feed maxlen  4 guard prefix  5 guard ttl
-- body.kind: room | user (an event), state (a patch of an auction's state), job, suspension
-- (a user id into or out of the suspended set, when that set exists), membership (a member
-- into or out of another set kept with a sentinel, when it exists). Every key a
-- body names (roomKey, stateKey, highestKey, proxiesKey, schedule keys) was named by the
-- writer (shared.adapters.keys), never here.
-- Returns the number of rows applied now (the rest were applied before).

local rows = cjson.decode(ARGV[1])
local room_maxlen, feed_maxlen = tonumber(ARGV[2]), tonumber(ARGV[3])
local applied = 0
for _, row in ipairs(rows) do
  if redis.call('SET', ARGV[4] .. row.id, '1', 'NX', 'EX', tonumber(ARGV[5])) then
    applied = applied + 1
    local b = row.body
    local ts = b.ts or now_ms()
    if b.kind == 'room' then
      publish_room(b.roomKey, KEYS[1], b.auctionId, b.type, cjson.encode(b.data), ts,
        room_maxlen, feed_maxlen)
    elseif b.kind == 'user' then
      publish_user(KEYS[1], b.userId, b.auctionId or '', b.type, cjson.encode(b.data), ts, feed_maxlen)
    elseif b.kind == 'state' then
      local current = tonumber(redis.call('HGET', b.stateKey, 'round') or '-1')
      -- A missing state is rebuilt from PostgreSQL on next use; an older round is stale.
      if current >= 0 and current <= tonumber(b.round) then
        if b.clear then redis.call('DEL', b.highestKey, b.proxiesKey) end
        for field, value in pairs(b.set) do redis.call('HSET', b.stateKey, field, value) end
      end
      apply_schedule(b.schedule, b.auctionId)
    elseif b.kind == 'suspension' then
      if redis.call('EXISTS', b.setKey) == 1 then
        if b.suspended then redis.call('SADD', b.setKey, b.userId)
        else redis.call('SREM', b.setKey, b.userId) end
      end
    elseif b.kind == 'membership' then
      if redis.call('EXISTS', b.setKey) == 1 then
        if b.present then redis.call('SADD', b.setKey, b.member)
        else redis.call('SREM', b.setKey, b.member) end
      end
    elseif b.kind == 'job' then
      if redis.call('HSETNX', KEYS[2], b.job.id, cjson.encode(b.job)) == 1 then
        redis.call('LPUSH', KEYS[3], b.job.id)
      end
    end
  end
end
return applied
