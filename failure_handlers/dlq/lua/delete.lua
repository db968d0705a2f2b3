-- Delete entries: each out of every index, its hash deleted.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2] the archive's stream MAXLEN ('' / '0': archive off)
-- ARGV[3] outcome for the archive (deleted, purged, requeued)    ARGV[4] who or what did it
-- ARGV[5] now (epoch seconds)    ARGV[6..] job ids
-- Returns: how many of them were in the main index.
local removed = 0
for i = 6, #ARGV do
  removed = removed + unindex(ARGV[i])
  archive_outcome(ARGV[2], ARGV[i], ARGV[3], ARGV[4], ARGV[5])
  redis.call('DEL', prefix .. 'entry:' .. ARGV[i])
end
return removed
