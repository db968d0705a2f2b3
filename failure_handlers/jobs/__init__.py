"""Reading RQ's own job data: statuses, the restricted reader that never runs code from Redis,
and the snapshot that rebuilds a job whose RQ hash is gone."""
