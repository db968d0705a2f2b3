-- Delete entries: each out of every index, its hash deleted; with RQ's key names given, each
-- deleted entry's RQ job too, in the same atomic step.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2] the archive's stream MAXLEN ('' / '0': archive off)
-- ARGV[3] outcome for the archive (deleted, purged, requeued)    ARGV[4] who or what did it
-- ARGV[5] now (epoch seconds)
-- ARGV[6] K, how many of RQ's key names follow: 0 leaves RQ's jobs alone (--keep-job, the reconciler)
-- ARGV[7..6+K] RQ's key names, each split around the name it is built from into a prefix and a
--   suffix (operations/delete.py gets them from RQ's own classes): first a queue's
--   FailedJobRegistry, then each key of a job to delete (its hash, its dependents, its result)
-- ARGV[7+K..] job ids
-- With outcome `requeued` (the reconciler: the job is live again, requeued by another tool or
-- retried by RQ itself) each removed entry is also counted in rq_jobs_requeued_total{queue}
-- (<prefix>metrics:requeued), under its queue if that label value was admitted, else 'other':
-- so every dead-lettering is counted as still dead, or as ended by a requeue.
-- A bulk delete (`rq-dlq purge` of 100,000) is dominated by per-command overhead: the index members
-- (and the jobs' failed-registry members) are removed with one ZREM per key and the hashes (and the
-- jobs' keys) with one DEL per 1,000, not one call each.
-- An RQ job is deleted only with its entry: an id whose entry is gone (requeued since the caller
-- chose it, expired) leaves its job alone, as it may be live again.
-- Each id also leaves <prefix>search:indexed (the search index writes its new text when it comes back).
-- Returns: how many of them were in the main index with their hash (a member whose hash is gone,
-- expired, is taken out of the main index but not counted).
local h = helpers()  -- prelude.lua
local kinds, fields, archive_event = h.kinds, h.fields, h.archive_event
local removed = 0
local requeued = ARGV[3] == 'requeued'
local archive = ARGV[2] ~= nil and ARGV[2] ~= '' and ARGV[2] ~= '0'
local read = {unpack(fields)}
read[#read + 1] = 'archive_id'
local rq_names = tonumber(ARGV[6])
local first_id = 7 + rq_names
local registry_prefix, registry_suffix = ARGV[7], ARGV[8]
local members, order, doomed, seen, ids = {}, {}, {}, {}, {}
local function later(key, member)
  local list = members[key]
  if not list then
    list = {}
    members[key] = list
    order[#order + 1] = key
  end
  list[#list + 1] = member
end
local function in_chunks(list, action)
  for first = 1, #list, 1000 do
    action(unpack(list, first, math.min(first + 999, #list)))
  end
end
local function take(id)
  local entry = prefix .. 'entry:' .. id
  local values = redis.call('HMGET', entry, unpack(read))
  for k = 1, #kinds do
    if values[k] then later(prefix .. 'by:' .. kinds[k] .. ':' .. values[k], id) end
  end
  if requeued then
    local was = redis.call('ZREM', index, id)
    removed = removed + was
    local queue = values[1]
    if queue and was == 1 then
      if redis.call('SISMEMBER', prefix .. 'metrics:values:queue', queue) == 0 then queue = 'other' end
      redis.call('HINCRBY', prefix .. 'metrics:requeued', queue, 1)
    end
  elseif values[1] or values[2] or values[3] or values[4] then  -- its hash exists (as add.lua tells)
    later(index, id)
  else
    redis.call('ZREM', index, id)  -- a dangling member: pruned, not counted
  end
  if rq_names > 0 and (values[1] or values[2] or values[3] or values[4] or redis.call('EXISTS', entry) == 1) then
    if values[1] and values[1] ~= '' then later(registry_prefix .. values[1] .. registry_suffix, id) end
    for k = 9, 6 + rq_names, 2 do doomed[#doomed + 1] = ARGV[k] .. id .. ARGV[k + 1] end
  end
  local archive_id = values[#read]
  if archive and archive_id then
    archive_event(ARGV[2], 'outcome', archive_id, id, ARGV[5], 'outcome', ARGV[3], 'by', ARGV[4])
  end
  doomed[#doomed + 1] = entry
  ids[#ids + 1] = id
end
for i = first_id, #ARGV do
  if not seen[ARGV[i]] then
    seen[ARGV[i]] = true
    take(ARGV[i])
  end
end
for _, key in ipairs(order) do
  in_chunks(members[key], function(...)
    local count = redis.call('ZREM', key, ...)
    if key == index then removed = removed + count end
  end)
end
in_chunks(doomed, function(...) redis.call('DEL', ...) end)
-- The search index (dlq/search_index.py) indexes a job again if it comes back with a new entry.
in_chunks(ids, function(...) redis.call('SREM', prefix .. 'search:indexed', ...) end)
return removed
