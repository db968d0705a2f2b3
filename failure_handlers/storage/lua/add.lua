-- Write one dead job's entry: replace its older entry (the caller merged the two first, see ARGV[12]),
-- index it, trim by age and count.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix        ARGV[2] job id       ARGV[3] score (failure time, epoch seconds)
-- ARGV[4] ttl (s)       ARGV[5] max entries  ARGV[6] now (epoch seconds)
-- ARGV[7] group sample (JSON: exc_type, func_name, origin, message)
-- ARGV[8] guard: '' or a sorted set (RQ's failed registry) that must still hold the job, else
--         nothing is written and -1 returned (the reconciler's race guard)
-- ARGV[9] the entry's fields, one JSON object of strings (entry.DeadLetterEntry.to_hash)
-- ARGV[10] '' or a counter spec (JSON, see count_all in prelude.lua): the failure handler's and the
--         reconciler's counters. A handler write that replaces an existing entry of the job counts
--         the failed run but not a second dead-lettering; a reconciler write that replaces one
--         counts nothing (count_all in prelude.lua)
-- ARGV[11] the failure archive's stream MAXLEN, or '' / '0' when the archive is off: then nothing
--         below touches the archive's keys. When on, the entry gets an `archive_id` field (kept
--         from the entry it replaces: the same dead-lettering), a `dead` event carries the entry, and
--         each entry trimmed by count a `trimmed` event (archive_event in prelude.lua)
-- ARGV[12] compare-and-set: '' writes unconditionally; 'none' writes only if the job has no entry;
--         a number writes only if the stored entry's `revision` field is that number (an entry
--         written before `revision` existed counts as 0). Each write stores revision + 1. The caller
--         merges a re-recording with the stored entry (recording/first_cause.py) and retries on -2.
-- Returns: how many of the oldest entries were dropped to stay under max entries (also added to
-- <prefix>dropped), -1 (guard failed) or -2 (the stored entry is not the one expected: nothing written).
local id = ARGV[2]
local score = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local now = tonumber(ARGV[6])
local key = prefix .. 'entry:' .. id
if ARGV[8] ~= '' and not redis.call('ZSCORE', ARGV[8], id) then return -1 end
local expected = ARGV[12] or ''
local revision = redis.call('HGET', key, 'revision')
local present = redis.call('EXISTS', key) == 1
if expected == 'none' and present then return -2 end
if expected ~= '' and expected ~= 'none' and not (present and (revision or '0') == expected) then return -2 end
redis.call('ZREM', prefix .. 'dismissed', id)

-- The older entry of the job (merged into this one by the caller): out of its indexes first.
local old = redis.call('HMGET', key, unpack(fields))
local existed = old[1] or old[2] or old[3] or old[4]
local archive = ARGV[11] ~= nil and ARGV[11] ~= '' and ARGV[11] ~= '0'
local archive_id = archive and existed and redis.call('HGET', key, 'archive_id') or (id .. '@' .. ARGV[3])
if not (existed and ARGV[8] ~= '') then count_all(ARGV[10], existed) end
if existed then
  unindex(id)
  redis.call('DEL', key)
end

local entry = cjson.decode(ARGV[9])
local mapping = {}
for name, value in pairs(entry) do
  mapping[#mapping + 1] = name
  mapping[#mapping + 1] = value
end
mapping[#mapping + 1] = 'revision'
mapping[#mapping + 1] = tostring((tonumber(revision or '0') or 0) + 1)
if archive then
  mapping[#mapping + 1] = 'archive_id'
  mapping[#mapping + 1] = archive_id
end
redis.call('HSET', key, unpack(mapping))
redis.call('EXPIREAT', key, math.ceil(score + ttl))
local values = {}
for i = 1, #fields do values[i] = entry[fields[i]] end
index_values(id, score, ttl, values)
if entry.fingerprint and entry.fingerprint ~= '' then
  redis.call('HSET', prefix .. 'groups', entry.fingerprint, ARGV[7])
  redis.call('EXPIRE', prefix .. 'groups', ttl)
end
if archive then archive_event(ARGV[11], 'dead', archive_id, id, ARGV[6], 'entry', ARGV[9]) end

for _, member in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. (now - ttl), 'LIMIT', 0, 1000)) do
  unindex(member)
end
local dropped = 0
local excess = redis.call('ZCARD', index) - cap
if excess > 0 then
  for _, member in ipairs(redis.call('ZRANGE', index, 0, excess - 1)) do
    unindex(member)
    archive_outcome(ARGV[11], member, 'trimmed', 'DLQ_MAX_ENTRIES', ARGV[6])
    redis.call('DEL', prefix .. 'entry:' .. member)
    dropped = dropped + 1
  end
  redis.call('INCRBY', prefix .. 'dropped', dropped)
end
return dropped
