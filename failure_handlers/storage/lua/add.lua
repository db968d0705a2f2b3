-- Write one dead job's entry: replace its older entry (the caller merged the two first, see ARGV[11]),
-- index it, trim by count, and now and then sweep what aged out.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix        ARGV[2] job id       ARGV[3] score (failure time, epoch seconds)
-- ARGV[4] ttl (s)       ARGV[5] max entries  ARGV[6] now (epoch seconds)
-- ARGV[7] group sample (JSON: exc_type, func_name, origin, message): stored in <prefix>groups when
--         one of the entry's indexed values is new (a new group is one), if the group has none yet
-- ARGV[8] guard: '' or a sorted set (RQ's failed registry) that must still hold the job, else
--         nothing is written and -1 returned (the reconciler's race guard)
-- ARGV[9] '' or a counter spec (see count_all in prelude.lua): the failure handler's and the
--         reconciler's counters. A handler write that replaces an existing entry of the job counts
--         the failed run but not a second dead-lettering; a reconciler write that replaces one
--         counts nothing (count_all in prelude.lua)
-- ARGV[10] the failure archive's stream MAXLEN, or '' / '0' when the archive is off: then nothing
--         below touches the archive's keys. When on, the entry gets an `archive_id` field (kept
--         from the entry it replaces: the same dead-lettering), a `dead` event carries the entry
--         (ARGV[12]), and each entry trimmed by count a `trimmed` event (archive_event in prelude.lua)
-- ARGV[11] compare-and-set: '' writes unconditionally; 'none' writes only if the job has no entry;
--         a number writes only if the stored entry's `revision` field is that number (an entry
--         written before `revision` existed counts as 0). A first write (no entry) stores no `revision`:
--         it reads as 0; each later write stores the stored one + 1. The caller
--         merges a re-recording with the stored entry (dlq/first_cause.py) and retries on -2.
-- ARGV[12] the entry's fields as one JSON object, for the archive's `dead` event; '' when the archive is off
-- ARGV[13..16] the indexed values: queue, func_name, exc_type, fingerprint ('': not indexed, and
--         not stored: the entry's field reads as '')
-- ARGV[17] the entry's expiry, epoch seconds: ceil(score + ttl)
-- ARGV[18] SWEEP_EVERY (below): max(1, min(3600, floor(ttl / 100))) seconds
-- ARGV[19] the values' last-seen time: score rounded up to a multiple of SWEEP_EVERY
-- ARGV[20] '' or the failed job's RQ hash key: HSET <it> meta ARGV[21] (and retries_left 0 when
--         ARGV[22] is '1'), the failure handler's save of the job's meta (jobs/meta.py), done first
--         so that it is saved whatever the rest does. If it fails, the script goes on and, its
--         work done, replies with that error (as the separate HSET it replaces did)
-- ARGV[23..] the entry's other fields (entry.DeadLetterEntry.stored_fields without the four indexed
--         ones), flat: name, value, name, value, ...
-- ARGV[17..19] are computed by the caller (dlq/store.py), with the same arithmetic: Lua's number
-- parsing, formatting and math calls cost the server more than three more arguments.
-- Returns: how many of the oldest entries were dropped to stay under max entries (also added to
-- <prefix>dropped), -1 (guard failed) or -2 (the stored entry is not the one expected: nothing written);
-- an error reply instead when the meta save (ARGV[20]) failed.
--
-- The index keys (<prefix>index, by:*, values, groups) have no TTL. The trim by count runs on every
-- add; the sweep by age (members older than the TTL, whose entries have expired) runs when the key
-- <prefix>swept has expired (at most once per SWEEP_EVERY seconds): it also moves the layout written
-- before 2026-11 (names:<kind>, index keys with a TTL) to this one (docs/dlq-contract.md#upgrading).
local meta_error = false
if ARGV[20] ~= '' then
  local saved
  if ARGV[22] == '1' then
    saved = redis.pcall('HSET', ARGV[20], 'meta', ARGV[21], 'retries_left', '0')
  else
    saved = redis.pcall('HSET', ARGV[20], 'meta', ARGV[21])
  end
  if type(saved) == 'table' and saved.err then meta_error = saved.err end
end
local function reply(result)
  if meta_error then return redis.error_reply('the job meta was not saved: ' .. meta_error) end
  return result
end

local id = ARGV[2]
local guard = ARGV[8]
local maxlen = ARGV[10]
local expected = ARGV[11]
local key = prefix .. 'entry:' .. id
if guard ~= '' and not redis.call('ZSCORE', guard, id) then return reply(-1) end

-- The usual write (the handler's, the reconciler's: the job has no entry yet) reads one thing: whether
-- the entry exists (1) and whether the sweep's marker does (2 + 2: EXISTS counts a key named twice
-- twice), in one command: nothing below touches the marker before the sweep, which sets it.
local swept_key = prefix .. 'swept'
local found = redis.call('EXISTS', key, swept_key, swept_key)
local present = found % 2 == 1
if expected == 'none' and present then return reply(-2) end
local old = false  -- revision, archive_id, then the indexed values of the entry being replaced
if present then
  old = redis.call('HMGET', key, 'revision', 'archive_id', unpack(helpers().fields))
end
if expected ~= '' and expected ~= 'none' and not (present and (old[1] or '0') == expected) then return reply(-2) end

-- The older entry of the job (merged into this one by the caller): out of its indexes first.
local existed = present and (old[3] or old[4] or old[5] or old[6])
local archive = maxlen ~= '' and maxlen ~= '0'
local archive_id = archive and (existed and old[2] or (id .. '@' .. ARGV[3]))
if not (existed and guard ~= '') then count_all(ARGV[9], existed) end
local revision = false  -- a first write stores none: the entry reads as revision 0
if present then
  helpers().unindex_values(id, {old[3], old[4], old[5], old[6]})
  redis.call('DEL', key)
  revision = tostring((tonumber(old[1] or '0') or 0) + 1)
end

local queue, func, exc, group = ARGV[13], ARGV[14], ARGV[15], ARGV[16]
if not revision and queue ~= '' and func ~= '' and exc ~= '' and group ~= '' then  -- the usual entry: no table
  if archive then
    redis.call('HSET', key, 'archive_id', archive_id, 'queue', queue, 'func_name', func, 'exc_type', exc,
      'fingerprint', group, unpack(ARGV, 23))
  else
    redis.call('HSET', key, 'queue', queue, 'func_name', func, 'exc_type', exc, 'fingerprint', group,
      unpack(ARGV, 23))
  end
else
  local fields = helpers().fields
  local head = {}
  local function put(name, value)
    head[#head + 1] = name
    head[#head + 1] = value
  end
  if revision then put('revision', revision) end
  if archive then put('archive_id', archive_id) end
  for i = 1, #fields do
    if ARGV[12 + i] ~= '' then put(fields[i], ARGV[12 + i]) end
  end
  for i = 23, #ARGV do head[#head + 1] = ARGV[i] end
  redis.call('HSET', key, unpack(head))
end
redis.call('EXPIREAT', key, ARGV[17])
-- The sweep by age runs at most once per SWEEP_EVERY seconds (1% of the TTL, 1 s to 1 h); the values'
-- last-seen times are kept to that precision (index_values in prelude.lua).
if index_values(id, ARGV[3], ARGV[19], queue, func, exc, group) > 0 and group ~= '' then
  redis.call('HSETNX', helpers().groups_key, group, ARGV[7])
end
if archive then
  helpers().archive_event(maxlen, 'dead', archive_id, id, ARGV[6], 'entry', ARGV[12])
end

-- Trim by count: the oldest members past max entries (members whose entry has expired first: they
-- are the oldest). Only entries that still existed count as dropped.
local dropped = 0
local excess = redis.call('ZRANGE', index, 0, -(tonumber(ARGV[5]) + 1))
if #excess > 0 then
  local h = helpers()
  for _, member in ipairs(excess) do
    h.unindex(member)
    h.archive_outcome(maxlen, member, 'trimmed', 'DLQ_MAX_ENTRIES', ARGV[6])
    dropped = dropped + redis.call('DEL', prefix .. 'entry:' .. member)
  end
  if dropped > 0 then redis.call('INCRBY', prefix .. 'dropped', dropped) end
end

-- The sweep by age, at most once per SWEEP_EVERY seconds: when the marker was not there (above).
if found < 2 then
  redis.call('SET', swept_key, ARGV[6], 'EX', ARGV[18])
  local h = helpers()  -- the prelude's names and helpers, made only on the paths that need them
  local kinds, seen, groups_key = h.kinds, h.seen, h.groups_key
  local cutoff = tonumber(ARGV[6]) - tonumber(ARGV[4])
  local older = '(' .. cutoff
  -- The layout of before 2026-11: the values seen per kind in names:<kind>, and a TTL on every index
  -- key (refreshed by each add of the old script): merged into <prefix>values, the TTLs removed.
  local migrating = false
  for i = 1, #kinds do
    local names = prefix .. 'names:' .. kinds[i]
    local rows = redis.call('ZRANGE', names, 0, -1, 'WITHSCORES')
    for j = 1, #rows, 2 do
      migrating = true
      seen(tonumber(rows[j + 1]), kinds[i] .. ':' .. rows[j])
    end
    if #rows > 0 then redis.call('DEL', names) end
  end
  if migrating then
    redis.call('PERSIST', index)
    redis.call('PERSIST', groups_key)
  end
  redis.call('ZREMRANGEBYSCORE', index, '-inf', older)
  -- Each value's secondary index: dropped with the value when it was last seen before the cutoff,
  -- else its aged members removed.
  local rows = redis.call('ZRANGE', values_key, 0, -1, 'WITHSCORES')
  for i = 1, #rows, 2 do
    local by = prefix .. 'by:' .. rows[i]
    if tonumber(rows[i + 1]) < cutoff then
      redis.call('DEL', by)
      if string.sub(rows[i], 1, 6) == 'group:' then redis.call('HDEL', groups_key, string.sub(rows[i], 7)) end
    else
      redis.call('ZREMRANGEBYSCORE', by, '-inf', older)
      if migrating then redis.call('PERSIST', by) end
    end
  end
  redis.call('ZREMRANGEBYSCORE', values_key, '-inf', older)
end
return reply(dropped)
