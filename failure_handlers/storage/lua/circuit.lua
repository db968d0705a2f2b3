-- One circuit breaker shared by every worker: check before a call, record its outcome after.
-- KEYS: none (see prelude.lua); the keys are built from the prefix as keys.py builds them:
--   <prefix>circuit:state:<name>     hash: state ('closed' | 'open' | 'half_open'), open_until, probe,
--                                    probe_until, changed_at, threshold, window, reset
--   <prefix>circuit:failures:<name>  sorted set: failures in the window (member '<time>:<token>')
--   <prefix>circuits                 sorted set: circuit names scored by their last state change
-- ARGV[1] prefix   ARGV[2] op: 'check' | 'success' | 'failure'   ARGV[3] name
-- ARGV[4] now (epoch seconds; '' = the server's clock, the same for every worker)
-- ARGV[5] failure threshold   ARGV[6] window seconds   ARGV[7] reset seconds (open -> probe; probe lease)
-- ARGV[8] token of this call (who holds the probe)   ARGV[9] retention seconds of an idle circuit
--
-- check:   closed -> nothing written. open until later -> fail fast. open and due, or half-open whose
--          probe lease ran out -> this call claims the probe (atomically: one probe at a time).
--          half-open with a probe in flight -> fail fast until its lease ends.
-- success: the probe holder closes the circuit and clears its failures; otherwise nothing written.
--          (The failures that opened it stay in the window, for `rq-dlq circuits`, until it closes.)
-- failure: the probe holder reopens it for `reset` s. While closed: the failure joins the window,
--          and at `threshold` failures within `window` s the circuit opens for `reset` s.
--          A failure that ends after the circuit opened (or by another call's probe) is not counted.
-- Returns {outcome, milliseconds until a call may probe (0 if none), failures in the window};
-- outcome: 'closed' (go ahead) | 'probe' (go ahead: you are the probe) | 'open' (fail fast).
local op, name = ARGV[2], ARGV[3]
local now = tonumber(ARGV[4])
if not now then
  local t = redis.call('TIME')
  now = tonumber(t[1]) + tonumber(t[2]) / 1000000
end
local threshold, window, reset = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local token, retention = ARGV[8], tonumber(ARGV[9])
local hash = prefix .. 'circuit:state:' .. name
local failures = prefix .. 'circuit:failures:' .. name
local circuits = prefix .. 'circuits'

local fields = redis.call('HMGET', hash, 'state', 'open_until', 'probe', 'probe_until')
local state = fields[1] or 'closed'
local open_until = tonumber(fields[2]) or 0
local probe, probe_until = fields[3] or '', tonumber(fields[4]) or 0

local function ms(seconds)
  if seconds <= 0 then return 0 end
  return math.ceil(seconds * 1000)
end

local function in_window()
  redis.call('ZREMRANGEBYSCORE', failures, '-inf', '(' .. (now - window))
  return redis.call('ZCARD', failures)
end

local function change(new_state, extra)
  redis.call('HSET', hash, 'state', new_state, 'changed_at', now, 'threshold', threshold,
    'window', window, 'reset', reset, unpack(extra))
  redis.call('EXPIRE', hash, retention)
  redis.call('ZADD', circuits, now, name)
  redis.call('ZREMRANGEBYSCORE', circuits, '-inf', '(' .. (now - retention))
end

local function open_for(seconds)
  change('open', {'open_until', now + seconds, 'probe', '', 'probe_until', 0})
end

local holder = state == 'half_open' and probe == token and token ~= ''

if op == 'check' then
  if state == 'closed' then return {'closed', 0, 0} end
  if state == 'open' and now < open_until then return {'open', ms(open_until - now), 0} end
  if state == 'half_open' and now < probe_until then return {'open', ms(probe_until - now), 0} end
  change('half_open', {'probe', token, 'probe_until', now + reset})
  return {'probe', 0, 0}
elseif op == 'success' then
  if holder then
    change('closed', {'open_until', 0, 'probe', '', 'probe_until', 0})
    redis.call('DEL', failures)
    return {'closed', 0, 0}
  end
  return {state, 0, 0}
elseif op == 'failure' then
  if holder then
    open_for(reset)
    return {'open', ms(reset), 0}
  end
  if state ~= 'closed' then return {state, ms(math.max(open_until, probe_until) - now), 0} end
  redis.call('ZADD', failures, now, now .. ':' .. token)
  redis.call('EXPIRE', failures, window + 1)
  local count = in_window()
  if count >= threshold then
    open_for(reset)
    return {'open', ms(reset), count}
  end
  if redis.call('EXISTS', hash) == 1 then
    redis.call('EXPIRE', hash, retention)
  else
    change('closed', {})
  end
  return {'closed', 0, count}
end
return redis.error_reply('circuit.lua: unknown op ' .. tostring(op))
