-- A retried failure's one command: save the job's meta and increment the Prometheus counters.
-- KEYS: none (see prelude.lua).
-- ARGV[1] prefix        ARGV[2] counter spec (see count_all in prelude.lua)
-- ARGV[3] '' (or absent) or the RQ job's hash key   ARGV[4] its serialized meta: HSET <ARGV[3]> meta <ARGV[4]>,
--         exactly what rq's job.save_meta() sends (jobs/meta.py), done first so the meta is saved
--         even if a counter write failed
-- Returns: how many counters were incremented.
if ARGV[3] and ARGV[3] ~= '' then redis.call('HSET', ARGV[3], 'meta', ARGV[4]) end
return count_all(ARGV[2], false)
