-- Shared by every DLQ script (prepended to each one by scripts.py).
-- ARGV[1]: the DLQ key prefix (DLQ_PREFIX). Key names are built from it exactly as keys.py
-- builds them: <prefix>entry:<id>, <prefix>index, <prefix>by:<kind>:<value>, <prefix>names:<kind>.
-- Keys are addressed by prefix, not passed in KEYS: Redis Cluster is not supported.

local prefix = ARGV[1]
local index = prefix .. 'index'
local kinds = {'queue', 'func', 'exc', 'group'}
local fields = {'queue', 'func_name', 'exc_type', 'fingerprint'}

-- Take a member out of the main index and its four secondary indexes (values read from its hash).
-- Returns 1 if it was in the main index, else 0.
local function unindex(member)
  local values = redis.call('HMGET', prefix .. 'entry:' .. member, unpack(fields))
  for i = 1, #kinds do
    if values[i] then redis.call('ZREM', prefix .. 'by:' .. kinds[i] .. ':' .. values[i], member) end
  end
  return redis.call('ZREM', index, member)
end

-- Note a value as seen at `score` in <prefix>names:<kind>, keeping the latest score.
-- ZADD GT (Redis >= 6.2) in one command; REDIS_VERSION_NUM exists from Redis 7.0 (and Valkey).
local zadd_gt = (redis.REDIS_VERSION_NUM or 0) >= 0x060200
local function seen(names, score, value)
  if zadd_gt then
    redis.call('ZADD', names, 'GT', score, value)
  else
    local last = tonumber(redis.call('ZSCORE', names, value) or 0)
    if score > last then redis.call('ZADD', names, score, value) end
  end
end

-- Put a member in the main index and in the secondary index of each kind at `score`;
-- `values[i]` is its value for kinds[i] ('' or nil: not indexed for that kind).
local function index_values(member, score, ttl, values)
  redis.call('ZADD', index, score, member)
  redis.call('EXPIRE', index, ttl)
  for i = 1, #kinds do
    local value = values[i]
    if value and value ~= '' then
      local by = prefix .. 'by:' .. kinds[i] .. ':' .. value
      redis.call('ZADD', by, score, member)
      redis.call('EXPIRE', by, ttl)
      local names = prefix .. 'names:' .. kinds[i]
      seen(names, score, value)
      redis.call('EXPIRE', names, ttl)
    end
  end
end

-- Put a member (whose hash exists) back in every index at `score` (values read from its hash).
local function reindex(member, score, ttl)
  index_values(member, score, ttl, redis.call('HMGET', prefix .. 'entry:' .. member, unpack(fields)))
end
