"""The retry policy, pure code (no Redis): which failures are permanent and how long until the next
attempt (`policy`, built on `backoff`, `retry_after` and `rules`), the retry plan a job gets at
enqueue (`plan`, from the configuration, `@task` options in `task_options`, or the call site), and
the RETRY_* settings (`settings`)."""
