-- Retract a bid, atomically, in one round trip: who and when (shared/domain/retractions.py,
-- mirrored line for line: `scope`, `retract`, `leader_of`), the bids taken out of the
-- auction's list, the bidder's maximum cancelled, the new highest, the room's event and the
-- outbox record PostgreSQL learns it from.
--
-- KEYS: 1 state  2 highest  3 proxies  4 placed bids (keys.placed_bids)  5 room stream
--       6 feed  7 outbox  8 retractions done (hash bid id -> result, for retried calls)
-- ARGV: 1 auctionId  2 userId  3 bidId  4 cutoff (ms: RETRACT_CUTOFF_SECS)  5 recent (ms)
--       6 room maxlen  7 feed maxlen  8 reason  9 requestId ('' if none)
-- Returns {kind, json}: ok | replay (this bid's retraction already done: the same result) |
-- refused ({code, detail}) | missing ('"state"': the caller rebuilds it from PostgreSQL).

local auction_id, user_id, bid_id = ARGV[1], ARGV[2], ARGV[3]
local cutoff, recent = tonumber(ARGV[4]), tonumber(ARGV[5])
local room_maxlen, feed_maxlen = tonumber(ARGV[6]), tonumber(ARGV[7])
local request_id = ARGV[9] or ''

local done = redis.call('HGET', KEYS[8], bid_id)
if done then
  if cjson.decode(done).bidderId ~= user_id then
    return {'refused', cjson.encode({code = 'forbidden', detail = 'Only the bidder may retract their bid'})}
  end
  return {'replay', done}
end

local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then return {'missing', '"state"'} end
local st = hash_of(flat)
local round = tonumber(st.round or '1')
local ends = tonumber(st.endsAt)
local now = now_ms()

local function refuse(code, detail)
  return {'refused', cjson.encode({code = code, detail = detail})}
end

-- The round's remaining bids, in order.
local bids = {}
for _, raw in ipairs(redis.call('LRANGE', KEYS[4], 0, -1)) do
  local b = cjson.decode(raw)
  if tonumber(b.r) == round then table.insert(bids, b) end
end

-- scope
local target = nil
for _, b in ipairs(bids) do if b.id == bid_id then target = b end end
if target == nil then return refuse('not_found', 'No such bid, or it is no longer standing') end
if target.u ~= user_id then return refuse('forbidden', 'Only the bidder may retract their bid') end
local live = (st.status == 'scheduled' or st.status == 'live') and st.closed ~= '1'
  and tonumber(st.goLiveAt) <= now and now < ends
if not live then return refuse('retraction_not_allowed', 'The auction is not live') end
local gone = {}
local own = {}
for _, b in ipairs(bids) do if b.u == user_id then table.insert(own, b) end end
if ends - now > cutoff then
  for _, b in ipairs(own) do gone[b.id] = true end
else
  local latest = own[#own]
  if latest.id ~= bid_id then
    return refuse('retraction_not_allowed', 'This close to the end only your latest bid may be retracted')
  end
  if now - tonumber(latest.t) > recent then
    return refuse('retraction_not_allowed',
      'This close to the end a bid may be retracted only within an hour of placing it')
  end
  gone[bid_id] = true
end

-- retract: the list without them, the bidder's maximum cancelled
local remaining, retracted, lowest = {}, {}, nil
for _, b in ipairs(bids) do
  if gone[b.id] then
    table.insert(retracted, b.id)
    if lowest == nil or b.a < lowest then lowest = b.a end
  else
    table.insert(remaining, b)
  end
end
redis.call('DEL', KEYS[4])
for _, b in ipairs(remaining) do redis.call('RPUSH', KEYS[4], cjson.encode(b)) end
redis.call('HDEL', KEYS[3], user_id)

-- leader_of: the highest remaining bid (on equal amounts the later) with its owner's maximum
local top = nil
for _, b in ipairs(remaining) do
  if top == nil or b.a > top.a or (b.a == top.a and b.s > top.s) then top = b end
end
local increment, start_price = tonumber(st.increment), tonumber(st.startPrice)
local highest_bid, min_next = cjson.null, start_price
if top == nil then
  redis.call('DEL', KEYS[2])
else
  local max, max_at = top.a, top.t
  local held = redis.call('HGET', KEYS[3], top.u)
  if held then
    local m = cjson.decode(held)
    max, max_at = math.max(top.a, m.max), m.at
  end
  redis.call('SET', KEYS[2], cjson.encode({bidId = top.id, userId = top.u, amount = top.a,
    ts = top.t, max = max, maxAt = max_at, name = top.n}))
  highest_bid = {id = top.id, auctionId = auction_id, bidderId = top.u, amount = money(top.a),
                 createdAt = iso(top.t), bidderName = top.n}
  min_next = top.a + increment
end

local data = {bidIds = retracted, bidderId = user_id, highestBid = highest_bid,
              minNextBid = money(min_next), endsAt = iso(ends), retractedAt = iso(now)}
if num(st.reserve) and top then data.reserveMet = top.a >= num(st.reserve) end
publish_room(KEYS[5], KEYS[6], auction_id, 'bid:retracted', cjson.encode(data), now,
  room_maxlen, feed_maxlen, request_id)

-- The outbox record (shared.services.retractions): what PostgreSQL must learn, and what the
-- ledger's retraction entry says (bidder, the lowest amount retracted, the moments, the end).
-- Like a bid, the retraction is the log's next entry (`ledger` counts them in the state).
local ledger = tonumber(st.ledger or '0')
redis.call('HSET', KEYS[1], 'ledger', ledger + 1)
local record = {kind = 'retraction', auctionId = auction_id, round = round, bidderId = user_id,
  bidIds = retracted, amount = lowest, reason = ARGV[8], at = now, arrivedAt = now,
  endsAt = ends, sellerId = st.sellerId, ledgerIndex = ledger,
  ledgerSecret = st.ledgerSecret or '', bids = {}}
for _, b in ipairs(bids) do
  if gone[b.id] then
    table.insert(record.bids, {id = b.id, bidderId = b.u, amount = b.a, seq = b.s,
      isProxy = b.p and true or false, at = b.t})
  end
end
if request_id ~= '' then record.requestId = request_id end
redis.call('XADD', KEYS[7], '*', 'r', cjson.encode(record))

local result = cjson.encode({record = record, highestBid = highest_bid,
  minNextBid = money(min_next), bidderId = user_id})
for _, id in ipairs(retracted) do redis.call('HSET', KEYS[8], id, result) end
return {'ok', result}
