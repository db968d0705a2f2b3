"""The ACL lines of each role (`storage/acl.py`): how they render, `rq-dlq acl`, and the manual's copy."""

from __future__ import annotations

from pathlib import Path

import pytest

from failure_handlers.cli import rq_dlq
from failure_handlers.cli.operator import run
from failure_handlers.storage.acl import ROLES, setuser_lines

MANUAL = Path(__file__).resolve().parents[2] / "docs" / "production-redis.md"


def rq_dlq_acl(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        run(rq_dlq, ["acl", *args])
    captured = capsys.readouterr()
    return int(exited.value.code or 0), captured.out, captured.err


def test_the_default_prefix_is_under_rqs_keys_and_another_gets_its_own_pattern():
    viewer = ROLES["viewer"]
    assert viewer.setuser_line() == (
        "ACL SETUSER viewer reset on >PASSWORD %R~rq:* resetchannels "
        "+@read +@connection -@dangerous -@scripting +info +time"
    )
    assert "%R~rq:* %R~myapp:dlq:* resetchannels" in viewer.setuser_line("myapp:dlq:")
    assert "%R~rq:* %R~myapp:dlq:* ~myapp:dlq:alerts:* resetchannels" in ROLES["notifier"].setuser_line("myapp:dlq:")
    assert "~rq:* ~myapp:dlq:* resetchannels &rq:pubsub:* +@read" in ROLES["worker"].setuser_line("myapp:dlq:")


@pytest.mark.parametrize("role", list(ROLES))
def test_every_line_starts_afresh_and_takes_back_the_dangerous_commands(role):
    args = ROLES[role].setuser_args("rq:dlq:", "s3cret")
    assert args[:3] == ["reset", "on", ">s3cret"] and "resetchannels" in args
    categories = [arg for arg in args if arg.startswith(("+@", "-@"))]
    assert categories[-2:] == ["-@dangerous", "-@scripting"]  # after every category that grants, so they win
    assert "+@all" not in args and "~*" not in args and "allkeys" not in args


def test_only_the_worker_subscribes_and_only_the_archiver_consumes_the_stream():
    assert [name for name, role in ROLES.items() if role.channels] == ["worker"]
    for name, role in ROLES.items():
        line = role.setuser_line()
        consumes = "+@write" in line and "-xreadgroup" not in line
        assert consumes == (name in ("archiver", "notifier")), name  # the notifier may write only alerts:*
        assert ("~rq:*" in line.split()) == (name in ("worker", "reconciler", "operator")), name


def test_rq_dlq_acl_prints_every_line_or_one_role_without_redis(capsys, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://nowhere.invalid:1/0")  # never connected to
    status, out, _ = rq_dlq_acl(capsys)
    assert status == 0 and out.splitlines() == setuser_lines(prefix="test:dlq:")  # DLQ_PREFIX of the tests
    status, out, _ = rq_dlq_acl(capsys, "viewer", "--prefix", "rq:dlq:", "--verbose")
    comment, line = out.splitlines()
    assert status == 0 and comment.startswith("# viewer: rq-dlq list") and line == ROLES["viewer"].setuser_line()


BAD_ARGUMENTS = [(["nobody"], "'nobody' is not one of"), (["--prefix", "a b"], "--prefix")]


@pytest.mark.parametrize(("args", "fragment"), BAD_ARGUMENTS)
def test_bad_acl_arguments_are_one_line(capsys, args, fragment):
    status, out, err = rq_dlq_acl(capsys, *args)
    assert status == 2 and out == "" and err.startswith("error: ") and fragment in err and len(err.splitlines()) == 1


def test_the_manual_shows_every_roles_line():
    manual = MANUAL.read_text()
    for line in setuser_lines():
        assert f"\n{line}\n" in manual, line
