-- Claim jobs for requeueing, atomically: of concurrent claimers of one job, exactly one wins.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2] now (epoch seconds)
-- ARGV[3] the archive's stream MAXLEN ('' / '0': archive off)    ARGV[4] who requeues (for the archive)
-- ARGV[5..] pairs: job id, key of RQ's FailedJobRegistry of the job's queue
-- Returns: per job a bit set: 1 if its DLQ entry was claimed (out of every index, added to
-- <prefix>claims scored by now; the archive gets a `requeued` outcome, undone by release.lua),
-- plus 2 if the job was taken out of RQ's failed registry; 0 if there was nothing to claim.
local now = tonumber(ARGV[2])
local result = {}
for i = 5, #ARGV, 2 do
  local id, registry = ARGV[i], ARGV[i + 1]
  local code = unindex(id)
  if code == 1 then
    redis.call('ZADD', prefix .. 'claims', now, id)
    archive_outcome(ARGV[3], id, 'requeued', ARGV[4], ARGV[2])
  end
  code = code + 2 * redis.call('ZREM', registry, id)
  result[#result + 1] = code
end
return result
