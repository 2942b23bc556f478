-- Write an auction's Redis state from the record in PostgreSQL when it is missing (flushed,
-- evicted, a new Redis), or when `force` and the record's round is not older than Redis's.
--
-- KEYS: 1 state  2 highest  3 proxies  4 placed bids (the round's standing bids, in order)
-- ARGV: 1 auctionId  2 force (0/1)  3 highest JSON or ''  4 proxies JSON object or ''
--       5 schedule entries JSON: [[schedule key, due ms | false (remove)], ...]
--       6 placed bids JSON: [entry, ...] (keys.placed_bids's entries)
--       7.. field/value pairs of the state hash (must include round)
-- Returns 1 when written, 0 when left alone.

local exists = redis.call('EXISTS', KEYS[1]) == 1
local fields = {}
for i = 7, #ARGV, 2 do fields[ARGV[i]] = ARGV[i + 1] end
if exists then
  if ARGV[2] ~= '1' then return 0 end
  local round = tonumber(redis.call('HGET', KEYS[1], 'round') or '0')
  if round > tonumber(fields.round) then return 0 end
  -- The ledger's counter never goes back: entries the record has not learned yet (still in
  -- the outbox) keep their indices.
  local size = tonumber(redis.call('HGET', KEYS[1], 'ledger') or '0')
  if fields.ledger and size > tonumber(fields.ledger) then
    for i = 7, #ARGV, 2 do
      if ARGV[i] == 'ledger' then ARGV[i + 1] = tostring(size) end
    end
  end
end

redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
local args = {}
for i = 7, #ARGV do table.insert(args, ARGV[i]) end
redis.call('HSET', KEYS[1], unpack(args))
if ARGV[3] ~= '' then redis.call('SET', KEYS[2], ARGV[3]) end
if ARGV[4] ~= '' then
  for user, value in pairs(cjson.decode(ARGV[4])) do
    redis.call('HSET', KEYS[3], user, cjson.encode(value))
  end
end
for _, entry in ipairs(cjson.decode(ARGV[6])) do
  redis.call('RPUSH', KEYS[4], cjson.encode(entry))
end
apply_schedule(cjson.decode(ARGV[5]), ARGV[1])
return 1
