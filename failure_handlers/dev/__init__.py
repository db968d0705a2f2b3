"""Development and test helpers, not used in production: the embedded Redis-compatible server
(`pip install 'rq-dead-letter[embedded]'`) and `rq worker` processes started from a checkout."""
