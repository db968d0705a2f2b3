-- Delete entries: each out of every index, its hash deleted.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2..] job ids
-- Returns: how many of them were in the main index.
local removed = 0
for i = 2, #ARGV do
  removed = removed + unindex(ARGV[i])
  redis.call('DEL', prefix .. 'entry:' .. ARGV[i])
end
return removed
