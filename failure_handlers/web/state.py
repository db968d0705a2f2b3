"""What every dashboard request needs: the settings, and a Redis connection made on first use (and
the failure archive's engine, for the History page).

One `DashboardState` per mounted blueprint. The connection is made lazily so that importing or
mounting the blueprint never needs Redis; a failed connect is retried on the next request.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from prometheus_client import CollectorRegistry
from redis import Redis
from rq.serializers import Serializer, resolve_serializer

from failure_handlers import runtime
from failure_handlers.audit import AuditLog
from failure_handlers.config import DEFAULT_REDIS_URL, Settings
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.errors import ConfigError
from failure_handlers.metrics.server import registry as metrics_registry
from failure_handlers.redaction import redact_url
from failure_handlers.web.users import Users, load_users


class DashboardState:
    def __init__(self, settings: Settings, connection: Redis | None = None) -> None:
        self.settings = settings
        if connection is not None:
            self.__dict__["connection"] = connection  # pre-fill the cached property

    @cached_property
    def connection(self) -> Redis:
        """A checked connection to `REDIS_URL`; raises `RedisUnavailable` (URL redacted)."""
        return runtime.connect(self.settings.redis_url)

    @cached_property
    def dlq(self) -> DeadLetterQueue:
        return DeadLetterQueue.from_settings(self.connection, self.settings.dlq, self.settings.archive)

    @cached_property
    def users(self) -> Users:
        """DASHBOARD_USERS_FILE / DASHBOARD_USERS, read once (the blueprint reads it when it is made,
        so a bad file stops `rq-dlq web` at start: `ConfigError`, one line, exit 2)."""
        return load_users(self.settings.dashboard.users_file, self.settings.dashboard.users)

    @cached_property
    def audit(self) -> AuditLog:
        """The audit log: every action of the pages and the API is recorded there, by its actor."""
        return AuditLog.from_settings(self.connection, self.settings)

    @cached_property
    def archive_engine(self) -> Any:  # an SQLAlchemy Engine: imported only when the archive is used
        """The failure archive's engine, made and checked against this code's schema on first use;
        raises `OperatorError` (one line, password redacted) and is retried on the next request."""
        from failure_handlers.archive.service import checked_engine

        return checked_engine(self.settings.archive)

    @cached_property
    def metrics(self) -> CollectorRegistry:
        """The Prometheus collector over the same connection (the `/metrics` route)."""
        return metrics_registry(self.connection, self.settings)

    @cached_property
    def serializer(self) -> Serializer:
        """RQ's serializer for requeue (it loads jobs through RQ, as `rq-dlq requeue` does)."""
        try:
            return resolve_serializer(self.settings.serializer)
        except (ImportError, AttributeError, ValueError, NotImplementedError) as error:
            raise ConfigError(f"RQ_SERIALIZER={self.settings.serializer!r} cannot be used: {error}") from None

    @property
    def redis_label(self) -> str:
        """The Redis URL as the pages show it: password replaced by `***`."""
        return redact_url(self.settings.redis_url or DEFAULT_REDIS_URL)

    @property
    def read_only(self) -> bool:
        return self.settings.dashboard.read_only
