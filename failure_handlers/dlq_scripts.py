"""Lua scripts for the DLQ writes that must be atomic and need to read before they write.

Each script receives the key prefix and builds key names exactly as `redis_keys.DlqKeys` does, so
all writes of one operation (entry, indexes, trims, counters) happen in one atomic step and one
round trip. (They address keys not passed in KEYS, so Redis Cluster is not supported.)
"""

from __future__ import annotations

# Shared helpers: remove a member from the secondary indexes (reading the fields from its hash),
# and add it to them.
_PRELUDE = """
local prefix = ARGV[1]
local index = prefix .. 'index'
local kinds = {'queue', 'func', 'exc', 'group'}
local fields = {'queue', 'func_name', 'exc_type', 'fingerprint'}

local function unindex(member)
  local values = redis.call('HMGET', prefix .. 'entry:' .. member, unpack(fields))
  for i = 1, #kinds do
    if values[i] then redis.call('ZREM', prefix .. 'by:' .. kinds[i] .. ':' .. values[i], member) end
  end
  return redis.call('ZREM', index, member)
end

local function reindex(member, score, ttl)
  redis.call('ZADD', index, score, member)
  redis.call('EXPIRE', index, ttl)
  local values = redis.call('HMGET', prefix .. 'entry:' .. member, unpack(fields))
  for i = 1, #kinds do
    local value = values[i]
    if value and value ~= '' then
      local by = prefix .. 'by:' .. kinds[i] .. ':' .. value
      redis.call('ZADD', by, score, member)
      redis.call('EXPIRE', by, ttl)
      local names = prefix .. 'names:' .. kinds[i]
      local seen = tonumber(redis.call('ZSCORE', names, value) or 0)
      if score > seen then redis.call('ZADD', names, score, value) end
      redis.call('EXPIRE', names, ttl)
    end
  end
end
"""

# ARGV: prefix, job_id, score, ttl, max_entries, now, group_sample, guard, field1, value1, ...
# `guard`: '' or a sorted set (RQ's failed registry) that must still hold the job, else nothing is
# written and -1 returned. Returns how many old entries were dropped to stay under max_entries.
ADD = (
    _PRELUDE
    + """
local id = ARGV[2]
local score = tonumber(ARGV[3])
local ttl = tonumber(ARGV[4])
local cap = tonumber(ARGV[5])
local now = tonumber(ARGV[6])
local key = prefix .. 'entry:' .. id
if ARGV[8] ~= '' and not redis.call('ZSCORE', ARGV[8], id) then return -1 end
redis.call('ZREM', prefix .. 'dismissed', id)

unindex(id)
redis.call('DEL', key)
local mapping = {}
for i = 9, #ARGV do mapping[#mapping + 1] = ARGV[i] end
redis.call('HSET', key, unpack(mapping))
redis.call('EXPIREAT', key, math.ceil(score + ttl))
reindex(id, score, ttl)
local fingerprint = redis.call('HGET', key, 'fingerprint')
if fingerprint and fingerprint ~= '' then
  redis.call('HSET', prefix .. 'groups', fingerprint, ARGV[7])
  redis.call('EXPIRE', prefix .. 'groups', ttl)
end

for _, member in ipairs(redis.call('ZRANGEBYSCORE', index, '-inf', '(' .. (now - ttl), 'LIMIT', 0, 1000)) do
  unindex(member)
end
local dropped = 0
local excess = redis.call('ZCARD', index) - cap
if excess > 0 then
  for _, member in ipairs(redis.call('ZRANGE', index, 0, excess - 1)) do
    unindex(member)
    redis.call('DEL', prefix .. 'entry:' .. member)
    dropped = dropped + 1
  end
  redis.call('INCRBY', prefix .. 'dropped', dropped)
end
return dropped
"""
)

# ARGV: prefix, job_id1, job_id2, ... Returns how many were indexed.
DELETE = (
    _PRELUDE
    + """
local removed = 0
for i = 2, #ARGV do
  removed = removed + unindex(ARGV[i])
  redis.call('DEL', prefix .. 'entry:' .. ARGV[i])
end
return removed
"""
)

# ARGV: prefix, now, then pairs of (job_id, failed_registry_key).
# Per job: 1 if its DLQ entry was claimed (taken out of every index, listed in claims), plus 2 if
# it was taken out of RQ's failed registry. 0: nothing to claim (someone else has it).
CLAIM = (
    _PRELUDE
    + """
local now = tonumber(ARGV[2])
local result = {}
for i = 3, #ARGV, 2 do
  local id, registry = ARGV[i], ARGV[i + 1]
  local code = unindex(id)
  if code == 1 then redis.call('ZADD', prefix .. 'claims', now, id) end
  code = code + 2 * redis.call('ZREM', registry, id)
  result[#result + 1] = code
end
return result
"""
)

# ARGV: prefix, ttl, then pairs of (job_id, score). Puts claimed entries back in the indexes.
RELEASE = (
    _PRELUDE
    + """
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
"""
)
