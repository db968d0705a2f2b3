-- An idempotent task's key: has it succeeded already, and who runs it right now.
-- KEYS: none (see prelude.lua); the keys are built from the prefix as keys.py builds them:
--   <prefix>idem:done:<func>:<key>  string: JSON (result, job_id, done_at), with the task's TTL
--   <prefix>idem:lock:<func>:<key>  string: the owner (job id) of the run in progress, with a TTL
-- ARGV[1] prefix   ARGV[2] op: 'begin' | 'done' | 'release'   ARGV[3] func   ARGV[4] key
-- ARGV[5] owner (the job id; a re-run of the same job may take its own lock back)
-- begin:   ARGV[6] lock milliseconds. Done -> {'done', JSON}; else SET lock NX PX (or the owner's
--          own lock) -> {'run', ''}; else another run holds it -> {'busy', milliseconds left}.
--          ARGV[7] '1' = forced (`rq-dlq requeue --force`): run even if done.
-- done:    ARGV[6] JSON   ARGV[7] TTL seconds. SET done EX ttl, then the lock is released if ours.
-- release: the lock is released if ours (the body failed: a later run may try again).
local op, func, key, owner = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local done = prefix .. 'idem:done:' .. func .. ':' .. key
local lock = prefix .. 'idem:lock:' .. func .. ':' .. key

local function release()
  if redis.call('GET', lock) == owner then redis.call('DEL', lock) end
end

if op == 'begin' then
  if ARGV[7] ~= '1' then
    local value = redis.call('GET', done)
    if value then return {'done', value} end
  end
  local holder = redis.call('GET', lock)
  if holder and holder ~= owner then return {'busy', tostring(redis.call('PTTL', lock))} end
  redis.call('SET', lock, owner, 'PX', tonumber(ARGV[6]))
  return {'run', ''}
elseif op == 'done' then
  redis.call('SET', done, ARGV[6], 'EX', tonumber(ARGV[7]))
  release()
  return {'done', ''}
elseif op == 'release' then
  release()
  return {'released', ''}
end
return redis.error_reply('idempotency.lua: unknown op ' .. tostring(op))
