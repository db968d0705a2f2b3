"""The edge between operator commands and the library: settings, connection, and errors.

Every error an operator can cause ends here as one line `error: ...` on stderr and exit status 2;
never a traceback.
"""

from __future__ import annotations

import re
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any
from urllib.parse import unquote, urlsplit

import click
from loguru import logger
from redis import Redis
from redis.exceptions import AskError, ClusterDownError, NoPermissionError, RedisError, ResponseError
from rq.serializers import Serializer

from failure_handlers import runtime
from failure_handlers.audit import AuditLog
from failure_handlers.config import DEFAULT_REDIS_URL, Settings
from failure_handlers.dlq.filters import DlqFilter, parse_duration, parse_time
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.errors import OperatorError
from failure_handlers.logging_setup import configure_logging
from failure_handlers.operations.reconciler import Backlog, Reconciler
from failure_handlers.operations.selection import require_known_values
from failure_handlers.redaction import redact_url
from failure_handlers.sentinel_url import CLUSTER_UNSUPPORTED

USAGE_ERROR = 2


@dataclass
class Operator:
    """What a command needs: validated settings and, on first use, a checked connection.

    Commands that write (`requeue`, `delete`, `purge`) set `reconcile_first`: the first use of `dlq`
    then runs an incremental reconciliation pass (see `reconciler.py`), so that a job RQ failed
    without our handler (killed work-horse, stopped) is acted on too; it never runs code from Redis
    (`safe_job_reader`). Reads never write (a read-only ACL user can run them): they tell what a
    pass would change instead (`note_backlog`).
    """

    settings: Settings
    reconcile_first: bool = False

    @cached_property
    def connection(self) -> Redis:
        note_default_url(self.settings)
        return runtime.connect(self.settings.redis_url)

    @cached_property
    def audit(self) -> AuditLog:
        """The audit log (AUDIT_MAX_ENTRIES; into the SQL archive too when ARCHIVE_URL is set)."""
        return AuditLog.from_settings(self.connection, self.settings)

    @cached_property
    def serializer(self) -> Serializer:
        return runtime.serializer()

    @cached_property
    def dlq(self) -> DeadLetterQueue:
        dlq = DeadLetterQueue.from_settings(self.connection, self.settings.dlq, self.settings.archive)
        if self.reconcile_first:
            report = self.reconciler(dlq, clean_abandoned=False).run(full=False)
            if report.changed:
                logger.info("{}", report.line())
        return dlq

    def backlog(self) -> Backlog:
        """What a reconciliation pass would change now, counted with reads only."""
        return self.reconciler(clean_abandoned=False).backlog()

    def note_backlog(self) -> Backlog:
        """`backlog`, and one `note: ...` line on stderr when a pass would change something."""
        backlog = self.backlog()
        if line := backlog.line():
            click.echo(f"note: {line}", err=True)
        return backlog

    def reconciler(self, dlq: DeadLetterQueue | None = None, clean_abandoned: bool = True) -> Reconciler:
        """`clean_abandoned` runs RQ's cleanup, which fetches (unpickles) jobs and runs callbacks:
        only for the `reconcile` command, a process as trusted as a worker."""
        return Reconciler(
            self.connection, dlq or self.dlq, self.settings, self.serializer, clean_abandoned=clean_abandoned
        )


def note_default_url(settings: Settings) -> None:
    """Say on stderr, once, that an unset `REDIS_URL` means the default server (`runtime.default_url_note`)."""
    global _noted_default_url
    if (line := runtime.default_url_note(settings)) and not _noted_default_url:
        click.echo(line, err=True)
        _noted_default_url = True


_noted_default_url = False


def fail(message: str) -> None:
    """Print one `error: ...` line on stderr (the caller decides the exit status)."""
    click.echo(f"error: {' '.join(message.split())}", err=True)


def run(command: click.Command, args: Sequence[str] | None = None, prog_name: str | None = None) -> None:
    """Run a click command; turn every operator-caused error into `error: ...` and exit 2."""
    try:
        result = command.main(args=args, prog_name=prog_name, standalone_mode=False)
    except click.UsageError as error:
        fail(f"{error.format_message()} (see --help)")
        sys.exit(USAGE_ERROR)
    except click.Abort:
        fail("aborted")
        sys.exit(USAGE_ERROR)
    except OperatorError as error:
        fail(str(error))
        sys.exit(USAGE_ERROR)
    except NoPermissionError as error:
        fail(explain_no_permission(error))
        sys.exit(USAGE_ERROR)
    except ResponseError as error:
        fail(explain_no_permission(error) if _SCRIPT_DENIED.search(str(error)) else _explain_response_error(error))
        sys.exit(USAGE_ERROR)
    except RedisError as error:
        fail(f"Redis at {_url()} failed: {error}")
        sys.exit(USAGE_ERROR)
    except Exception as error:  # noqa: BLE001 - a bug of ours: still one line, details at DEBUG
        logger.opt(exception=True).debug("unexpected error")
        fail(f"unexpected {type(error).__name__}: {error} (run with LOG_LEVEL=DEBUG for details)")
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


def _url() -> str:
    return redact_url(runtime.settings().redis_url or DEFAULT_REDIS_URL)


def explain_no_permission(error: ResponseError) -> str:
    """Redis' ACL refusal as one line naming the user and the missing permission (a pipeline's
    refusal comes wrapped in "Command # n (...) of pipeline caused error: ..."; one inside a Lua
    script is a plain error: "The user executing the script can't access ...")."""
    message = str(error)
    if found := _SCRIPT_DENIED.search(message):
        permission = f"{found.group(1)} (in a Lua script of ours)"
    else:
        found = _NO_PERMISSION.search(message)
        permission = found.group(1) if found else message
    user = unquote(urlsplit(runtime.settings().redis_url or DEFAULT_REDIS_URL).username or "") or "default"
    return (
        f"the ACL user of REDIS_URL ({user}) at {_url()} has no permissions to {permission} "
        '(each role\'s ACL: docs/production-redis.md, "Least privilege")'
    )


_NO_PERMISSION = re.compile(r"no permissions to (.*?)\.?$", re.IGNORECASE | re.DOTALL)
# An ACL refusal inside a script: Redis 7 "The user executing the script can't access at least one of the
# keys mentioned in the command arguments script: <sha>, on @user_script:16."; Valkey "ACL failure in
# script: No permissions to access a key script: on @user_script:16."
_SCRIPT_DENIED = re.compile(
    r"(?:The user executing the script can't|ACL failure in script: No permissions to) (.*?)(?:\s+script: .*)?$",
    re.DOTALL,
)


def _explain_response_error(error: ResponseError) -> str:
    if isinstance(error, AskError | ClusterDownError):  # MOVED (an AskError), ASK, CLUSTERDOWN: a cluster node
        return f"Redis at {_url()} answered as a cluster node ({type(error).__name__}: {error}). {CLUSTER_UNSUPPORTED}"
    if "WRONGTYPE" in str(error):
        prefix = runtime.settings().dlq.prefix
        return (
            f"a key under DLQ_PREFIX {prefix!r} at {_url()} has the wrong type ({error}); "
            "is the prefix shared with something else? Set DLQ_PREFIX to a prefix of its own"
        )
    return f"Redis at {_url()} refused a command: {error}"


def operator(reconcile: bool = False) -> Operator:
    """Settings for this command (raises `ConfigError`, shown as `error: ...`); `reconcile`: a
    command that writes, which reconciles first (see `Operator`)."""
    settings = runtime.settings()
    configure_logging(settings)
    return Operator(settings, reconcile_first=reconcile)


class TimeParam(click.ParamType):
    """An ISO 8601 time or a duration ago (`2h`), as epoch seconds."""

    name = "TIME"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_time(str(value), time.time())
        except ValueError as error:
            self.fail(str(error), param, ctx)


class DurationParam(click.ParamType):
    """`90s`, `15m`, `2h`, `7d`, `1w` or seconds."""

    name = "DURATION"

    def convert(self, value: object, param: click.Parameter | None, ctx: click.Context | None) -> float:
        if isinstance(value, float):
            return value
        try:
            return parse_duration(str(value))
        except ValueError as error:
            self.fail(str(error), param, ctx)


def filter_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """The DLQ filters shared by `dlq.py list|purge` and `requeue.py`."""
    options = [
        click.option("--queue", help="Only jobs from this queue."),
        click.option("--func", help="Only this function (dotted path, as `list` shows it)."),
        click.option("--exc-type", help="Only this exception type (qualified name, as `list` shows it)."),
        click.option("--group", help="Only this failure group (fingerprint, as `stats` shows it)."),
        click.option("--since", type=TimeParam(), help="Failed at or after: ISO time or a duration ago (2h)."),
        click.option("--until", type=TimeParam(), help="Failed at or before: ISO time or a duration ago."),
        click.option("--search", help="Only messages containing this text (case-insensitive)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def build_filter(op: Operator, **given: Any) -> DlqFilter:
    """A `DlqFilter` from the filter options; a value the DLQ has never seen is an error (a typo?)."""
    filters = dlq_filter(given)
    require_known_values(op.dlq, filters, OPTION_OF_KIND)
    return filters


def describe_filter(given: Mapping[str, Any]) -> str:
    """`--queue billing --since 2h` as the audit log shows it: the options as typed, or `every dead job`."""
    parts = [f"{name.replace('_', '-')}={value}" for name, value in given.items() if value is not None]
    return " ".join(parts) or "every dead job"


def dlq_filter(given: Mapping[str, Any]) -> DlqFilter:
    """A `DlqFilter` from the values of `filter_options` (as click parsed them), unchecked."""
    return DlqFilter(
        queue=given.get("queue"),
        func=given.get("func"),
        exc=given.get("exc_type"),
        group=given.get("group"),
        since=given.get("since"),
        until=given.get("until"),
        search=given.get("search"),
    )


OPTION_OF_KIND = {"queue": "--queue", "func": "--func", "exc": "--exc-type", "group": "--group"}
