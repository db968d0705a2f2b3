-- Read what a requeue needs of a batch of jobs, in one call (no writes): per job the named fields of
-- its DLQ entry, then the named fields of its RQ job hash. A script because its arguments are the
-- ids alone: a pipeline of two HMGETs per job sends (and the client encodes) every field name twice
-- per job, which was most of a bulk requeue's client CPU.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2] RQ's job key prefix (`Job.key_for('')`: 'rq:job:')
-- ARGV[3] E, the number of entry fields, ARGV[4..3+E] their names
-- ARGV[4+E] J, the number of job fields, then their names; then the job ids.
-- Returns: a flat array, per job E entry values then J job values (missing: false, a null in RESP2
-- and a false in RESP3).
local job_prefix = ARGV[2]
local entry_count = tonumber(ARGV[3])
local entry_fields = {unpack(ARGV, 4, 3 + entry_count)}
local job_count = tonumber(ARGV[4 + entry_count])
local job_fields = {unpack(ARGV, 5 + entry_count, 4 + entry_count + job_count)}
local result = {}
for i = 5 + entry_count + job_count, #ARGV do
  local id = ARGV[i]
  local values = redis.call('HMGET', prefix .. 'entry:' .. id, unpack(entry_fields))
  for k = 1, entry_count do result[#result + 1] = values[k] end
  values = redis.call('HMGET', job_prefix .. id, unpack(job_fields))
  for k = 1, job_count do result[#result + 1] = values[k] end
end
return result
