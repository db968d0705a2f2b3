"""The parts of the retry policy: delays (`backoff`), server-requested delays (`retry_after`) and
message/task rules (`rules`). `failure_handlers.retry_policy` puts them together."""
