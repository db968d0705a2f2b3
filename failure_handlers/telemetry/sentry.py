"""Sentry: one event per dead job, grouped as the DLQ groups it (docs/sentry.md).

With sentry-sdk's defaults, its `RqIntegration` reports a job's exception once, when RQ will not
retry it (a retried run makes no event), and its `LoguruIntegration` turns every loguru ERROR line
into an event too. So, once Sentry is initialised in the process, one global event processor:

- drops the event of our `ERROR … moved to DLQ` line (it carries the `dlq_group` extra): the job's
  exception event is that dead job's one event. Only while `RqIntegration` is on; without it the
  line is the only event and is kept.
- gives the exception event of a dead job (`mechanism.type == "rq"`) the DLQ's failure group: the
  tag `dlq.group`, Sentry's fingerprint (so a Sentry issue is a DLQ group), and a `dlq` context with
  the job id and the entry's dashboard link when `DASHBOARD_URL` is set.

The group is the one the failure handler wrote (`note_dead_letter`, the job's failure callback runs
before RQ reports the exception), or computed the same way from the exception (the worker's
exception handler runs after it). A job the exception handler made permanent while RQ still counted
retries was not reported by `RqIntegration`: `capture_dead_job` reports it, once.

sentry-sdk is never imported here unless the application already did and initialised it; every
call is guarded and nothing waits on Sentry (its transport sends from a thread of its own).
"""

from __future__ import annotations

import sys
import time
from types import ModuleType, TracebackType
from typing import Any, cast
from urllib.parse import quote, urlsplit

from loguru import logger

from failure_handlers.recording.failure_record import attempt_record
from failure_handlers.recording.fingerprint import fingerprint, frames_of, innermost_project_frame

DLQ_LINE_EXTRA = "dlq_group"  # the loguru extra of the `moved to DLQ` line (failure_handlers/handler.py)
TAG_GROUP = "dlq.group"
DROPPED_LINE_INTERVAL_SECONDS = 60.0  # Sentry down: one warning line per process per minute
MECHANISM = "rq"  # RqIntegration's exception events, and ours

_installed = False
_noted: dict[str, tuple[str, str]] = {}  # job id -> (group, dashboard link) written by the handler


def sentry_sdk() -> ModuleType | None:
    """The sentry_sdk module when the application imported and initialised it; None otherwise."""
    sdk = sys.modules.get("sentry_sdk")
    try:
        return sdk if sdk is not None and sdk.is_initialized() else None
    except Exception:  # noqa: BLE001 - a broken or partial SDK: as if absent
        return None


def install() -> bool:
    """Add the event processor once per process, if Sentry is initialised; True when it is in place."""
    global _installed
    if _installed:
        return True
    if sentry_sdk() is None:
        return False
    try:
        from sentry_sdk.scope import add_global_event_processor

        add_global_event_processor(cast(Any, _process))  # sentry's Event is a TypedDict; ours reads it as a dict
        _report_dropped_events(sentry_sdk())
        _installed = True
    except Exception:  # noqa: BLE001 - Sentry is the application's; our failure handling goes on
        logger.opt(exception=True).warning("Could not add the DLQ's Sentry event processor")
    return _installed


def _report_dropped_events(sdk: ModuleType | None) -> None:
    """A warning line when Sentry's transport drops events (its server down or refusing them), at most
    one per DROPPED_LINE_INTERVAL_SECONDS per process: sentry-sdk drops them silently unless
    `debug=True`. Through the transport's `on_dropped_event` hook, called from its sending thread;
    the DLQ never waits on it."""
    client = sdk.get_client() if sdk is not None else None
    transport = getattr(client, "transport", None)
    hook = getattr(transport, "on_dropped_event", None)
    if transport is None or hook is None:
        return
    host = urlsplit(str(getattr(client, "dsn", "") or "")).hostname or "?"  # never the DSN's key
    last_line = [-DROPPED_LINE_INTERVAL_SECONDS]

    def on_dropped_event(reason: str) -> None:
        try:
            if time.monotonic() - last_line[0] >= DROPPED_LINE_INTERVAL_SECONDS:
                last_line[0] = time.monotonic()
                logger.warning(
                    "Sentry at {} did not take an event ({}); DLQ entries are written regardless", host, reason
                )
        finally:
            hook(reason)

    transport.on_dropped_event = on_dropped_event


def entry_link(dashboard_url: str | None, job_id: str) -> str:
    """The dashboard page of a job's DLQ entry, or '' without `DASHBOARD_URL`."""
    return f"{dashboard_url.rstrip('/')}/jobs/{quote(job_id, safe='')}" if dashboard_url else ""


def note_dead_letter(job_id: str, group: str, link: str) -> None:
    """The failure handler wrote this job's DLQ entry: its event (reported next by RqIntegration)
    gets this group and link, also when RQ's own processor sets a fingerprint of its own (timeouts)."""
    if not install():
        return
    _noted.clear()  # one job at a time per work-horse; never grows
    _noted[job_id] = (group, link)
    try:
        sdk = sentry_sdk()
        if sdk is not None:  # the job's scope (RqIntegration opens one per job): runs after RQ's processor
            sdk.get_current_scope().add_event_processor(_reassert_fingerprint)
    except Exception:  # noqa: BLE001
        logger.opt(exception=True).warning("Could not set the DLQ group on the Sentry scope of job {}", job_id)


def reported_by_rq_integration(retries_left: int | None) -> bool:
    """Whether RqIntegration has already reported this failed run (it does when RQ will not retry),
    read before our exception handler decides; False without Sentry or without the integration."""
    return _rq_integration_on() and not (retries_left and retries_left > 0)


def capture_dead_job(
    exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
) -> None:
    """Report a dead job RqIntegration did not report (see module docstring); never raises."""
    sdk = sentry_sdk()
    if sdk is None or exc_type is None or not _rq_integration_on():
        return
    try:
        from sentry_sdk.utils import event_from_exception

        event, hint = event_from_exception(
            cast(Any, (exc_type, exc_value, traceback)),
            client_options=sdk.get_client().options,
            mechanism={"type": MECHANISM, "handled": False},
        )
        sdk.capture_event(event, hint=hint)
    except Exception:  # noqa: BLE001
        logger.opt(exception=True).warning("Could not report a dead job to Sentry")


def _rq_integration_on() -> bool:
    sdk = sentry_sdk()
    try:
        return sdk is not None and sdk.get_client().get_integration("rq") is not None
    except Exception:  # noqa: BLE001
        return False


def _process(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any] | None:
    record = hint.get("log_record")
    if record is not None:
        extra = getattr(record, "extra", None)
        if isinstance(extra, dict) and DLQ_LINE_EXTRA in extra and _rq_integration_on():
            return None  # the dead job's own exception event is its one event
        return event
    exc_info = hint.get("exc_info")
    if exc_info and _mechanism(event) == MECHANISM:
        job_id = _job_id_of(exc_info[2])
        group, link = _noted.get(job_id, ("", "")) if job_id else ("", "")
        if not group:
            group = _group_of(*exc_info)
            link = entry_link(_dashboard_url(), job_id) if job_id else ""
        _tag(event, group, job_id, link)
    return event


def _reassert_fingerprint(event: dict[str, Any], hint: dict[str, Any]) -> dict[str, Any]:
    group = (event.get("tags") or {}).get(TAG_GROUP)
    if group and hint.get("exc_info") and _mechanism(event) == MECHANISM:
        event["fingerprint"] = [group]
    return event


def _tag(event: dict[str, Any], group: str, job_id: str, link: str) -> None:
    event.setdefault("tags", {})[TAG_GROUP] = group
    event["fingerprint"] = [group]
    context: dict[str, str] = {"group": group}
    if job_id:
        context["job_id"] = job_id
    if link:
        context["url"] = link
    event.setdefault("contexts", {})["dlq"] = context


def _mechanism(event: dict[str, Any]) -> str:
    values = (event.get("exception") or {}).get("values") or [{}]
    return str((values[-1].get("mechanism") or {}).get("type") or "")


def _group_of(
    exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
) -> str:
    """The failure group the DLQ entry of this exception gets (`recording/fingerprint.py`)."""
    record = attempt_record(0, exc_type, exc_value, traceback, None)
    return fingerprint(record["exc_type"], record["message"], innermost_project_frame(frames_of(traceback)))


def _job_id_of(traceback: TracebackType | None) -> str:
    """The id of the job whose run raised: the `job` of RQ's `perform_job` frame, where the exception
    was caught (RQ reports it after the run, when `rq.get_current_job()` is None again)."""
    from rq.job import Job

    while traceback is not None:
        job = traceback.tb_frame.f_locals.get("job")
        if isinstance(job, Job):
            return str(job.id)
        traceback = traceback.tb_next
    return ""


def _dashboard_url() -> str | None:
    from failure_handlers import runtime

    return runtime.settings().alerts.dashboard_url
