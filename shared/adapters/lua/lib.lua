-- Helpers prepended to every script (see redis_store.load_script).

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Minor units -> "1250.00" (the API's money format).
local function money(minor)
  if minor == nil then return nil end
  return string.format('%d.%02d', math.floor(minor / 100), minor % 100)
end

-- Epoch ms -> "2026-11-26T09:37:19.123Z" (days-from-civil, inverted; no os.date in Redis Lua).
local function iso(ms)
  local secs = math.floor(ms / 1000)
  local millis = ms % 1000
  local days = math.floor(secs / 86400)
  local rem = secs % 86400
  local z = days + 719468
  local era = math.floor(z / 146097)
  local doe = z - era * 146097
  local yoe = math.floor((doe - math.floor(doe / 1460) + math.floor(doe / 36524) - math.floor(doe / 146096)) / 365)
  local y = yoe + era * 400
  local doy = doe - (365 * yoe + math.floor(yoe / 4) - math.floor(yoe / 100))
  local mp = math.floor((5 * doy + 2) / 153)
  local d = doy - math.floor((153 * mp + 2) / 5) + 1
  local m = mp < 10 and mp + 3 or mp - 9
  if m <= 2 then y = y + 1 end
  return string.format('%04d-%02d-%02dT%02d:%02d:%02d.%03dZ', y, m, d,
    math.floor(rem / 3600), math.floor(rem % 3600 / 60), rem % 60, millis)
end

-- A room event: into the room's stream (its entry id is the eventId, replay reads it) and the
-- live feed every socket node reads. `data_json` is already JSON. `request_id` (optional: the
-- API request that caused it) goes into the feed entry's `rid` field, beside the event, never
-- into it: the socket nodes name it in their fan-out log lines, clients never see it.
local function publish_room(room_key, feed_key, auction_id, event_type, data_json, ts, room_maxlen, feed_maxlen, request_id)
  local body = '{"type":' .. cjson.encode(event_type) .. ',"auctionId":' .. cjson.encode(auction_id) ..
    ',"data":' .. data_json .. ',"ts":' .. cjson.encode(iso(ts)) .. '}'
  local id = redis.call('XADD', room_key, 'MAXLEN', '~', room_maxlen, '*', 'e', body)
  if request_id and request_id ~= '' then
    redis.call('XADD', feed_key, 'MAXLEN', '~', feed_maxlen, '*', 'e', body, 'room', auction_id, 'eid', id, 'rid', request_id)
  else
    redis.call('XADD', feed_key, 'MAXLEN', '~', feed_maxlen, '*', 'e', body, 'room', auction_id, 'eid', id)
  end
  return id
end

-- An event for every connection of one user (not replayed; its eventId is the feed entry id).
local function publish_user(feed_key, user_id, auction_id, event_type, data_json, ts, feed_maxlen, request_id)
  local body = '{"type":' .. cjson.encode(event_type) .. ',"auctionId":' .. cjson.encode(auction_id) ..
    ',"data":' .. data_json .. ',"ts":' .. cjson.encode(iso(ts)) .. '}'
  if request_id and request_id ~= '' then
    return redis.call('XADD', feed_key, 'MAXLEN', '~', feed_maxlen, '*', 'e', body, 'user', user_id, 'rid', request_id)
  end
  return redis.call('XADD', feed_key, 'MAXLEN', '~', feed_maxlen, '*', 'e', body, 'user', user_id)
end

-- Schedule entries computed by the caller (shared.domain.schedule): [[zset key, due ms]] adds,
-- [[zset key, null]] removes `member`.
local function apply_schedule(entries, member)
  for _, entry in ipairs(entries or {}) do
    if entry[2] and entry[2] ~= cjson.null then redis.call('ZADD', entry[1], entry[2], member)
    else redis.call('ZREM', entry[1], member) end
  end
end

local function hash_of(flat)
  local h = {}
  for i = 1, #flat, 2 do h[flat[i]] = flat[i + 1] end
  return h
end

local function num(v)
  if v == nil or v == '' or v == false then return nil end
  return tonumber(v)
end
