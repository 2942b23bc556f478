-- Place one bid, atomically, in one round trip: idempotency, rate limit, the window against
-- Redis's own clock, the bid rules of shared/domain/bidding.py (mirrored line for line), the
-- new highest, soft close, the events and the outbox record.
--
-- KEYS: 1 state  2 highest  3 proxies  4 room stream  5 feed  6 outbox  7 idempotency key
--       8 rate bucket  9 end schedule  10 the user's lookup bucket (bids on missing states)
--       11 suspended users (moderation)  12 the auction's placed bids (a list, for retractions)
-- ARGV: 1 auctionId  2 userId  3 amount (minor units)  4 isMax (0/1)  5 bidId
--       6 answerBidId (a proxy answer's id)  7 allowSelfOutbid (0/1)  8 tokens per second
--       9 burst  10 room maxlen  11 feed maxlen  12 idempotency ttl (s)
--       13 the bidder's public name (bidderName; the leader's is kept in `highest`)
--       14 requestId (the API request's id, or ''; into the outbox record and the feed entries)
--       15 arrivedAt (epoch ms the gateway stamped on arrival, or '')
--       16 grace (ms: LATE_BID_GRACE_MS)
--       17 ledger nonce (random hex: the nonce of the maximum this bid sets, if it sets one)
--       18 19 the bid's source network and device, salted hashes (or ''), for the record
-- The state names the seller's blocked set (`blockedKey`, written with the state).
-- Returns {kind, json}: kind is ok | replay | refused | missing (json '"state"': the auction's
-- state, '"suspensions"': the suspended set, '"blocked"': the seller's blocked set; the caller
-- rebuilds it from PostgreSQL).
--
-- The moment: a bid is judged at its arrival (shared.domain.bidding.arrival_moment), so one
-- that arrived before endsAt and reached here within the grace is judged on the rules. The
-- end transition closes the window (`closed` in the state, close_window.lua) before it drains
-- and decides: from then on nothing gets in, whatever its stamp.
--
-- The public ledger (shared.services.ledger): every placed row is the next entry of the
-- auction's log (`ledger` in the state counts them; `index` on each row of the record), and
-- a proxy row names its owner's maximum and that maximum's nonce (`max`, `nonce`), so the
-- caller and the intake build the same entry bytes from the record. Rows are
-- {user, amount, isProxy, owner's max, nonce}.

local auction_id, user_id = ARGV[1], ARGV[2]
local offer, is_max = tonumber(ARGV[3]), ARGV[4] == '1'
local allow_self = ARGV[7] == '1'
local room_maxlen, feed_maxlen = tonumber(ARGV[10]), tonumber(ARGV[11])
local my_name = ARGV[13]
if my_name == '' then my_name = nil end
local request_id = ARGV[14] or ''
local grace = tonumber(ARGV[16]) or 0
-- What this request asked for: a retry with the same Idempotency-Key must ask the same.
local asked = ARGV[3] .. (is_max and ':max' or ':bid')
local nonce = ARGV[17] or ''

local done = redis.call('GET', KEYS[7])
if done then
  if cjson.decode(done).asked ~= asked then
    return {'refused', cjson.encode({code = 'idempotency_key_reused'})}
  end
  return {'replay', done}
end

-- A suspended bidder is refused before anything is judged or spent.
if redis.call('EXISTS', KEYS[11]) == 0 then return {'missing', '"suspensions"'} end
if redis.call('SISMEMBER', KEYS[11], user_id) == 1 then
  return {'refused', cjson.encode({code = 'account_suspended'})}
end

local now = now_ms()
local arrived = tonumber(ARGV[15])
-- arrival_moment: a stamp more than 1 s ahead of this clock, or older than 30 s, is not
-- believed (shared.domain.bidding.ARRIVAL_AHEAD_MS / ARRIVAL_MAX_AGE_MS).
local moment = now
if arrived and arrived <= now + 1000 and arrived >= now - 30000 then moment = arrived end
local rate, burst = tonumber(ARGV[8]), tonumber(ARGV[9])

-- A token bucket (shared.domain.bidding.take_token): nil when a token was taken, else the
-- seconds to wait.
local function take_token(key)
  local b = redis.call('HMGET', key, 'tokens', 'at')
  local tokens = burst
  if b[1] then
    tokens = math.min(burst, tonumber(b[1]) + math.max(0, now - tonumber(b[2])) / 1000.0 * rate)
  end
  local ttl = math.ceil(burst / rate * 1000) + 1000
  if tokens < 1.0 then
    redis.call('HSET', key, 'tokens', tostring(tokens), 'at', now)
    redis.call('PEXPIRE', key, ttl)
    return math.max(1, math.ceil((1.0 - tokens) / rate))
  end
  redis.call('HSET', key, 'tokens', tostring(tokens - 1.0), 'at', now)
  redis.call('PEXPIRE', key, ttl)
  return nil
end

local function rate_limited(wait)
  return {'refused', cjson.encode({code = 'rate_limited', retryAfter = wait})}
end

local flat = redis.call('HGETALL', KEYS[1])
if #flat == 0 then
  -- No state: the caller will ask PostgreSQL. That costs a bucket of the user's own (across
  -- auctions), so a flood of bids to made-up auction ids is refused here, before any lookup.
  local wait = take_token(KEYS[10])
  if wait then return rate_limited(wait) end
  return {'missing', '"state"'}
end
local st = hash_of(flat)
if not st.blockedKey or redis.call('EXISTS', st.blockedKey) == 0 then
  return {'missing', '"blocked"'}
end

-- Token bucket per user per auction.
local wait = take_token(KEYS[8])
if wait then return rate_limited(wait) end

local start_price, increment = tonumber(st.startPrice), tonumber(st.increment)
local reserve, buy_now, soft_close = num(st.reserve), num(st.buyNow), num(st.softClose)
local ends = tonumber(st.endsAt)

local leader = nil
local raw = redis.call('GET', KEYS[2])
if raw then leader = cjson.decode(raw) end

local function refuse(code, min_next)
  local r = {code = code}
  if min_next then r.minNextBid = money(min_next) end
  return {'refused', cjson.encode(r)}
end

local function min_next(l)
  if l == nil then return start_price end
  return l.amount + increment
end

local function buy_now_open(l)
  if buy_now == nil or buy_now < min_next(l) then return false end
  if reserve == nil then return l == nil end
  return l == nil or l.amount < reserve
end

-- judge_bid
if user_id == st.sellerId then return refuse('own_auction') end
if redis.call('SISMEMBER', st.blockedKey, user_id) == 1 then return refuse('bidder_blocked') end
if not ((st.status == 'scheduled' or st.status == 'live') and st.closed ~= '1'
        and tonumber(st.goLiveAt) <= moment and moment < ends and now < ends + grace) then
  local r = {code = 'auction_not_live', arrivedAt = iso(moment), endsAt = iso(ends)}
  return {'refused', cjson.encode(r)}
end
local floor = min_next(leader)
local bids = {}       -- rows placed, in order: {user, amount, proxy}
local new_leader = nil
local sold = false

if leader and leader.userId == user_id and is_max then
  if offer <= leader.max then return refuse('bid_too_low', math.max(floor, leader.max + 1)) end
  if buy_now_open(leader) and offer >= buy_now then
    sold = true
  else
    new_leader = {userId = leader.userId, amount = leader.amount, max = offer, maxAt = moment,
                  bidId = leader.bidId, ts = leader.ts, name = my_name or leader.name,
                  nonce = nonce}
  end
elseif leader and leader.userId == user_id and not allow_self then
  return refuse('already_highest')
end

if new_leader == nil and not sold then
  if offer < floor then return refuse('bid_too_low', floor) end
  if buy_now_open(leader) and offer >= buy_now then sold = true end
end

if sold then
  bids = {{user_id, buy_now, false}}
  new_leader = {userId = user_id, amount = buy_now, max = buy_now, maxAt = moment, name = my_name}
elseif new_leader == nil then
  local rival = nil
  if leader and leader.userId ~= user_id then rival = leader end
  if is_max then
    if rival == nil then
      new_leader = {userId = user_id, amount = floor, max = offer, maxAt = moment, name = my_name,
                    nonce = nonce}
      bids = {{user_id, floor, true, offer, nonce}}
    elseif offer > rival.max then
      local price = math.min(offer, rival.max + increment)
      new_leader = {userId = user_id, amount = price, max = offer, maxAt = moment, name = my_name,
                    nonce = nonce}
      bids = {{user_id, price, true, offer, nonce}}
    else
      local answer = math.min(rival.max, offer + increment)
      new_leader = {userId = rival.userId, amount = answer, max = rival.max, maxAt = rival.maxAt,
                    name = rival.name, nonce = rival.nonce}
      bids = {{user_id, offer, true, offer, nonce}, {rival.userId, answer, true, rival.max, rival.nonce}}
    end
  else
    if rival and rival.max >= offer then
      local answer = math.min(rival.max, offer + increment)
      new_leader = {userId = rival.userId, amount = answer, max = rival.max, maxAt = rival.maxAt,
                    name = rival.name, nonce = rival.nonce}
      bids = {{user_id, offer, false}, {rival.userId, answer, true, rival.max, rival.nonce}}
    else
      local own_max, own_nonce = offer, nil
      if leader and leader.userId == user_id and leader.max > offer then
        own_max, own_nonce = leader.max, leader.nonce
      end
      new_leader = {userId = user_id, amount = offer, max = own_max, maxAt = moment, name = my_name,
                    nonce = own_nonce}
      bids = {{user_id, offer, false}}
    end
  end
end

-- Soft close (extended_end), from the arrival moment: only when a visible bid was placed.
if #bids > 0 and not sold and soft_close and soft_close > 0 and ends - moment < soft_close * 1000 then
  ends = moment + soft_close * 1000
  redis.call('HSET', KEYS[1], 'endsAt', ends)
  redis.call('ZADD', KEYS[9], ends, auction_id)
end

-- Who lost the lead in this offer.
local outbid, seen = {}, {}
local function lost(u)
  if u and u ~= new_leader.userId and not seen[u] then
    seen[u] = true
    table.insert(outbid, u)
  end
end
if leader then lost(leader.userId) end
for _, row in ipairs(bids) do lost(row[1]) end
table.sort(outbid)

-- bidderName: the requester's from the caller, the leader's as the leader JSON keeps it.
local function name_of(u)
  if u == user_id then return my_name end
  if leader and leader.userId == u then return leader.name end
  return nil
end

-- Write the rows: ids, sequence numbers, events.
local ids = {ARGV[5], ARGV[6]}
local seq = tonumber(st.seq or '0')
local ledger = tonumber(st.ledger or '0')
local placed = {}
local requester_bid = nil
for i, row in ipairs(bids) do
  seq = seq + 1
  local bid = {id = ids[i], auctionId = auction_id, bidderId = row[1], amount = money(row[2]),
               createdAt = iso(now), bidderName = name_of(row[1]), arrivedAt = iso(moment)}
  local data = {bid = bid, minNextBid = money(row[2] + increment), endsAt = iso(ends),
                arrivedAt = iso(moment)}
  if reserve then data.reserveMet = row[2] >= reserve end
  publish_room(KEYS[4], KEYS[5], auction_id, 'bid:placed', cjson.encode(data), now, room_maxlen, feed_maxlen, request_id)
  table.insert(placed, {id = ids[i], bidderId = row[1], amount = row[2], isProxy = row[3], seq = seq,
                        index = ledger, max = row[4], nonce = row[5] or (row[3] and '' or nil)})
  ledger = ledger + 1
  if i == 1 then requester_bid = bid end
  -- What a retraction recomputes from (retract_bid.lua; keys.placed_bids).
  redis.call('RPUSH', KEYS[12], cjson.encode({id = ids[i], u = row[1], a = row[2], s = seq,
    r = tonumber(st.round or '1'), t = now, p = row[3], n = bid.bidderName}))
  if row[1] == new_leader.userId then new_leader.bidId = ids[i]; new_leader.ts = now end
end

if #bids > 0 then
  redis.call('HSET', KEYS[1], 'seq', seq, 'ledger', ledger)
end
if sold then
  -- Sold when judged; a bid judged in the grace after the end never moves the end later.
  ends = math.min(ends, now)
  redis.call('HSET', KEYS[1], 'status', 'sold', 'endsAt', ends)
  redis.call('ZREM', KEYS[9], auction_id)
end
redis.call('SET', KEYS[2], cjson.encode(new_leader))
if is_max then
  redis.call('HSET', KEYS[3], user_id, cjson.encode({max = offer, at = now}))
end

local highest_bid = {id = new_leader.bidId, auctionId = auction_id, bidderId = new_leader.userId,
                     amount = money(new_leader.amount), createdAt = iso(new_leader.ts),
                     bidderName = new_leader.name}
for _, loser in ipairs(outbid) do
  publish_user(KEYS[5], loser, auction_id, 'bid:outbid',
    cjson.encode({bid = highest_bid, minNextBid = money(new_leader.amount + increment)}), now, feed_maxlen,
    request_id)
end

-- The outbox record: everything PostgreSQL must learn from this bid (shared.services.bid_intake).
local record = {
  auctionId = auction_id, round = tonumber(st.round or '1'), bids = placed, at = now,
  arrivedAt = moment,
  endsAt = ends, extended = ends ~= tonumber(st.endsAt), outbid = outbid, buyNow = sold,
  sellerId = st.sellerId, maxOf = is_max and user_id or cjson.null,
  max = is_max and offer or cjson.null, maxNonce = is_max and nonce or cjson.null,
  ledgerSecret = st.ledgerSecret or ''}
if request_id ~= '' then record.requestId = request_id end
if (ARGV[18] or '') ~= '' then record.netHash = ARGV[18] end
if (ARGV[19] or '') ~= '' then record.deviceHash = ARGV[19] end
redis.call('XADD', KEYS[6], '*', 'r', cjson.encode(record))

local result = cjson.encode({
  record = record,
  bid = requester_bid or highest_bid,
  highest = highest_bid,
  minNextBid = money(new_leader.amount + increment),
  endsAt = iso(ends),
  buyNow = sold,
  maxAmount = is_max and money(offer) or cjson.null,
  outbid = outbid,
  arrivedAt = iso(moment),
  asked = asked,
})
redis.call('SET', KEYS[7], result, 'EX', tonumber(ARGV[12]))
return {'ok', result}
