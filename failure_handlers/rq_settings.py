"""Settings module for RQ's own CLI: `rq worker -c failure_handlers.rq_settings`, `rq info -c ...`.

It makes `rq` use the project's `REDIS_URL` (from `.env` or the environment), sets up logging, and
stops start-up with one `error: ...` line (exit 2) when the configuration is invalid.

A `redis+sentinel://` URL becomes RQ's `SENTINEL` setting instead (RQ's `REDIS_URL` would win over
it), with the same Sentinels, primary, credentials, TLS and failover retry as `runtime.connect`.
"""

from failure_handlers import runtime
from failure_handlers.logging_setup import configure_logging
from failure_handlers.sentinel_url import is_sentinel_url, parse_sentinel_url

_settings = runtime.settings_or_exit()

configure_logging(_settings)
if is_sentinel_url(_settings.redis_url):
    SENTINEL = runtime.rq_sentinel_settings(parse_sentinel_url(_settings.redis_url or ""))
elif _settings.redis_url:
    REDIS_URL = _settings.redis_url
