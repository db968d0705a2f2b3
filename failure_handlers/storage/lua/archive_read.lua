-- The archiver's read of new events, counting those the stream's MAXLEN trimmed before anyone read them.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2] consumer group    ARGV[3] consumer name    ARGV[4] how many at most
-- Events carry consecutive numbers (`seq`, archive_event in prelude.lua) and a group delivers new
-- ones in stream order, so a gap between the last number delivered and the next one read is events
-- lost: added to `lost` in <prefix>archive:state, `delivered_seq` moved on. In one script so that
-- two archivers reading at once cannot count each other's events as lost.
-- Returns: the entries read, as XREADGROUP returns them for one stream: {{id, {field, value, ...}}, ...}.
local stream = prefix .. 'archive:events'
local state = prefix .. 'archive:state'
local reply = redis.call('XREADGROUP', 'GROUP', ARGV[2], ARGV[3], 'COUNT', ARGV[4], 'STREAMS', stream, '>')
if not reply then return {} end
-- Redis and Valkey answer {{stream, entries}}; fakeredis (unit tests) {stream, entries}.
local entries = type(reply[1]) == 'table' and reply[1][2] or reply[2]
local delivered = tonumber(redis.call('HGET', state, 'delivered_seq') or '0')
local lost = 0
for _, item in ipairs(entries) do
  local fields = item[2]
  for i = 1, #fields, 2 do
    if fields[i] == 'seq' then
      local seq = tonumber(fields[i + 1])
      if seq and seq > delivered then
        lost = lost + (seq - delivered - 1)
        delivered = seq
      end
      break
    end
  end
end
redis.call('HSET', state, 'delivered_seq', delivered)
if lost > 0 then redis.call('HINCRBY', state, 'lost', lost) end
return entries
