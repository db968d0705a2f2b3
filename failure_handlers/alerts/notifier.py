"""`rq-dlq alert`: evaluate the rules, claim each notification once, deliver it (or keep it pending).

Dedup model (README "Alerts"): a firing (rule, subject) is claimed with SET NX EX cool-down inside
`lua/alert_claim.lua`, which also puts its deliveries in the outbox: of any number of `alert --watch`
processes exactly one notifies per (rule, subject) per cool-down, and a claimed notification cannot
be lost between the claim and the send. A size/age rule that fired and then clears sends one resolved
message (the `active` mark is deleted once) and clears its claim. A new group is announced once.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError

from failure_handlers.alerts.channels import Channel, DeliveryError, all_secrets, channels_from
from failure_handlers.alerts.figures import read_figures
from failure_handlers.alerts.messages import FIRING, RESOLVED, message_for
from failure_handlers.alerts.outbox import Outbox, claim_args, new_deliveries
from failure_handlers.alerts.rules import NEW_GROUP, Condition, Thresholds, evaluate
from failure_handlers.config import Settings
from failure_handlers.dlq.store import DeadLetterQueue
from failure_handlers.dlq.text import member_list
from failure_handlers.redaction import redact_text
from failure_handlers.storage import scripts
from failure_handlers.storage.scripts import ScriptArg

SEEN_SENTINEL = "-"  # in groups_seen from the first pass on: an existing DLQ's groups are not "new"


@dataclass
class PassReport:
    notified: list[str] = field(default_factory=list)  # "rule subject state"
    delivered: int = 0
    failed: int = 0
    pending: int = 0
    baseline_groups: int = 0  # groups noted silently on the very first pass

    def line(self) -> str:
        return (
            f"alerts: {len(self.notified)} notifications claimed, {self.delivered} delivered, "
            f"{self.failed} failed (retried later), {self.pending} pending"
        )


class Notifier:
    def __init__(
        self,
        connection: Redis,
        settings: Settings,
        channels: list[Channel] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.connection = connection
        self.settings = settings
        self.dlq = DeadLetterQueue.from_settings(connection, settings.dlq, settings.archive)
        self.keys = self.dlq.keys
        self.channels = {
            channel.name: channel for channel in (channels_from(settings.alerts) if channels is None else channels)
        }
        self.outbox = Outbox(connection, self.keys, settings.alerts.retry_seconds, settings.alerts.retry_max_seconds)
        self.clock = clock
        self.secrets = all_secrets(settings.alerts)
        self.limits = Thresholds(
            warn_size=settings.dlq.warn_size,
            crit_size=settings.dlq.crit_size,
            max_age_seconds=float(settings.alerts.max_age(settings.dlq.max_age_seconds)),
            burst_count=settings.alerts.group_count,
            burst_minutes=settings.alerts.group_minutes,
            new_groups=settings.alerts.new_group,
        )

    def run_once(self) -> PassReport:
        """One pass: evaluate, claim, deliver what is due. Raises RedisError if Redis is down."""
        report = PassReport()
        now = self.clock()
        figures = read_figures(self.dlq, self.settings.alerts.group_minutes, now)
        seen = self._seen_groups(now, [group.fingerprint for group in figures.groups], report)
        for condition in evaluate(figures, self.limits, seen):
            if condition.firing:
                mode = "new" if condition.rule == NEW_GROUP else "fire"
                self._claim(condition, mode, FIRING, now, report)
            elif condition.resolvable:
                self._claim(condition, "resolve", RESOLVED, now, report)
        self.deliver_due(report)
        report.pending = self.outbox.pending()
        return report

    def deliver_due(self, report: PassReport) -> None:
        """Send every due delivery this process can lease; failures go back with backoff."""
        lease = int(self.settings.alerts.timeout_seconds * 3 + 5)
        for delivery in self.outbox.take_due(self.clock(), lease):
            channel = self.channels.get(delivery.channel)
            try:
                if channel is None:
                    raise DeliveryError(f"channel {delivery.channel!r} is not configured any more")
                channel.deliver(delivery.message)
            except DeliveryError as error:
                reason = redact_text(str(error), self.secrets)
                retried, wait = self.outbox.failed(delivery, reason, self.clock())
                report.failed += 1
                logger.error(
                    "alert delivery failed (attempt {}), retrying in {:.0f}s, kept pending: {} [{}]",
                    retried.attempts, wait, reason, delivery.message.title,
                )  # fmt: skip
            else:
                self.outbox.done(delivery)
                report.delivered += 1
                logger.info("alert delivered by {}: {}", delivery.channel, delivery.message.title)

    def _claim(self, condition: Condition, mode: str, state: str, now: float, report: PassReport) -> None:
        message = message_for(condition, state, self.settings.alerts.dashboard_url, now)
        message = type(message).from_json(
            {name: redact_text(value, self.secrets) if isinstance(value, str) else value
             for name, value in message.as_json().items()}
        )  # fmt: skip
        if not self.channels:
            logger.warning("alert (no ALERT_WEBHOOK_URL or ALERT_SMTP_URL set, logged only): {}", message.title)
        deliveries = new_deliveries(message, sorted(self.channels))
        args: list[ScriptArg] = [
            self.keys.prefix,
            mode,
            condition.rule,
            condition.subject,
            self.settings.alerts.cooldown_seconds,
            now,
        ]
        args += ["1" if condition.resolvable else "0", *claim_args(deliveries)]
        if int(scripts.ALERT_CLAIM.run(self.connection, args)):
            report.notified.append(f"{condition.rule} {condition.subject} {state}")
            logger.warning("alert {}: {}", state, message.title)

    def _seen_groups(self, now: float, current: list[str], report: PassReport) -> set[str]:
        """Groups already announced. On the very first pass (no sentinel yet) the existing groups are
        noted silently: starting the notifier on a full DLQ does not announce every old group."""
        key = self.keys.alert_groups_seen
        seen = set(member_list(self.connection.zrange(key, 0, -1)))
        if SEEN_SENTINEL not in seen:
            self.connection.zadd(key, {SEEN_SENTINEL: now, **dict.fromkeys(current, now)}, nx=True)
            report.baseline_groups = len(current)
            seen |= {SEEN_SENTINEL, *current}
        if current:  # groups still present stay "seen" while they have entries; expired ones are forgotten
            self.connection.zadd(key, dict.fromkeys(current, now), xx=True)
        self.connection.zremrangebyscore(key, "-inf", f"({now - self.settings.dlq.ttl_seconds}")
        self.connection.zadd(key, {SEEN_SENTINEL: now})
        return seen


def watch(notifier: Notifier, interval: float, redis_url_shown: str) -> None:
    """Passes every `interval` seconds until SIGTERM/SIGINT; Redis errors are logged and retried."""
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    logger.info("alert notifier started: a pass every {}s", interval)
    while not stopping.is_set():
        try:
            report = notifier.run_once()
        except RedisError as error:
            logger.warning("alert pass failed, Redis at {} unavailable ({}); retrying", redis_url_shown, error)
        else:
            if report.notified or report.failed:
                logger.info("{}", report.line())
            logger.debug("alert pass done: {}", report.line())
        stopping.wait(interval)
    logger.info("alert notifier stopped")
