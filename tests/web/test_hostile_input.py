"""The hostile table: job-derived text written by whoever controls job input, in every field that
reaches a page, the API or an export. Nothing runs, nothing breaks a page, nothing hides."""

from __future__ import annotations

import csv
import io
import json
import re
from urllib.parse import quote

import pytest

from tests.factories import dead_entry

TEN_MB = 10 * 1024 * 1024
PAYLOADS = {
    "script": "<script>alert('pwned')</script>",
    "attribute": '"onmouseover="alert(1)" data-x="',
    "javascript": "javascript:alert(document.cookie)",
    "rtl": "invoice_\u202egpj.exe",  # shows as invoice_exe.jpg without the guard
}
SURROGATE_BYTES = b"caf\xed\xb3\xa9 \xff\xfe not utf-8"  # a lone surrogate encoded, then invalid bytes
JS_URL = re.compile(r"""(href|src|action|formaction)\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def hostile_entry(name: str, payload: str):
    history = [{"attempt": 1, "exc_type": payload, "message": payload, "failed_at": payload, "worker": payload,
                "run": payload, "requeues": payload, "duplicate": payload}]  # fmt: skip
    events = [{"when": payload, "exc_type": payload, "message": payload, "reason": payload, "at": payload,
               "worker": payload}]  # fmt: skip
    return dead_entry(
        f"hostile-{name}",
        exc_message=payload,
        args=json.dumps([payload, {"nested": payload}]),
        kwargs=json.dumps({"note": payload}),
        traceback=f"Traceback (most recent call last):\n  File {payload}\nValueError: {payload}",
        exc_type=payload,
        queue=payload,
        func_name=payload,
        origin=payload,
        worker=payload,
        reason=payload,
        fingerprint=payload,
        failures=json.dumps(history),
        events=json.dumps(events),
    )


@pytest.fixture
def hostile(client, dlq, redis):
    for name, payload in PAYLOADS.items():
        dlq.add(hostile_entry(name, payload))
    dlq.add(dead_entry("hostile-huge", exc_message="m" * TEN_MB, traceback="t\n" * (TEN_MB // 2),
                       args=json.dumps(["a" * TEN_MB])))  # fmt: skip
    dlq.add(dead_entry("hostile-surrogates", args='["\\udce9 escaped lone surrogate"]', failures="not json"))
    for field in ("exc_message", "traceback", "kwargs", "worker"):
        redis.hset(dlq.keys.entry("hostile-surrogates"), field, SURROGATE_BYTES)
    return client


PAGES = ["/", "/groups", "/failed", "/failed?limit=500", *(f"/jobs/hostile-{name}" for name in PAYLOADS),
         "/jobs/hostile-huge", "/jobs/hostile-surrogates"]  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
def test_pages_escape_and_show_hostile_text(hostile, path):
    response = hostile.get(path)
    assert response.status_code == 200, response.text[-2000:]
    html = response.text
    assert len(response.data) < 2_000_000  # a 10 MB field is cut on pages (the API has it whole)
    listing = path in ("/", "/groups", "/failed", "/failed?limit=500")
    assert "<script>alert" not in html
    if listing or path == "/jobs/hostile-script":
        assert "&lt;script&gt;alert(" in html  # shown, as text
    assert 'onmouseover="' not in html and not re.search(r"\son[a-z]+\s*=", html)
    assert not JS_URL.search(html)
    # Text an operator reads never carries a direction override; attribute values (a filter's
    # hidden input, a group's data attribute) keep the exact value, escaped, so actions match it.
    assert "\u202e" not in re.sub(r"<[^>]*>", "", html)
    if listing or path == "/jobs/hostile-rtl":
        assert "⟨U+202E⟩" in html  # the override is spelled out where it would have reordered text
    scripts = re.findall(r"<script[^>]*>", html)
    assert scripts == [s for s in scripts if re.fullmatch(r'<script src="/static/dashboard\.js" defer>', s)]


def test_filtering_on_hostile_values_links_them_safely(hostile):
    for name, payload in PAYLOADS.items():
        response = hostile.get(f"/failed?queue={quote(payload)}")
        assert response.status_code == 200 and f"/jobs/hostile-{name}" in response.text, name
        assert not JS_URL.search(response.text) and "<script>alert" not in response.text
    group = hostile.get("/failed?group=" + quote(PAYLOADS["script"]))
    assert group.status_code == 200 and "/jobs/hostile-script" in group.text


def test_ten_megabyte_fields_are_cut_on_the_page_and_whole_in_the_api(hostile):
    page = hostile.get("/jobs/hostile-huge").text
    assert "more characters: see the JSON API" in page
    entry = hostile.get("/api/failed-jobs/hostile-huge").get_json()
    assert len(entry["exc_message"]) == TEN_MB and entry["args"] == ["a" * TEN_MB]


def test_undecodable_bytes_and_lone_surrogates(hostile):
    page = hostile.get("/jobs/hostile-surrogates")
    assert page.status_code == 200 and "caf\ufffd" in page.text
    assert "\\udce9 escaped lone surrogate" in page.text  # a JSON-escaped surrogate is spelled out
    body = hostile.get("/api/failed-jobs/hostile-surrogates")
    assert body.status_code == 200 and body.get_json()["args"] == ["\udce9 escaped lone surrogate"]
    assert hostile.get("/api/failed-jobs?limit=500").status_code == 200


def test_the_api_and_exports_carry_hostile_text_as_data(hostile):
    listing = hostile.get("/api/failed-jobs?limit=500")
    assert listing.mimetype == "application/json" and listing.headers["X-Content-Type-Options"] == "nosniff"
    entries = {entry["job_id"]: entry for entry in listing.get_json()["entries"]}
    for name, payload in PAYLOADS.items():
        assert entries[f"hostile-{name}"]["exc_message"] == payload
    exported = json.loads(hostile.get("/api/failed-jobs.json").text)
    assert len(exported["entries"]) == len(PAYLOADS) + 2
    limit = csv.field_size_limit(4 * TEN_MB)
    try:
        rows = list(csv.DictReader(io.StringIO(hostile.get("/api/failed-jobs.csv").text)))
    finally:
        csv.field_size_limit(limit)
    assert {row["exc_message"] for row in rows} >= set(PAYLOADS.values())


@pytest.mark.parametrize(
    "path",
    ["/jobs/%ED%B3%BF", "/jobs/%3Cscript%3Ealert(1)%3C%2Fscript%3E", "/failed?search=%ED%A0%80",
     "/failed?queue=%00%0A", "/api/failed-jobs?since=%F0%9F%92%A9", "/api/failed-jobs/%E2%80%AE",
     "/failed?until=0001-01-01T00:00:00%2B01:00", "/failed?since=99999999999999999999w"],
)  # fmt: skip
def test_hostile_urls_are_answered_not_crashed(hostile, path):
    response = hostile.get(path)
    assert response.status_code in (200, 400, 404), (path, response.status_code, response.text[:300])
    assert "<script>alert" not in response.text and "\u202e" not in re.sub(r"<[^>]*>", "", response.text)
