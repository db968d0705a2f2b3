-- Delete entries: each out of every index, its hash deleted.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2] the archive's stream MAXLEN ('' / '0': archive off)
-- ARGV[3] outcome for the archive (deleted, purged, requeued)    ARGV[4] who or what did it
-- ARGV[5] now (epoch seconds)    ARGV[6..] job ids
-- With outcome `requeued` (the reconciler: the job is live again, requeued by another tool or
-- retried by RQ itself) each removed entry is also counted in rq_jobs_requeued_total{queue}
-- (<prefix>metrics:requeued), under its queue if that label value was admitted, else 'other':
-- so every dead-lettering is counted as still dead, or as ended by a requeue.
-- Returns: how many of them were in the main index.
local removed = 0
local requeued = ARGV[3] == 'requeued'
for i = 6, #ARGV do
  local entry = prefix .. 'entry:' .. ARGV[i]
  local queue = requeued and redis.call('HGET', entry, 'queue')
  local was = unindex(ARGV[i])
  removed = removed + was
  if queue and was == 1 then
    if redis.call('SISMEMBER', prefix .. 'metrics:values:queue', queue) == 0 then queue = 'other' end
    redis.call('HINCRBY', prefix .. 'metrics:requeued', queue, 1)
  end
  archive_outcome(ARGV[2], ARGV[i], ARGV[3], ARGV[4], ARGV[5])
  redis.call('DEL', entry)
end
return removed
