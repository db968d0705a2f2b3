"""Alert policy without Redis: the rules as a pure function of figures, and the wording."""

from __future__ import annotations

from failure_handlers.alerts import rules
from failure_handlers.alerts.messages import FIRING, RESOLVED, message_for
from failure_handlers.alerts.rules import Figures, GroupFigures, Thresholds, evaluate
from failure_handlers.redaction import redact_endpoint, redact_text

NOW = 1_800_000_000.0
LIMITS = Thresholds(warn_size=50, crit_size=100, max_age_seconds=86400, burst_count=10, burst_minutes=10)


def group(fingerprint="fp1", count=3, recent=0, first_seen=NOW - 600) -> GroupFigures:
    return GroupFigures(fingerprint, "KeyError", "app.charge", "'sku-1'", count, recent, first_seen, NOW - 60)


def firing(conditions) -> set[tuple[str, str]]:
    return {(c.rule, c.subject) for c in conditions if c.firing}


def test_a_quiet_dlq_fires_nothing_but_reports_its_clear_resolvable_rules():
    conditions = evaluate(Figures(NOW, 3, NOW - 60, [group()]), LIMITS, {"fp1"})
    assert firing(conditions) == set()
    assert {c.rule for c in conditions} == {rules.SIZE_WARNING, rules.SIZE_CRITICAL, rules.OLDEST_AGE}


def test_size_thresholds_are_those_of_check_inclusive():
    assert firing(evaluate(Figures(NOW, 50, NOW, []), LIMITS, ())) == {(rules.SIZE_WARNING, "dlq")}
    assert firing(evaluate(Figures(NOW, 100, NOW, []), LIMITS, ())) == {
        (rules.SIZE_WARNING, "dlq"),
        (rules.SIZE_CRITICAL, "dlq"),
    }


def test_the_oldest_entry_past_the_maximum_age_fires():
    assert firing(evaluate(Figures(NOW, 1, NOW - 86401, []), LIMITS, ())) == {(rules.OLDEST_AGE, "dlq")}
    assert firing(evaluate(Figures(NOW, 1, NOW - 86400, []), LIMITS, ())) == set()
    assert firing(evaluate(Figures(NOW, 0, None, []), LIMITS, ())) == set()


def test_a_new_group_fires_once_it_is_unseen_and_a_burst_needs_more_than_n_in_the_window():
    assert firing(evaluate(Figures(NOW, 3, NOW, [group()]), LIMITS, set())) == {(rules.NEW_GROUP, "fp1")}
    assert firing(evaluate(Figures(NOW, 20, NOW, [group(count=20, recent=10)]), LIMITS, {"fp1"})) == set()
    burst = evaluate(Figures(NOW, 20, NOW, [group(count=20, recent=11)]), LIMITS, {"fp1"})
    assert firing(burst) == {(rules.GROUP_BURST, "fp1")}
    (condition,) = [c for c in burst if c.firing]
    assert condition.count == 11 and "11 dead jobs in 10 min" in condition.what
    assert condition.command == "rq-dlq list --group fp1" and not condition.resolvable


def test_a_storm_of_a_new_group_is_one_alert_and_a_burst_only_once_the_group_is_older_than_the_window():
    def about_group(group_figures, seen, limits=LIMITS):
        return {c.rule for c in evaluate(Figures(NOW, 20_000, NOW, [group_figures]), limits, seen) if c.firing} - {
            rules.SIZE_WARNING,
            rules.SIZE_CRITICAL,
        }

    young = group(count=20_000, recent=20_000, first_seen=NOW - 599)
    assert about_group(young, set()) == {rules.NEW_GROUP}
    assert about_group(young, {"fp1"}) == set()  # announced as new: nothing more within the window
    older = group(count=20_000, recent=20_000, first_seen=NOW - 600)
    assert about_group(older, {"fp1"}) == {rules.GROUP_BURST}  # still bursting after the window
    no_new = Thresholds(50, 100, 86400, 10, 10, new_groups=False)  # no new-group message: the burst is the alert
    assert about_group(young, set(), no_new) == {rules.GROUP_BURST}


def test_new_groups_can_be_switched_off():
    limits = Thresholds(50, 100, 86400, 10, 10, new_groups=False)
    assert firing(evaluate(Figures(NOW, 3, NOW, [group()]), limits, set())) == set()


def test_a_message_says_what_how_many_since_when_a_sample_the_link_and_the_command():
    condition = next(c for c in evaluate(Figures(NOW, 3, NOW, [group()]), LIMITS, set()) if c.firing)
    message = message_for(condition, FIRING, "https://ops.example/dlq/", NOW)
    text = message.text()
    assert message.title == "[rq-dlq WARNING] New failure group: KeyError in app.charge"
    assert "How many: 3" in text and "Since: 2027-01-15T07:50:00Z" in text and "Sample: 'sku-1'" in text
    assert "Show it: rq-dlq list --group fp1" in text and "Dashboard: https://ops.example/dlq/failed?group=fp1" in text
    resolved = message_for(condition, RESOLVED, None, NOW)
    assert resolved.title.startswith("[rq-dlq RESOLVED] cleared:") and resolved.dashboard_url == ""


def test_secrets_are_redacted_from_texts_and_urls():
    text = "failed: redis://:hunter2@db:6379/0 then https://hooks.example/services/T0/SECRET"
    assert redact_text(text, ["/services/T0/SECRET"]) == "failed: redis://:***@db:6379/0 then https://hooks.example***"
    assert redact_endpoint("https://hooks.example/services/T0/SECRET?x=1") == "https://hooks.example/***"
