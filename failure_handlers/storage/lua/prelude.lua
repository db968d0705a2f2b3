-- Shared by every script (prepended to each one by scripts.py).
-- ARGV[1]: the DLQ key prefix (DLQ_PREFIX). Key names are built from it exactly as keys.py
-- builds them: <prefix>entry:<id>, <prefix>index, <prefix>by:<kind>:<value>, <prefix>values,
-- <prefix>groups. Keys are addressed by prefix, not passed in KEYS: Redis Cluster is not supported.
-- The index keys have no TTL: the add script trims them by count on every add and by age in its
-- sweep (add.lua); readers skip members older than the TTL or whose entry is gone.

local prefix = ARGV[1]
local index = prefix .. 'index'
local values_key = prefix .. 'values'
-- ZADD GT (Redis >= 6.2); REDIS_VERSION_NUM exists from Redis 7.0 (and Valkey): older servers (and
-- fakeredis) read the score first (`seen`, below).
local zadd_gt = (redis.REDIS_VERSION_NUM or 0) >= 0x060200

-- The names and helpers most calls of the add script never need are made by `helpers()` (at the end),
-- which returns them in a table: every Lua table, string, closure and captured local (upvalue) a
-- script makes costs the server instructions on each call, and the whole prelude made eagerly was
-- ~19k of the add's ~320k (benchmarks/server_instructions.py). The add script calls `helpers()` only
-- on its rare paths; the other scripts call it first thing.
local helpers

-- Put a member in the main index and in the secondary index of each kind at `score` (a number, or
-- better the caller's ARGV text: the server then parses it once per ZADD, with no number formatted in between);
-- `queue`, `func`, `exc`, `group`: its values for kinds[1..4] ('', false or nil: not indexed for that kind).
-- Every value is noted in <prefix>values in one command, at `seen_at` (default `score`): the add
-- script rounds it up to its sweep interval, so that a storm's values, already there with that
-- score, are left as they are (ZADD GT moving a member of that small listpack costs more than all
-- four secondary indexes together). Returns how many values were new there.
-- No table and no loop in the usual case (all four values, ZADD GT): the add script runs this on
-- every dead-lettering, and each Lua table and string costs the server instructions.
local function index_values(member, score, seen_at, queue, func, exc, group)
  seen_at = seen_at or score
  redis.call('ZADD', index, score, member)
  local q, f, e, g = queue and queue ~= '', func and func ~= '', exc and exc ~= '', group and group ~= ''
  if q then redis.call('ZADD', prefix .. 'by:queue:' .. queue, score, member) end
  if f then redis.call('ZADD', prefix .. 'by:func:' .. func, score, member) end
  if e then redis.call('ZADD', prefix .. 'by:exc:' .. exc, score, member) end
  if g then redis.call('ZADD', prefix .. 'by:group:' .. group, score, member) end
  if zadd_gt and q and f and e and g then
    return redis.call('ZADD', values_key, 'GT', seen_at, 'queue:' .. queue, seen_at, 'func:' .. func,
      seen_at, 'exc:' .. exc, seen_at, 'group:' .. group)
  end
  local h = helpers()
  local kinds, seen = h.kinds, h.seen
  local pairs_, values = {}, {queue, func, exc, group}
  for i = 1, #kinds do
    local value = values[i]
    if value and value ~= '' then
      pairs_[#pairs_ + 1] = seen_at
      pairs_[#pairs_ + 1] = kinds[i] .. ':' .. value
    end
  end
  if #pairs_ == 0 then return 0 end
  if zadd_gt then return redis.call('ZADD', values_key, 'GT', unpack(pairs_)) end
  local new = 0
  for i = 1, #pairs_, 2 do new = new + seen(pairs_[i], pairs_[i + 1]) end
  return new
end

-- Prometheus counters kept in Redis (failure_handlers/metrics/counters.py builds the spec).
-- spec: per increment `N metric US field` (N: '1' for new_only, else '0'; field = the values joined by US),
-- apart by RS; a newline; then JSON {"cap": N, "series": M, "incr": [[metric, [label, ...], [value, ...], new_only], ...]},
-- decoded only for a series not seen yet.
-- `new_only` items (dead_lettered) are skipped when `replacing` is true: the job already had an
-- entry (dead-lettered again without a requeue in between, e.g. RQ's cleanup of a killed
-- work-horse re-failing a job the handler had already recorded): every dead job counted once.
-- Each label admits at most N values (set <prefix>metrics:values:<label>); later values count as
-- 'other'. Each counter hash (<prefix>metrics:<metric>) holds at most M series; a new series past
-- that is counted in the all-'other' series (so at most M + 1 series). Field = the values joined by "\31" (keys.py).
local function count_all(spec, replacing)
  if spec == nil or spec == '' then return 0 end
  local newline = string.find(spec, '\n', 1, true)
  if not newline then return 0 end  -- not a spec of this version
  local counted, memo, full = 0, nil, nil
  -- Split with plain finds, no patterns, and as few new strings as possible (each costs the server
  -- a hash and an allocation; benchmarks/server_instructions.py). An item without its separator is skipped.
  local find, sub, byte = string.find, string.sub, string.byte
  local start = 1
  while start < newline do
    local stop = find(spec, '\30', start, true)
    if not stop or stop > newline then stop = newline end
    local sep = find(spec, '\31', start, true)
    local metric, field
    if sep and sep < stop and sep > start + 1 and not (replacing and byte(spec, start) == 49) then  -- 49: '1', new_only
      metric, field = sub(spec, start + 1, sep - 1), sub(spec, sep + 1, stop - 1)
    end
    start = stop + 1
    if metric then
      counted = counted + 1
      local hash = prefix .. 'metrics:' .. metric
      -- The usual case: this series exists (its values were admitted when it was created): one command.
      if redis.call('HINCRBY', hash, field, '1') == 1 then
        -- A new series: taken back, then its values admitted (or counted as 'other'), from the JSON part.
        redis.call('HDEL', hash, field)
        full = full or cjson.decode(string.sub(spec, newline + 1))
        memo = memo or {}
        local admitted = helpers().admitted
        local cap, series = tonumber(full.cap), tonumber(full.series)
        for _, incr in ipairs(full.incr) do
          if incr[1] == metric then
            local labels, values = incr[2], incr[3]
            local parts, others = {}, {}
            for i = 1, #labels do
              parts[i] = admitted(labels[i], values[i], cap, memo)
              others[i] = 'other'
            end
            field = table.concat(parts, '\31')
            if redis.call('HLEN', hash) >= series and redis.call('HEXISTS', hash, field) == 0 then
              field = table.concat(others, '\31')
            end
          end
        end
        redis.call('HINCRBY', hash, field, '1')
      end
    end
  end
  return counted
end

local made
helpers = function()
  if made then return made end
  local groups_key = prefix .. 'groups'
  local kinds = {'queue', 'func', 'exc', 'group'}
  local fields = {'queue', 'func_name', 'exc_type', 'fingerprint'}

  -- Take a member out of the main index and the secondary index of each kind; `values[i]` is its
  -- value for kinds[i] (false/nil: none). Returns 1 if it was in the main index, else 0.
  local function unindex_values(member, values)
    for i = 1, #kinds do
      if values[i] then redis.call('ZREM', prefix .. 'by:' .. kinds[i] .. ':' .. values[i], member) end
    end
    return redis.call('ZREM', index, member)
  end

  -- The same, the values read from the member's hash.
  local function unindex(member)
    return unindex_values(member, redis.call('HMGET', prefix .. 'entry:' .. member, unpack(fields)))
  end

  -- Note a value as seen at `score` in <prefix>values (member <kind>:<value>), keeping the latest
  -- score. Returns 1 if it was not there. ZADD GT (Redis >= 6.2); REDIS_VERSION_NUM exists from
  -- Redis 7.0 (and Valkey): older servers (and fakeredis) read the score first.
  local function seen(score, member)
    local last = redis.call('ZSCORE', values_key, member)
    if not last or tonumber(score) > tonumber(last) then redis.call('ZADD', values_key, score, member) end
    return last and 0 or 1
  end

  -- Put a member (whose hash exists) back in every index at `score` (values read from its hash).
  local function reindex(member, score)
    local values = redis.call('HMGET', prefix .. 'entry:' .. member, unpack(fields))
    return index_values(member, score, nil, values[1], values[2], values[3], values[4])
  end

  -- The failure archive's event stream (keys.py: <prefix>archive:events, <prefix>archive:seq;
  -- failure_handlers/archive/events.py reads it). `maxlen` '' or '0': the archive is off, nothing is
  -- appended. Every event gets the next number of <prefix>archive:seq, so the archiver can count the
  -- events that MAXLEN trimmed before it read them. Fields: seq, type (dead | outcome), id (the
  -- dead-lettering's archive id), job, at (epoch seconds), then the event's own fields.
  local function archive_event(maxlen, event_type, archive_id, job_id, at, ...)
    if maxlen == nil or maxlen == '' or maxlen == '0' or not archive_id then return end
    local seq = redis.call('INCR', prefix .. 'archive:seq')
    redis.call('XADD', prefix .. 'archive:events', 'MAXLEN', '~', maxlen, '*', 'seq', seq, 'type', event_type,
      'id', archive_id, 'job', job_id, 'at', at, ...)
  end

  -- An outcome of a dead-lettering whose entry hash still exists (read before it is deleted).
  local function archive_outcome(maxlen, member, outcome, by, at)
    if maxlen == nil or maxlen == '' or maxlen == '0' then return end
    local archive_id = redis.call('HGET', prefix .. 'entry:' .. member, 'archive_id')
    if archive_id then archive_event(maxlen, 'outcome', archive_id, member, at, 'outcome', outcome, 'by', by) end
  end

  -- A label value admitted for counting (count_all, above), or 'other' past the label's cap.
  local function admitted(label, value, cap, memo)
    local seen_key = label .. '\31' .. value
    if memo[seen_key] then return memo[seen_key] end
    local set = prefix .. 'metrics:values:' .. label
    local result = value
    if redis.call('SISMEMBER', set, value) == 0 then
      if redis.call('SCARD', set) >= cap then
        result = 'other'
      else
        redis.call('SADD', set, value)
      end
    end
    memo[seen_key] = result
    return result
  end

  made = {
    groups_key = groups_key, kinds = kinds, fields = fields, unindex_values = unindex_values, unindex = unindex,
    seen = seen, reindex = reindex, archive_event = archive_event, archive_outcome = archive_outcome,
    admitted = admitted,
  }
  return made
end
