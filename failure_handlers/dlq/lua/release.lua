-- Give claimed entries back to the DLQ unchanged (a requeue that could not go ahead, or died).
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2] ttl (s)
-- ARGV[3..] pairs: job id, score (its failure time, epoch seconds)
-- Returns: how many entries went back into the indexes (claimed, and their hash still exists).
local ttl = tonumber(ARGV[2])
local released = 0
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('ZREM', prefix .. 'claims', id) == 1 and redis.call('EXISTS', prefix .. 'entry:' .. id) == 1 then
    reindex(id, tonumber(ARGV[i + 1]), ttl)
    released = released + 1
  end
end
return released
