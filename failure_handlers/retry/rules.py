"""Classification rules beyond exception classes, pure: message patterns from the configuration
(`PERMANENT_MESSAGE_PATTERNS`, `RETRYABLE_MESSAGE_PATTERNS`) and a task's own
`@task(permanent_on=(...), retry_on=(...))`.

Patterns are Python regular expressions searched (`re.search`, case-sensitive unless the pattern
says `(?i)`) in the first `MAX_MATCHED_CHARS` characters of the exception's message only, so a
hostile 10 MB message costs the handler no more than a 4 KiB one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from rq.utils import import_attribute

MAX_MATCHED_CHARS = 4096
RULES_ATTRIBUTE = "__rq_retry_rules__"  # set on a task function by `@task(permanent_on=..., retry_on=...)`


def parse_patterns(text: str | None) -> tuple[re.Pattern[str], ...]:
    """A JSON array of strings (`["validation error", "(?i)bad iban"]`), or one pattern per line.

    Not comma-separated: regular expressions contain commas. ValueError names the bad pattern.
    """
    if text is None or not text.strip():
        return ()
    sources: Any = None
    if text.lstrip().startswith("["):
        try:
            sources = json.loads(text)
        except ValueError:
            sources = None  # not JSON: a pattern that starts with a character class, e.g. `[Tt]imeout`
        if sources is not None and not (isinstance(sources, list) and all(isinstance(s, str) for s in sources)):
            raise ValueError("expected a JSON array of strings or one pattern per line")
    if sources is None:
        sources = [line for line in text.splitlines() if line.strip()]
    return tuple(compile_pattern(source) for source in sources)


def compile_pattern(source: str) -> re.Pattern[str]:
    """One pattern, compiled; ValueError for an invalid or empty one (it would match every message)."""
    if not isinstance(source, str) or not source.strip():
        raise ValueError("an empty pattern would match every message")
    try:
        return re.compile(source.strip())
    except re.error as error:
        raise ValueError(f"{source.strip()!r} is not a valid regular expression: {error}") from None


@dataclass(frozen=True)
class TaskRules:
    """A task's own rules: exception classes (subclasses match) and compiled message patterns."""

    permanent_on: tuple[type[BaseException] | re.Pattern[str], ...] = ()
    retry_on: tuple[type[BaseException] | re.Pattern[str], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.permanent_on or self.retry_on)


NO_TASK_RULES = TaskRules()


def task_rules(permanent_on: Iterable[Any] = (), retry_on: Iterable[Any] = ()) -> TaskRules:
    """Validate `@task(permanent_on=..., retry_on=...)`: exception classes or regex strings (ValueError)."""
    return TaskRules(_rule_items("permanent_on", permanent_on), _rule_items("retry_on", retry_on))


def _rule_items(name: str, items: Iterable[Any]) -> tuple[type[BaseException] | re.Pattern[str], ...]:
    if isinstance(items, str | type):
        items = (items,)
    try:
        items = tuple(items)
    except TypeError:
        raise ValueError(f"{name}: expected a tuple of exception classes and regex strings") from None
    rules: list[type[BaseException] | re.Pattern[str]] = []
    for item in items:
        if isinstance(item, type) and issubclass(item, BaseException):
            rules.append(item)
        elif isinstance(item, str):
            try:
                rules.append(compile_pattern(item))
            except ValueError as error:
                raise ValueError(f"{name}: {error}") from None
        else:
            raise ValueError(f"{name}: {item!r} is neither an exception class nor a regex string")
    return tuple(rules)


def task_rules_of(func_name: str | None) -> TaskRules:
    """The rules a task was decorated with, found by its dotted path (none if it cannot be imported).

    In the work-horse the task's module is already imported, so this is a dictionary lookup.
    """
    if not func_name:
        return NO_TASK_RULES
    try:
        func = import_attribute(func_name)
    except Exception:  # noqa: BLE001 - an unimportable task simply has no rules of its own
        return NO_TASK_RULES
    rules = getattr(func, RULES_ATTRIBUTE, None)
    return rules if isinstance(rules, TaskRules) else NO_TASK_RULES


def message_head(exc_value: BaseException | None) -> str:
    """The first MAX_MATCHED_CHARS characters of `str(exc)`; '' if it cannot be read."""
    if exc_value is None:
        return ""
    try:
        return str(exc_value)[:MAX_MATCHED_CHARS]
    except Exception:  # noqa: BLE001 - a hostile __str__
        return ""


def first_pattern_match(patterns: Iterable[re.Pattern[str]], message: str) -> re.Pattern[str] | None:
    return next((pattern for pattern in patterns if pattern.search(message)), None)


def matching_rule(
    rules: Iterable[type[BaseException] | re.Pattern[str]], exc_type: type[BaseException], message: str
) -> str | None:
    """How the first matching rule is shown in a reason (`ValueError`, `'deploy in progress'`), or None."""
    for rule in rules:
        if isinstance(rule, re.Pattern):
            if rule.search(message):
                return repr(rule.pattern)
        elif issubclass(exc_type, rule):
            return rule.__qualname__
    return None
