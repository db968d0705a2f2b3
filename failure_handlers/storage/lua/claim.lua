-- Claim jobs for requeueing, atomically: of concurrent claimers of one job, exactly one wins.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2] now (epoch seconds)
-- ARGV[3] the archive's stream MAXLEN ('' / '0': archive off)    ARGV[4] who requeues (for the archive)
-- ARGV[5..] pairs: job id, key of RQ's FailedJobRegistry of the job's queue
-- Returns: per job a bit set: 1 if its DLQ entry was claimed (out of every index, added to
-- <prefix>claims scored by now; the archive gets a `requeued` outcome, undone by release.lua),
-- plus 2 if the job was taken out of RQ's failed registry; 0 if there was nothing to claim.
-- Per job three commands (HMGET of its indexed values, ZREM from the main index, ZREM from the
-- registry); the secondary indexes and <prefix>claims get one command per key for the whole batch
-- (what `unindex` does job by job, grouped: the script is atomic, so the outcome is the same).
local h = helpers()  -- prelude.lua
local kinds, fields, archive_event = h.kinds, h.fields, h.archive_event
local now = tonumber(ARGV[2])
local archive_on = not (ARGV[3] == nil or ARGV[3] == '' or ARGV[3] == '0')
local read = {unpack(fields)}
read[#read + 1] = 'archive_id'
local result = {}
local members = {}  -- secondary index key -> ids to remove from it
local index_keys = {}  -- those keys, in first-seen order
local claimed = {}  -- ZADD arguments for <prefix>claims: score, id, ...
for i = 5, #ARGV, 2 do
  local id, registry = ARGV[i], ARGV[i + 1]
  local values = redis.call('HMGET', prefix .. 'entry:' .. id, unpack(read))
  for k = 1, #kinds do
    if values[k] then
      local key = prefix .. 'by:' .. kinds[k] .. ':' .. values[k]
      if not members[key] then
        members[key] = {}
        index_keys[#index_keys + 1] = key
      end
      local list = members[key]
      list[#list + 1] = id
    end
  end
  local code = redis.call('ZREM', index, id)
  if code == 1 then
    claimed[#claimed + 1] = now
    claimed[#claimed + 1] = id
    local archive_id = values[#kinds + 1]
    if archive_on and archive_id then
      archive_event(ARGV[3], 'outcome', archive_id, id, ARGV[2], 'outcome', 'requeued', 'by', ARGV[4])
    end
  end
  code = code + 2 * redis.call('ZREM', registry, id)
  result[#result + 1] = code
end
local chunk = 1000  -- arguments per command (Lua's unpack has a limit of a few thousand)
for _, key in ipairs(index_keys) do
  local list = members[key]
  for start = 1, #list, chunk do
    redis.call('ZREM', key, unpack(list, start, math.min(start + chunk - 1, #list)))
  end
end
for start = 1, #claimed, 2 * chunk do
  redis.call('ZADD', prefix .. 'claims', unpack(claimed, start, math.min(start + 2 * chunk - 1, #claimed)))
end
return result
