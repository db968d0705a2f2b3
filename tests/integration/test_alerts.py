"""`rq-dlq alert` on a real server with real local receivers: webhook payloads (slack, json), e-mail
over SMTP, dedup across notifier processes, cool-down, resolved messages, a receiver that is down
then comes back, one that hangs, and secrets redacted everywhere."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
from collections import Counter

import pytest
import trustme

from failure_handlers.alerts.notifier import Notifier
from failure_handlers.config import parse_settings
from failure_handlers.dev.worker_process import PROJECT_ROOT
from failure_handlers.storage.keys import DlqKeys
from tests.conftest import TEST_ENV
from tests.factories import dead_entry
from tests.integration.alert_receivers import free_port, smtp_server, webhook_receiver
from tests.polling import wait_for

SECRET_PATH = "/hooks/T000/SECRET-PATH"
LEAKY_MESSAGE = "cannot connect to redis://:hunter2@db.internal:6379/0"
KEYS = DlqKeys(TEST_ENV["DLQ_PREFIX"])


def settings(**values: str):
    return parse_settings({**TEST_ENV, "DASHBOARD_URL": "https://ops.example", **values})


def fill(dlq, count: int, fingerprint: str = "fp-invoice", start: int = 0, message: str = "invoice has no customer"):
    for n in range(start, start + count):
        dlq.add(dead_entry(f"job-{fingerprint}-{n}", fingerprint=fingerprint, exc_message=message))


def baseline(redis, **values: str) -> None:
    """The first pass ever, on an empty DLQ: from now on every group is new."""
    Notifier(redis, settings(**values)).run_once()


def test_slack_payload_says_what_how_many_since_sample_link_and_command_without_secrets(redis, dlq):
    fill(dlq, 2, "fp-old")
    with webhook_receiver() as receiver:
        notifier = Notifier(redis, settings(ALERT_WEBHOOK_URL=receiver.url(SECRET_PATH)))
        first = notifier.run_once()
        assert first.baseline_groups == 1 and first.notified == []  # an existing DLQ's groups are not "new"
        fill(dlq, 1, "fp-new", message=LEAKY_MESSAGE)
        report = notifier.run_once()
        assert report.notified == ["new_group fp-new firing"] and report.delivered == 1
    [body] = receiver.bodies
    text = body["text"]
    assert list(body) == ["text"] and receiver.paths == [SECRET_PATH]
    assert text.startswith("[rq-dlq WARNING] New failure group: worker_tasks.example_tasks.InvoiceRejected")
    assert "How many: 1" in text and "Since: 20" in text and "Sample: cannot connect to redis://:***@db" in text
    assert (
        "Show it: rq-dlq list --group fp-new" in text and "Dashboard: https://ops.example/failed?group=fp-new" in text
    )
    assert "hunter2" not in json.dumps(receiver.bodies)


def test_json_payload_and_resolved_message_once_when_the_size_clears(redis, dlq):
    baseline(redis)
    with webhook_receiver() as receiver:
        values = {"ALERT_WEBHOOK_URL": receiver.url(), "ALERT_WEBHOOK_FORMAT": "json", "DLQ_WARN_SIZE": "3"}
        values |= {"ALERT_NEW_GROUP": "false"}
        notifier, other = Notifier(redis, settings(**values)), Notifier(redis, settings(**values))
        fill(dlq, 3)
        assert notifier.run_once().notified == ["dlq_size_warning dlq firing"]
        assert other.run_once().notified == []  # within the cool-down
        dlq.delete([f"job-fp-invoice-{n}" for n in range(3)])
        resolved = [notifier.run_once().notified, other.run_once().notified, notifier.run_once().notified]
    assert resolved == [["dlq_size_warning dlq resolved"], [], []]
    firing, cleared = receiver.bodies
    assert firing["rule"] == "dlq_size_warning" and firing["state"] == "firing" and firing["count"] == 3
    assert firing["severity"] == "warning" and firing["command"] == "rq-dlq stats" and firing["since"]
    assert firing["dashboard_url"] == "https://ops.example/" and firing["title"].startswith("[rq-dlq WARNING]")
    assert cleared["state"] == "resolved" and cleared["title"].startswith("[rq-dlq RESOLVED] cleared:")


def test_a_new_firing_after_the_cool_down_notifies_again(redis, dlq):
    baseline(redis)
    with webhook_receiver() as receiver:
        notifier = Notifier(
            redis, settings(ALERT_WEBHOOK_URL=receiver.url(), DLQ_WARN_SIZE="1", ALERT_COOLDOWN_SECONDS="3")
        )
        fill(dlq, 1)
        assert "dlq_size_warning dlq firing" in notifier.run_once().notified
        claim = KEYS.alert_claim("dlq_size_warning", "dlq")
        assert redis.pttl(claim) > 0
        assert notifier.run_once().notified == []  # the claim is still there: no repeat
        wait_for(lambda: notifier.run_once().notified == ["dlq_size_warning dlq firing"], 20, "the cool-down to end")
    assert Counter(body["text"].split("\n")[0] for body in receiver.bodies).most_common(1)[0][1] == 2


def alert_process(*args: str, **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "failure_handlers.cli", "alert", *args],
        cwd=PROJECT_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def conditions_fired(dlq) -> dict[str, str]:
    fill(dlq, 4)  # a new group (its burst, 4 > 1 in 10 min, is part of it), warning (>= 2) and critical (>= 3)
    return {"ALERT_WEBHOOK_FORMAT": "json", "DLQ_WARN_SIZE": "2", "DLQ_CRIT_SIZE": "3", "ALERT_GROUP_COUNT": "1"}


EXPECTED = {("new_group", "fp-invoice"), ("dlq_size_warning", "dlq"), ("dlq_size_critical", "dlq")}


def test_concurrent_once_processes_send_exactly_one_notification_per_rule_and_subject(redis, dlq):
    baseline(redis)
    values = conditions_fired(dlq)
    with webhook_receiver() as receiver:
        for _ in range(3):
            processes = [alert_process("--once", ALERT_WEBHOOK_URL=receiver.url(), **values) for _ in range(2)]
            outputs = [process.communicate(timeout=60)[0] for process in processes]
            assert [process.returncode for process in processes] == [0, 0], outputs
    sent = Counter((body["rule"], body["subject"]) for body in receiver.bodies)
    assert set(sent) == EXPECTED and set(sent.values()) == {1}


def test_two_watch_processes_send_exactly_one_notification_per_rule_and_subject(redis, dlq):
    baseline(redis)
    values = conditions_fired(dlq) | {"LOG_LEVEL": "DEBUG"}
    with webhook_receiver() as receiver:
        watchers = [alert_process("--watch", "--interval", "0.2s", ALERT_WEBHOOK_URL=receiver.url(), **values)
                    for _ in range(2)]  # fmt: skip
        logs: list[list[str]] = [[], []]
        try:
            wait_for(lambda: len(receiver.bodies) >= len(EXPECTED), 60, "the first notifications")
            for watcher, lines in zip(watchers, logs, strict=True):
                # three more passes of each watcher after the notifications went out
                wait_for(lambda w=watcher, ls=lines: _passes(w, ls) >= 4, 60, "three more passes of each watcher")
        finally:
            for watcher in watchers:
                watcher.terminate()
                watcher.communicate(timeout=30)
    sent = Counter((body["rule"], body["subject"]) for body in receiver.bodies)
    assert set(sent) == EXPECTED and set(sent.values()) == {1}, sent


def _passes(process: subprocess.Popen[str], lines: list[str]) -> int:
    """Passes logged so far (reads one line per call; the watcher logs one per pass)."""
    line = process.stdout.readline() if process.stdout else ""
    if line:
        lines.append(line)
    return sum("alert pass done" in item for item in lines)


def test_a_receiver_down_then_back_gets_the_notification_once(redis, dlq, log_messages):
    baseline(redis)
    port = free_port()
    values = {"ALERT_WEBHOOK_URL": f"http://127.0.0.1:{port}{SECRET_PATH}", "ALERT_RETRY_SECONDS": "0"}
    notifier = Notifier(redis, settings(**values, ALERT_NEW_GROUP="false", DLQ_WARN_SIZE="1"))
    fill(dlq, 1)
    down = notifier.run_once()
    assert (down.delivered, down.failed, down.pending) == (0, 1, 1)
    [raw] = [redis.get(KEYS.alert_delivery(member.decode())) for member in redis.zrange(KEYS.alert_outbox, 0, -1)]
    record = json.loads(raw)
    assert record["attempts"] == 1 and "ConnectionError" in record["last_error"]
    assert "SECRET-PATH" not in record["last_error"] and not any("SECRET-PATH" in line for line in log_messages)
    with webhook_receiver(port) as receiver:
        back = notifier.run_once()
        assert (back.delivered, back.failed, back.pending) == (1, 0, 0)
        assert notifier.run_once().delivered == 0
    [body] = receiver.bodies
    assert body["text"].startswith("[rq-dlq WARNING] DLQ holds 1 dead jobs")


def test_a_hanging_receiver_times_out_and_the_delivery_stays_pending(redis, dlq, log_messages):
    baseline(redis)
    fill(dlq, 1)
    with webhook_receiver(hang=True) as receiver:
        values = {"ALERT_WEBHOOK_URL": receiver.url(SECRET_PATH), "ALERT_TIMEOUT_SECONDS": "1"}
        report = Notifier(redis, settings(**values, DLQ_WARN_SIZE="1", ALERT_NEW_GROUP="false")).run_once()
    assert (report.delivered, report.failed, report.pending) == (0, 1, 1)
    failures = [line for line in log_messages if "alert delivery failed" in line]
    assert failures and "Timeout" in failures[0] and "SECRET-PATH" not in failures[0]


def test_email_over_a_real_smtp_server(redis, dlq):
    baseline(redis)
    with smtp_server() as server:
        values = {
            "ALERT_SMTP_URL": f"smtp://127.0.0.1:{server.port}",
            "ALERT_EMAIL_TO": "ops@example.com,oncall@example.com",
        }
        fill(dlq, 1, message=LEAKY_MESSAGE)
        report = Notifier(redis, settings(**values, ALERT_EMAIL_FROM="rq@example.com")).run_once()
        assert report.delivered == 1
    [(recipients, mail)] = server.messages
    body = mail.get_payload()
    assert recipients == ["ops@example.com", "oncall@example.com"] and mail["From"] == "rq@example.com"
    assert mail["Subject"].startswith("[rq-dlq WARNING] New failure group")
    assert "How many: 1" in body and "rq-dlq list --group fp-invoice" in body and "hunter2" not in body


@pytest.fixture
def smtp_tls(tmp_path, monkeypatch) -> ssl.SSLContext:
    """A server certificate for 127.0.0.1 from a throw-away CA that the client trusts through
    SSL_CERT_FILE (OpenSSL's default verify paths, which `ssl.create_default_context` loads)."""
    authority = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1", "localhost").configure_cert(server_context)
    authority.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    return server_context


AIOSMTPD_SMTPS_AUTH = "ignore:Requiring AUTH while not requiring TLS"  # the test server's smtps mode, see receivers


@pytest.mark.filterwarnings(AIOSMTPD_SMTPS_AUTH)
@pytest.mark.parametrize(("mode", "url"), [
    ("starttls", "smtp://alerts:s3cr3t-pw@127.0.0.1:{port}?starttls=true"),
    ("smtps", "smtps://alerts:s3cr3t-pw@127.0.0.1:{port}"),
])  # fmt: skip
def test_email_over_tls_logs_in_only_after_the_certificate_is_verified(redis, dlq, smtp_tls, mode, url):
    baseline(redis)
    with smtp_server(tls=smtp_tls, mode=mode, login=("alerts", "s3cr3t-pw")) as server:
        values = {"ALERT_SMTP_URL": url.format(port=server.port), "ALERT_EMAIL_TO": "ops@example.com"}
        fill(dlq, 1)
        report = Notifier(redis, settings(**values)).run_once()
        assert (report.delivered, report.failed) == (1, 0)
    assert server.logins.seen == [("alerts", True, True)]  # accepted, over TLS
    [(recipients, mail)] = server.messages
    assert recipients == ["ops@example.com"] and "How many: 1" in mail.get_payload()


@pytest.mark.filterwarnings(AIOSMTPD_SMTPS_AUTH)
@pytest.mark.parametrize("mode", ["starttls", "smtps"])
def test_an_untrusted_smtp_certificate_is_a_failed_delivery_kept_for_retry(redis, dlq, smtp_tls, mode, log_messages,
                                                                          monkeypatch):  # fmt: skip
    monkeypatch.delenv("SSL_CERT_FILE")  # the system's CAs do not know the throw-away one
    baseline(redis)
    query = "?starttls=true" if mode == "starttls" else ""
    with smtp_server(tls=smtp_tls, mode=mode, login=("alerts", "s3cr3t-pw")) as server:
        scheme = "smtps" if mode == "smtps" else "smtp"
        values = {"ALERT_SMTP_URL": f"{scheme}://alerts:s3cr3t-pw@127.0.0.1:{server.port}{query}",
                  "ALERT_EMAIL_TO": "ops@example.com"}  # fmt: skip
        fill(dlq, 1)
        report = Notifier(redis, settings(**values)).run_once()
    assert (report.delivered, report.failed, report.pending) == (0, 1, 1)
    assert server.messages == [] and server.logins.seen == []  # no password was sent
    failures = [line for line in log_messages if "alert delivery failed" in line]
    assert failures and "CERTIFICATE_VERIFY_FAILED" in failures[0] and "s3cr3t-pw" not in " ".join(log_messages)


def test_an_smtp_password_never_reaches_a_log_or_the_pending_record(redis, dlq, log_messages):
    baseline(redis)
    values = {"ALERT_SMTP_URL": f"smtp://alerts:s3cr3t-pw@127.0.0.1:{free_port()}", "ALERT_EMAIL_TO": "ops@example.com"}
    fill(dlq, 1)
    report = Notifier(redis, settings(**values)).run_once()
    assert (report.failed, report.pending) == (1, 1)
    records = [redis.get(KEYS.alert_delivery(member.decode())) for member in redis.zrange(KEYS.alert_outbox, 0, -1)]
    assert records and all(b"s3cr3t-pw" not in record for record in records)
    assert any("alert delivery failed" in line for line in log_messages)
    assert not any("s3cr3t-pw" in line for line in log_messages)


def test_alert_once_exits_1_when_a_delivery_failed_and_bad_input_is_one_line(redis, dlq):
    from tests.integration.conftest import assert_one_line_error, run_script

    baseline(redis)
    fill(dlq, 1)
    down = run_script("-m", "failure_handlers.cli", "alert", "--once",
                      env={"ALERT_WEBHOOK_URL": f"http://127.0.0.1:{free_port()}/x"})  # fmt: skip
    assert down.returncode == 1 and "1 pending" in down.stdout, down.stdout + down.stderr
    assert_one_line_error(run_script("-m", "failure_handlers.cli", "alert"), "--once", "--watch")
    bad = run_script("-m", "failure_handlers.cli", "alert", "--once", env={"ALERT_WEBHOOK_FORMAT": "xml"})
    assert_one_line_error(bad, "ALERT_WEBHOOK_FORMAT")
