import sys
from pathlib import PurePath

from failure_handlers.recording import fingerprint as fingerprint_module
from failure_handlers.recording.fingerprint import (
    fingerprint,
    frames_from_text,
    frames_of,
    innermost_project_frame,
    is_project_file,
    normalise_message,
)


def test_numbers_ids_addresses_and_quoted_values_are_normalised():
    first = normalise_message(
        "order 1042 for 'ann@example.com' at 0x7f3a2c failed, id 3f2b1c9e-aaaa-bbbb-cccc-1234567890ab"
    )
    second = normalise_message('order 77 for "bob@example.com" at 0x11 failed, id 00000000-1111-2222-3333-444444444444')
    assert first == second
    assert "<n>" in first and "<addr>" in first and "<uuid>" in first and "<str>" in first


def test_same_bug_different_values_same_group():
    a = fingerprint("KeyError", "missing sku 1234", "orders.py:reserve")
    b = fingerprint("KeyError", "missing sku 98", "orders.py:reserve")
    assert a == b and len(a) == 12


def test_different_exception_type_is_a_different_group():
    assert fingerprint("KeyError", "x 1", "a.py:f") != fingerprint("ValueError", "x 1", "a.py:f")


def test_same_message_raised_in_a_different_place_is_a_different_group():
    assert fingerprint("KeyError", "sku", "orders.py:reserve") != fingerprint("KeyError", "sku", "billing.py:charge")


def test_different_wording_is_a_different_group():
    assert fingerprint("ValueError", "bad amount", "a.py:f") != fingerprint("ValueError", "bad currency", "a.py:f")


def test_library_frames_are_not_the_origin():
    frames = [
        ("/app/worker_tasks/downloads.py", "download_content"),
        ("/venv/lib/python3.11/site-packages/requests/api.py", "get"),
        (sys.modules["json"].__file__, "loads"),
    ]
    assert innermost_project_frame(frames) == "downloads.py:download_content"
    assert not is_project_file("/venv/lib/python3.11/site-packages/rq/job.py")


def test_origin_uses_the_file_name_not_the_deployment_path():
    assert innermost_project_frame([("/srv/a/tasks.py", "f")]) == innermost_project_frame([("/opt/b/tasks.py", "f")])


def test_frames_from_a_real_traceback_and_from_its_text():
    import traceback

    def project_code():
        raise ValueError("boom")

    try:
        project_code()
    except ValueError:
        tb = sys.exc_info()[2]
        text = traceback.format_exc()
    assert innermost_project_frame(frames_of(tb)) == "test_fingerprint.py:project_code"
    assert frames_from_text(text) == frames_of(tb)


def test_the_digest_is_sha1_of_type_normalised_message_and_origin_pinned():
    import hashlib

    text = "ValueError\nbad amount <n>\ntasks.py:charge"
    assert hashlib.sha1(text.encode()).hexdigest()[:12] == "1986069a2467"
    assert fingerprint("ValueError", "bad amount 12", "tasks.py:charge") == "1986069a2467"


def test_cpythons_sha1_and_the_hashlib_fallback_give_the_same_digest(monkeypatch):
    import hashlib

    from failure_handlers.recording import fingerprint as module

    cases = [
        ("KeyError", "missing sku 1234", "orders.py:reserve"),
        ("E", "", ""),
        ("Ünïcode", "naïve ✓ \ud800", "ö.py:f"),
    ]
    if sys.implementation.name == "cpython":
        assert module._sha1.__module__ == "_sha1"  # the fast path is the one in use
    fast = [fingerprint(*case) for case in cases]
    for data in (b"", b"abc", "naïve ✓".encode(), b"x" * 100_000):
        assert module._sha1(data).hexdigest() == hashlib.sha1(data).hexdigest()
    monkeypatch.setattr(module, "_sha1", hashlib.sha1)  # the fallback (no `_sha1` module)
    assert [fingerprint(*case) for case in cases] == fast


def test_the_file_name_is_pathlibs_name_of_the_path():
    """`_file_name` cuts a code object's file at its last `/` (pathlib costs ~150 µs in a fresh
    work-horse); whatever the path, the name is the one `PurePath` gives."""
    paths = [
        "/srv/app/billing/tasks.py",
        "relative/tasks.py",
        "tasks.py",
        "<string>",
        "<frozen importlib._bootstrap>",
        "/srv//app//tasks.py",
        "/srv/app/",
        "/srv/app/.",
        "/srv/app/..",
        "/",
        "",
        "C:\\app\\tasks.py",
    ]
    for path in paths:
        fingerprint_module._file_name.cache_clear()
        assert fingerprint_module._file_name(path) == PurePath(path).name, path
