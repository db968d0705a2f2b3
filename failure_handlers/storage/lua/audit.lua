-- One operator action into the audit log, and (with the failure archive on) into the archive's
-- event stream in the same atomic step, so the SQL `audit` table gets exactly what Redis kept.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix    ARGV[2] AUDIT_MAX_ENTRIES (0: append without trimming)    ARGV[3] the archive
-- stream's MAXLEN (0: the archive is off)    ARGV[4] when (epoch seconds)    ARGV[5] the record (JSON)
-- Returns: the record's id in <prefix>audit.
local archive_event = helpers().archive_event  -- prelude.lua
local stream = prefix .. 'audit'
local id
if ARGV[2] == '0' then
  id = redis.call('XADD', stream, '*', 'record', ARGV[5])
else
  id = redis.call('XADD', stream, 'MAXLEN', ARGV[2], '*', 'record', ARGV[5])
end
archive_event(ARGV[3], 'audit', 'audit:' .. id, '', ARGV[4], 'record', ARGV[5])
return id
