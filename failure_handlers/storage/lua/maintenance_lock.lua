-- RQ's maintenance lock of one queue (`rq:clean_registries:<queue>`), taken and given back by the reconciler.
-- KEYS: none (see prelude.lua; the lock is RQ's key, given whole in ARGV[3]).
-- ARGV[1] prefix (unused here)    ARGV[2] 'take' or 'release'    ARGV[3] the lock's key    ARGV[4] our token
-- take: ARGV[5] how long we hold it (s)    ARGV[6] the TTL RQ's workers give it (899 s in RQ 3.0)
--       ARGV[7] after how many seconds a worker's lock counts as left behind
-- Returns 1 if we hold the lock now (or released ours), 0 if not.
--
-- RQ's workers SET it to 1 for 899 s and DELete it when their cleanup is done (seconds later). A worker
-- killed while it cleans, or a SET whose reply was lost in a Redis restart, leaves it for 15 minutes, and
-- no one cleans the queue's intermediate queue meanwhile: a job whose worker died between dequeue and
-- start stays there. So the reconciler holds it under its own token for ARGV[5] seconds only, and takes
-- over a worker's lock held past any cleanup (ARGV[7]). Another reconciler's lock is never taken over.
if ARGV[2] == 'release' then
  if redis.call('GET', ARGV[3]) == ARGV[4] then
    redis.call('DEL', ARGV[3])
    return 1
  end
  return 0
end
if redis.call('SET', ARGV[3], ARGV[4], 'NX', 'EX', ARGV[5]) then
  return 1
end
local ttl = redis.call('TTL', ARGV[3])
if redis.call('GET', ARGV[3]) == '1' and ttl > 0 and tonumber(ARGV[6]) - ttl > tonumber(ARGV[7]) then
  redis.call('SET', ARGV[3], ARGV[4], 'EX', ARGV[5])
  return 1
end
return 0
