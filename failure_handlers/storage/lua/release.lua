-- Give claimed entries back to the DLQ unchanged (a requeue that could not go ahead, or died).
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2] ttl (s; unused since the index keys have no TTL, kept for the callers)
-- ARGV[3] the archive's stream MAXLEN ('' / '0': archive off)    ARGV[4] now (epoch seconds)
-- ARGV[5..] pairs: job id, score (its failure time, epoch seconds)
-- Returns: how many entries went back into the indexes (claimed, and their hash still exists);
-- each is `open` again in the archive (its claim had marked it `requeued`).
local h = helpers()  -- prelude.lua
local reindex, archive_outcome = h.reindex, h.archive_outcome
local released = 0
for i = 5, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('ZREM', prefix .. 'claims', id) == 1 and redis.call('EXISTS', prefix .. 'entry:' .. id) == 1 then
    reindex(id, tonumber(ARGV[i + 1]))
    archive_outcome(ARGV[3], id, 'open', 'requeue undone', ARGV[4])
    released = released + 1
  end
end
return released
