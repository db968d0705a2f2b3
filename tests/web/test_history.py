"""The History page and `GET /api/history`: the failure archive through the dashboard, with
`rq-dlq history`'s filters. Rows reach a real archive (SQLite, and PostgreSQL when
TEST_DATABASE_URL is set) the way they do in production: DLQ writes with the archive on append
events to the stream on the real server, and the archiver turns them into rows."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest

from failure_handlers.archive import database
from failure_handlers.archive.archiver import Archiver
from failure_handlers.config import parse_settings
from failure_handlers.dev.worker_process import PROJECT_ROOT
from failure_handlers.dlq.store import DeadLetterQueue
from tests.conftest import TEST_ENV
from tests.factories import dead_entry
from tests.web.conftest import PASSWORD, TOKEN, USER, WEEK

SCRIPT = "<script>alert('pwned')</script>"
IMPORT_INVOICE = "worker_tasks.example_tasks.import_invoice"


@pytest.fixture
def archive(redis):  # noqa: ANN201 - a factory
    """`archive(url)`: an initialised archive at `url` (what `rq-dlq archive init` does), a DLQ that
    appends to its stream, and an archiver for it (`run_once` is `rq-dlq archive run --once`)."""
    engines = []

    def make(url: str) -> tuple[DeadLetterQueue, Archiver]:
        settings = parse_settings({**TEST_ENV, "DLQ_TTL_SECONDS": str(WEEK), "ARCHIVE_URL": url})
        engines.append(database.make_engine(settings.archive))
        database.upgrade(engines[-1], settings.archive)
        return DeadLetterQueue.from_settings(redis, settings.dlq, settings.archive), Archiver(
            redis, settings, engines[-1]
        )

    yield make
    for engine in engines:
        engine.dispose()


@pytest.fixture
def archived(archive, archive_url):
    """Five dead-letterings over four days, two of them ended, archived by `archive run --once`."""
    dlq, archiver = archive(archive_url)
    dlq.add(dead_entry("inv-old", minutes_ago=4 * 24 * 60, fingerprint="aaaaaaaaaaaa"))
    dlq.add(dead_entry("inv-new", minutes_ago=10, fingerprint="aaaaaaaaaaaa"))
    charge = {"func_name": "billing.charge", "queue": "billing", "exc_type": "ConnectionError", "fingerprint": "b" * 12}
    dlq.add(dead_entry("charge-1", minutes_ago=60, exc_message="Gateway TIMEOUT after 30 s", attempts=4, **charge))
    dlq.add(dead_entry("charge-2", minutes_ago=2 * 24 * 60, exc_message="connection refused", **charge))
    dlq.add(dead_entry("sku-1", minutes_ago=30, exc_type="KeyError", exc_message="'sku-1'", fingerprint="cccccccccccc"))
    dlq.delete(["charge-2"], outcome="deleted", by="alice")
    dlq.delete(["inv-old"], outcome="purged", by="bob")
    archiver.run_once()
    return archive_url


def ids(response) -> list[str]:  # noqa: ANN001 - a werkzeug TestResponse
    assert response.status_code == 200, response.text[:500]
    return [row["job_id"] for row in response.get_json()["rows"]]


def test_the_history_page_lists_rows_newest_first_with_how_they_ended(dashboard, archived):
    client = dashboard(ARCHIVE_URL=archived)
    page = client.get("/history")
    assert page.status_code == 200, page.text[:500]
    html = page.text
    order = [html.index(job_id) for job_id in ("inv-new", "sku-1", "charge-1", "charge-2", "inv-old")]
    assert order == sorted(order)
    assert 'href="/history" aria-current="page">History<' in html
    assert 'data-outcome="total">5<' in html and 'data-outcome="open">3<' in html
    assert 'data-outcome="deleted">1<' in html and 'data-outcome="purged">1<' in html
    assert 'href="/jobs/inv-new"' in html and 'href="/jobs/charge-2"' not in html  # open rows link to the DLQ
    assert "by alice" in html and "by bob" in html and "Gateway TIMEOUT after 30 s" in html
    assert ">4/4<" in html  # runs made / runs allowed
    assert "rq-dlq history" in html
    assert client.get("/jobs/inv-new").status_code == 200  # the link leads to the DLQ entry

    filtered = client.get("/history?" + urlencode({"queue": "billing", "outcome": "deleted", "limit": "1"})).text
    assert "charge-2" in filtered and "charge-1" not in filtered and "inv-new" not in filtered
    assert "rq-dlq history --queue billing --outcome deleted" in filtered
    assert '<option value="deleted" selected>' in filtered


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({}, ["inv-new", "sku-1", "charge-1", "charge-2", "inv-old"]),
        ({"queue": "billing"}, ["charge-1", "charge-2"]),
        ({"func": IMPORT_INVOICE}, ["inv-new", "sku-1", "inv-old"]),
        ({"exc_type": "KeyError"}, ["sku-1"]),
        ({"group": "aaaaaaaaaaaa"}, ["inv-new", "inv-old"]),
        ({"outcome": "open"}, ["inv-new", "sku-1", "charge-1"]),
        ({"outcome": "purged"}, ["inv-old"]),
        ({"since": "3d"}, ["inv-new", "sku-1", "charge-1", "charge-2"]),
        ({"until": "1d"}, ["charge-2", "inv-old"]),
        ({"since": "3d", "until": "20m"}, ["sku-1", "charge-1", "charge-2"]),
        ({"job_id": "charge-1"}, ["charge-1"]),
        ({"search": "gateway timeout"}, ["charge-1"]),
        ({"search": "%"}, []),  # a LIKE wildcard is matched as text
        ({"queue": "billing", "outcome": "open"}, ["charge-1"]),
        ({"queue": "never-seen"}, []),  # the archive keeps what the DLQ forgot: no "known values" check
    ],
)
def test_api_history_takes_rq_dlq_history_filters(dashboard, archived, query, expected):
    response = dashboard(ARCHIVE_URL=archived).get("/api/history?" + urlencode(query))
    assert ids(response) == expected
    body = response.get_json()
    assert body["total"] == len(expected) and body["filter"] == query
    assert sum(body["by_outcome"].values()) == len(expected)


def test_api_history_pages_with_offset_and_limit_and_keeps_the_traceback(dashboard, archived):
    client = dashboard(ARCHIVE_URL=archived)
    first = client.get("/api/history?limit=2").get_json()
    assert [row["job_id"] for row in first["rows"]] == ["inv-new", "sku-1"]
    assert (first["total"], first["offset"], first["limit"], first["next_offset"]) == (5, 0, 2, 2)
    last = client.get("/api/history?limit=2&offset=4").get_json()
    assert [row["job_id"] for row in last["rows"]] == ["inv-old"] and last["next_offset"] is None
    row = first["rows"][0]
    assert row["traceback"].startswith("Traceback") and row["args"] == '["INV-1"]'
    assert row["outcome"] == "open" and row["failed_at"].endswith("+00:00")
    purged = client.get("/api/history?outcome=purged").get_json()["rows"][0]
    assert purged["outcome_by"] == "bob" and purged["outcome_at"] is not None
    page = client.get("/history?limit=2&offset=2").text
    assert 'href="/history?offset=0&amp;limit=2">← newer' in page and 'offset=4&amp;limit=2">older →' in page


def test_api_history_stats_match_rq_dlq_history_stats(dashboard, archived):
    client = dashboard(ARCHIVE_URL=archived)
    figures = client.get("/api/history/stats?top=1&queue=billing").get_json()
    assert figures["total"] == 2 and figures["by_outcome"] == {"open": 1, "deleted": 1}
    assert figures["per_func"] == [{"key": "billing.charge", "total": 2, "open": 1, "deleted": 1}]
    assert sum(day["total"] for day in client.get("/api/history/stats").get_json()["per_day"]) == 5


@pytest.mark.parametrize(
    ("query", "fragment"),
    [
        ("outcome=vanished", "filter outcome: 'vanished' is not one of open, requeued"),
        ("since=yesterday-ish", "filter since: 'yesterday-ish' is neither an ISO time"),
        ("until=2026-13-45", "filter until"),
        ("limit=0", "limit='0': expected a whole number from 1 to 500"),
        ("limit=501", "limit='501'"),
        ("offset=-1", "offset='-1'"),
        ("limit=ten", "limit='ten': expected a whole number"),
        ("search=" + "x" * 1001, "filter search: longer than 1000 characters"),
    ],
)
def test_bad_history_filters_are_a_400_with_one_line(dashboard, tmp_path, archive, query, fragment):
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    archive(url)
    client = dashboard(ARCHIVE_URL=url)
    response = client.get("/api/history?" + query)
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert fragment in error and "\n" not in error
    page = client.get("/history?" + query)
    assert page.status_code == 400 and fragment.replace("'", "&#39;") in page.text
    if query.startswith("outcome"):
        assert response.get_json()["allowed"][0] == "open"


def test_a_bad_top_for_stats_is_a_400(dashboard, tmp_path, archive):
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    archive(url)
    response = dashboard(ARCHIVE_URL=url).get("/api/history/stats?top=0")
    assert response.status_code == 400 and "top='0'" in response.get_json()["error"]


def test_without_archive_url_history_answers_503_and_the_nav_hides_it(client):
    response = client.get("/api/history")
    assert response.status_code == 503
    assert response.get_json()["error"] == "the failure archive is off: set ARCHIVE_URL (see docs/archive.md)"
    page = client.get("/history")
    assert page.status_code == 503 and "the failure archive is off: set ARCHIVE_URL" in page.text
    assert client.get("/api/history/stats").status_code == 503
    assert ">History<" not in client.get("/failed").text


def test_an_uninitialised_then_initialised_archive(dashboard, tmp_path, archive):
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    client = dashboard(ARCHIVE_URL=url)
    response = client.get("/api/history")
    assert response.status_code == 503 and "rq-dlq archive init" in response.get_json()["error"]
    assert "rq-dlq archive init" in client.get("/history").text

    archive(url)  # what `rq-dlq archive init` does
    assert client.get("/api/history").status_code == 200  # a failed check is not remembered


def test_an_unreachable_database_is_a_503_without_its_password(dashboard):
    client = dashboard(ARCHIVE_URL="postgresql://archiver:hunter2-secret@127.0.0.1:1/ops")
    for path in ("/api/history", "/history", "/api/history/stats"):
        response = client.get(path)
        assert response.status_code == 503, path
        assert "hunter2" not in response.text and "127.0.0.1:1" in response.text


def test_hostile_job_text_is_escaped_on_the_history_page(dashboard, tmp_path, archive):
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    dlq, archiver = archive(url)
    dlq.add(dead_entry("<b>job", exc_message=SCRIPT, exc_type=SCRIPT, func_name=SCRIPT, queue=SCRIPT,
                       reason=SCRIPT, args=json.dumps([SCRIPT])))  # fmt: skip
    dlq.add(dead_entry("rtl", exc_message="invoice_\u202egpj.exe"))
    dlq.delete(["rtl"], by=SCRIPT)
    archiver.run_once()
    client = dashboard(ARCHIVE_URL=url)

    html = client.get("/history").text
    assert "<script>alert" not in html and "<b>job" not in html
    assert html.count("&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;") >= 5
    assert "\u202e" not in html and "⟨U+202E⟩" in html
    assert 'href="/jobs/%3Cb%3Ejob"' in html
    rows = client.get("/api/history").get_json()["rows"]
    assert {row["message"] for row in rows} == {SCRIPT, "invoice_\u202egpj.exe"}  # JSON keeps the text as it is


def test_a_job_recorded_again_shows_its_duplicated_runs_and_events(dashboard, tmp_path, archive):
    """The row of a merged entry (docs/dlq-contract.md#the-first-cause-wins), its events escaped."""
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    dlq, archiver = archive(url)
    abandoned = "rq.exceptions.AbandonedJobError"
    events = [{"when": "then", "exc_type": abandoned, "reason": SCRIPT, "at": "T", "worker": "w2"}]
    dlq.add(dead_entry("twice", duplicated_runs=1, events=json.dumps(events)))
    dlq.add(dead_entry("once"))
    archiver.run_once()
    client = dashboard(ARCHIVE_URL=url)

    html = client.get("/history").text
    assert html.count('data-duplicated-runs="1">1 duplicated<') == 1
    assert f"then: {abandoned} (&lt;script&gt;alert(&#39;pwned&#39;)&lt;/script&gt;) at T on w2" in html
    assert "<script>alert" not in html
    rows = {row["job_id"]: row for row in client.get("/api/history").get_json()["rows"]}
    assert (rows["twice"]["duplicated_runs"], json.loads(rows["twice"]["events"])) == (1, events)
    assert (rows["once"]["duplicated_runs"], rows["once"]["events"]) == (0, "[]")


def test_history_needs_the_same_credentials_as_other_reads(dashboard, archived):
    client = dashboard(ARCHIVE_URL=archived, DASHBOARD_AUTH=f"{USER}:{PASSWORD}", DASHBOARD_API_TOKEN=TOKEN)
    basic = {"Authorization": "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()}
    wrong = {"Authorization": "Basic " + base64.b64encode(f"{USER}:nope".encode()).decode()}
    assert client.get("/history").status_code == 401
    assert client.get("/history", headers=wrong).status_code == 401
    assert client.get("/history", headers=basic).status_code == 200
    assert client.get("/api/history").status_code == 401
    assert client.get("/api/history", headers=wrong).status_code == 403
    assert client.get("/api/history", headers=basic).status_code == 200
    assert client.get("/api/history", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200
    assert client.get("/api/history/stats", headers=wrong).status_code == 403
    assert client.post("/api/history", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 405


NO_ARCHIVE_EXTRA = """
import sys
sys.modules["sqlalchemy"] = None  # as if the `archive` extra were not installed: importing it fails
from failure_handlers.config import parse_settings
from failure_handlers.web import create_app

off = create_app(parse_settings({})).test_client()
on = create_app(parse_settings({"ARCHIVE_URL": "sqlite:///nowhere.db"})).test_client()
print(off.get("/api/history").status_code, off.get("/history").status_code)
print(on.get("/api/history").get_json()["error"])
"""


def test_the_web_extra_works_without_the_archive_extra():
    result = subprocess.run(
        [sys.executable, "-c", NO_ARCHIVE_EXTRA], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "503 503",
        "the failure archive needs the `archive` extra: pip install 'rq-dead-letter[archive]'",
    ]


def test_a_history_time_range_is_inclusive_and_in_utc(dashboard, tmp_path, archive):
    url = f"sqlite:///{tmp_path / 'archive.db'}"
    dlq, archiver = archive(url)
    moment = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    dlq.add(dead_entry("exact", failed_at=moment.isoformat().replace("+00:00", "Z")))
    archiver.run_once()
    client = dashboard(ARCHIVE_URL=url)
    naive = moment.replace(tzinfo=None).isoformat()  # naive means UTC, as on the command line
    offset = moment.astimezone(ZoneInfo("Asia/Tokyo")).isoformat()
    for since, until in ((naive, naive), (offset, offset)):
        assert ids(client.get("/api/history?" + urlencode({"since": since, "until": until}))) == ["exact"]
