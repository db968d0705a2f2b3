-- Increment Prometheus counters (a retried failure: sent in one pipeline with the job's meta save).
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix        ARGV[2] counter spec (JSON, see count_all in prelude.lua)
-- Returns: how many counters were incremented.
return count_all(ARGV[2], false)
