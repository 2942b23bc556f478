-- Relay PostgreSQL outbox rows into Redis, each exactly once (SET NX on its id).
--
-- KEYS: 1 feed  2 start schedule  3 end schedule  4 jobs data  5 jobs ready
-- ARGV: 1 JSON array of {id, body}  2 room maxlen  3 feed maxlen  4 guard prefix  5 guard ttl
-- body.kind: room | user (an event), state (a patch of an auction's state), job.
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
      publish_room('auction:' .. b.auctionId .. ':events', KEYS[1], b.auctionId, b.type,
        cjson.encode(b.data), ts, room_maxlen, feed_maxlen)
    elseif b.kind == 'user' then
      publish_user(KEYS[1], b.userId, b.auctionId or '', b.type, cjson.encode(b.data), ts, feed_maxlen)
    elseif b.kind == 'state' then
      local state_key = 'auction:' .. b.auctionId .. ':state'
      local current = tonumber(redis.call('HGET', state_key, 'round') or '-1')
      -- A missing state is rebuilt from PostgreSQL on next use; an older round is stale.
      if current >= 0 and current <= tonumber(b.round) then
        if b.clear then
          redis.call('DEL', 'auction:' .. b.auctionId .. ':highest', 'auction:' .. b.auctionId .. ':proxies')
        end
        for field, value in pairs(b.set) do redis.call('HSET', state_key, field, value) end
      end
      if b.startAt == 'remove' then redis.call('ZREM', KEYS[2], b.auctionId)
      elseif b.startAt then redis.call('ZADD', KEYS[2], b.startAt, b.auctionId) end
      if b.endAt == 'remove' then redis.call('ZREM', KEYS[3], b.auctionId)
      elseif b.endAt then redis.call('ZADD', KEYS[3], b.endAt, b.auctionId) end
    elseif b.kind == 'job' then
      if redis.call('HSETNX', KEYS[4], b.job.id, cjson.encode(b.job)) == 1 then
        redis.call('LPUSH', KEYS[5], b.job.id)
      end
    end
  end
end
return applied
