-- Claim one notification for (rule, subject) and queue its deliveries, atomically: of several
-- `rq-dlq alert` processes exactly one wins per cool-down, and a winner never loses its deliveries
-- (they are in the outbox in the same step as the claim). Keys as keys.py builds them.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix   ARGV[2] mode: 'fire' | 'resolve' | 'new'   ARGV[3] rule   ARGV[4] subject
-- ARGV[5] cool-down seconds   ARGV[6] now (epoch seconds)   ARGV[7] '1' if the rule is resolvable
-- ARGV[8..] pairs: delivery id, delivery JSON (one per channel)
-- fire:    SET claim NX EX cool-down; when won, and the rule is resolvable, mark it active.
-- resolve: only if the rule was active (DEL wins once): the claim is cleared, so a new firing
--          is announced at once.
-- new:     ZADD NX <prefix>alerts:groups_seen (a group is announced once; scored by when).
-- Returns 1 if this call won (its deliveries are queued), else 0.
local mode, rule, subject = ARGV[2], ARGV[3], ARGV[4]
local claim = prefix .. 'alerts:claim:' .. rule .. ':' .. subject
local active = prefix .. 'alerts:active:' .. rule .. ':' .. subject
local now = tonumber(ARGV[6])
local won = 0
if mode == 'fire' then
  if redis.call('SET', claim, now, 'NX', 'EX', tonumber(ARGV[5])) then
    won = 1
    if ARGV[7] == '1' then redis.call('SET', active, now) end
  end
elseif mode == 'resolve' then
  if redis.call('DEL', active) == 1 then
    redis.call('DEL', claim)
    won = 1
  end
elseif mode == 'new' then
  won = redis.call('ZADD', prefix .. 'alerts:groups_seen', 'NX', now, subject)
end
if won == 1 then
  for i = 8, #ARGV - 1, 2 do
    redis.call('SET', prefix .. 'alerts:delivery:' .. ARGV[i], ARGV[i + 1])
    redis.call('ZADD', prefix .. 'alerts:outbox', now, ARGV[i])
  end
end
return won
