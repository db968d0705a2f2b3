"""Circuit breakers shared by every worker: `circuit("payments-api")` as a `with` block or a decorator.

A circuit counts the failures of the calls it guards, across all workers, in Redis. At
`failures` failures within `window` seconds it opens: for `reset` seconds every guarded call fails
fast with `CircuitOpen` (retryable; `retry_after` = seconds until the probe) without being made.
Then the next call is the probe, claimed atomically (one at a time, for at most `reset` seconds):
its success closes the circuit, its failure opens it again for `reset` seconds.

Cost (measured in tests/unit/test_circuit_breaker.py with a round-trip counting client): a call on
a closed circuit that succeeds costs one round trip (the check; a success on a closed circuit is
not written); a failed call adds one (its record, which may open the circuit); a call refused by an
open circuit costs one; the probe costs two. The state machine is `storage/lua/circuit.lua`.

What counts as a failure: any `Exception` leaving the block except those the retry policy calls
permanent (`PermanentError`, HTTP 4xx other than 408/425/429): a service that answers "bad
request" is up. Those count as successes, so a probe that gets a 4xx closes the circuit.
"""

from __future__ import annotations

import functools
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

from loguru import logger
from redis import Redis
from redis.exceptions import RedisError
from rq import get_current_job

from failure_handlers.circuits.settings import CircuitSettings
from failure_handlers.errors import CircuitOpen
from failure_handlers.retry.policy import classify
from failure_handlers.storage.scripts import CIRCUIT

if TYPE_CHECKING:  # config imports circuits.settings, so this package cannot import config at run time
    from failure_handlers.config import Settings

MAX_NAME_CHARS = 100
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]*")
CIRCUIT_RETENTION_SECONDS = 7 * 24 * 3600  # an idle circuit's state and index entry are forgotten after this

P = ParamSpec("P")
R = TypeVar("R")


def validate_circuit_name(name: object) -> str:
    """The name, or `ValueError`: 1-100 characters of letters, digits and `._:@/-`, starting with a
    letter or digit (no spaces, control characters or `*`: names become Redis keys and table rows)."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"circuit name must be a non-empty string, not {name!r}")
    if len(name) > MAX_NAME_CHARS:
        raise ValueError(f"circuit name is {len(name)} characters long, at most {MAX_NAME_CHARS} are allowed")
    if not NAME_PATTERN.fullmatch(name):
        raise ValueError(
            f"circuit name {name!r} may only contain letters, digits and . _ : @ / - (starting with a letter or digit)"
        )
    return name


@dataclass(frozen=True)
class CircuitLimits:
    failures: int  # failures within the window that open the circuit
    window: int  # seconds
    reset: int  # seconds open before a probe; also how long a probe may take before another is let through

    @classmethod
    def of(
        cls, settings: CircuitSettings, failures: int | None, window: int | None, reset: int | None
    ) -> CircuitLimits:
        return cls(
            failures if failures is not None else settings.failure_threshold,
            window if window is not None else settings.window_seconds,
            reset if reset is not None else settings.reset_seconds,
        )


@dataclass(frozen=True)
class Decision:
    outcome: str  # 'closed' | 'probe' | 'open' (and 'half_open' from a record that changed nothing)
    retry_after: float  # seconds until a call may probe (0 when none is due)
    failures: int  # failures in the window, when the reply counted them


class CircuitBreaker:
    """One circuit on one connection: each method is one script call (one round trip)."""

    def __init__(
        self,
        connection: Redis,
        prefix: str,
        name: str,
        limits: CircuitLimits,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.connection = connection
        self.prefix = prefix
        self.name = validate_circuit_name(name)
        self.limits = limits
        self.clock = clock  # None: Redis's clock (the same for every worker)

    def check(self, token: str) -> Decision:
        """Before a call: may it go ahead ('closed', or 'probe': it is the one probe) or not ('open')?"""
        return self._run("check", token)

    def record(self, token: str, succeeded: bool) -> Decision:
        """After a call: its outcome (a success is only sent by the probe; see the module docstring)."""
        return self._run("success" if succeeded else "failure", token)

    def _run(self, op: str, token: str) -> Decision:
        now = "" if self.clock is None else repr(float(self.clock()))
        limits = self.limits
        args = (self.prefix, op, self.name, now, limits.failures, limits.window, limits.reset, token)
        outcome, milliseconds, failures = CIRCUIT.run(self.connection, (*args, CIRCUIT_RETENTION_SECONDS))
        return Decision(_text(outcome), int(milliseconds) / 1000, int(failures))


def counts_as_failure(error: BaseException | None) -> bool:
    """Does this outcome of a guarded call count against the circuit? (See the module docstring.)"""
    if error is None or not isinstance(error, Exception) or isinstance(error, CircuitOpen):
        return False
    return not classify(type(error), error).permanent


class Circuit:
    """`with circuit("payments-api"): ...` or `@circuit("payments-api")`; see the module docstring.

    `failures`, `window` and `reset` default to CIRCUIT_FAILURE_THRESHOLD, CIRCUIT_WINDOW_SECONDS
    and CIRCUIT_RESET_SECONDS, read when the circuit is first used. The connection is `connection`,
    else the one of the job being run, else REDIS_URL's.
    """

    def __init__(
        self,
        name: str,
        *,
        failures: int | None = None,
        window: int | None = None,
        reset: int | None = None,
        connection: Redis | None = None,
        settings: Settings | None = None,
    ) -> None:
        self.name = validate_circuit_name(name)
        for label, value in (("failures", failures), ("window", window), ("reset", reset)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
                raise ValueError(f"circuit {name!r}: {label} must be a whole number >= 1, not {value!r}")
        self._given = (failures, window, reset)
        self._connection = connection
        self._settings = settings
        self._calls = threading.local()  # per thread: the guards of the calls in progress (nested use)

    def breaker(self) -> CircuitBreaker:
        from failure_handlers import runtime  # runtime imports config, which imports circuits.settings

        settings = self._settings or runtime.settings()
        connection = self._connection
        if connection is None:
            job = get_current_job()
            connection = job.connection if job is not None else runtime.default_connection()
        return CircuitBreaker(
            connection, settings.dlq.prefix, self.name, CircuitLimits.of(settings.circuits, *self._given)
        )

    def __enter__(self) -> Circuit:
        guard = _Guard(self.breaker())
        guard.enter()
        self._calls.__dict__.setdefault("stack", []).append(guard)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._calls.stack.pop().exit(exc_value)  # the call's own exception goes on

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        @functools.wraps(func)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            with self:
                return func(*args, **kwargs)

        return guarded


def circuit(
    name: str,
    *,
    failures: int | None = None,
    window: int | None = None,
    reset: int | None = None,
    connection: Redis | None = None,
) -> Circuit:
    """A circuit breaker named `name` (shared by every worker that uses the name); see `Circuit`."""
    return Circuit(name, failures=failures, window=window, reset=reset, connection=connection)


class _Guard:
    """One guarded call: its check before, its record after."""

    def __init__(self, breaker: CircuitBreaker) -> None:
        self.breaker = breaker
        self.token = uuid.uuid4().hex
        self.probe = False

    def enter(self) -> None:
        decision = self.breaker.check(self.token)  # a Redis error propagates: the job fails and is retried
        if decision.outcome == "open":
            raise CircuitOpen(self.breaker.name, decision.retry_after)
        self.probe = decision.outcome == "probe"
        if self.probe:
            logger.info("Circuit {!r} is half-open: this call is the probe", self.breaker.name)

    def exit(self, error: BaseException | None) -> None:
        failed = counts_as_failure(error)
        if not failed and not self.probe:
            return  # a success on a closed circuit: nothing to write
        try:
            decision = self.breaker.record(self.token, succeeded=not failed)
        except RedisError:  # the call's own outcome matters more than its count
            logger.opt(exception=True).error("Circuit {!r}: could not record the call's outcome", self.breaker.name)
            return
        name, limits = self.breaker.name, self.breaker.limits
        if self.probe and not failed:
            logger.info("Circuit {!r} closed: the probe call succeeded", name)
        elif self.probe:
            logger.warning("Circuit {!r} open again: the probe call failed; next probe in {} s", name, limits.reset)
        elif decision.outcome == "open" and decision.failures:
            logger.warning(
                "Circuit {!r} opened: {} failures within {} s; calls fail fast for {} s",
                name,
                decision.failures,
                limits.window,
                limits.reset,
            )


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
