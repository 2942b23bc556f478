-- The room events a joining client missed, at most ARGV[2] of them (the WebSocket protocol: a join
-- replays at most the 1,000 most recent events). A client further behind gets a gap instead,
-- and the entries are never sent over the network: a flood of joins with an old lastEventId
-- costs a lookup of the stream's first id, not a read of the whole stream.
-- KEYS: 1 room stream
-- ARGV: 1 after (the client's lastEventId, "<ms>-<seq>"; "" for none)  2 the most replayed
-- Returns {firstId|false, gap (0/1), entries (oldest first; empty on a gap)}.
local max = tonumber(ARGV[2])

local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end

local first = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
local first_id = false
if #first > 0 then first_id = first[1][1] end

if ARGV[1] == '' then return {first_id, 0, {}} end

local after_ms, after_seq = parse(ARGV[1])
if first_id and (after_ms > 0 or after_seq > 0) then
  local first_ms, first_seq = parse(first_id)
  if after_ms < first_ms or (after_ms == first_ms and after_seq < first_seq) then
    return {first_id, 1, {}}  -- trimmed past it (or never had it): the hub says replayGap
  end
end

local newest = redis.call('XREVRANGE', KEYS[1], '+', '(' .. ARGV[1], 'COUNT', max + 1)
if #newest > max then return {first_id, 1, {}} end
local entries = {}
for i = #newest, 1, -1 do table.insert(entries, newest[i]) end
return {first_id, 0, entries}
