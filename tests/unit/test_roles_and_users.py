"""The dashboard's role policy (pure) and the users file: parsing, refusals, password and token checks."""

from __future__ import annotations

import pytest

from failure_handlers.errors import ConfigError
from failure_handlers.web import roles
from failure_handlers.web.users import hash_password, load_users, new_token, parse_users

# One hash made once for the module: Argon2 is slow on purpose.
HASH = hash_password("s3cret pass")


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("viewer", {"read"}),
        ("operator", {"read", "requeue", "replay", "pause", "resume"}),
        ("admin", {"read", "requeue", "replay", "pause", "resume", "delete", "dismiss", "purge"}),
    ],
)
def test_each_role_may_exactly_its_actions(role, allowed):
    every = {"read", *roles.ACTIONS, "flushall"}
    assert {action for action in every if roles.may(role, action)} == allowed


def test_an_unknown_role_may_nothing_and_a_viewer_may_not_act():
    assert not roles.may("root", "read") and not roles.may_act("root")
    assert not roles.may_act("viewer") and roles.may_act("operator") and roles.may_act("admin")


def test_the_refusal_names_the_roles_that_may():
    assert roles.refusal("operator", "delete") == "your role (operator) may not delete: it needs admin"
    assert roles.refusal("viewer", "requeue") == "your role (viewer) may not requeue: it needs operator or admin"


def test_a_users_file_gives_users_and_tokens_with_roles():
    token, digest = new_token()
    users = parse_users(
        f"# the team\nuser alice admin {HASH}\n\nuser bob  viewer {HASH}  # read only\ntoken ci operator {digest}\n",
        "DASHBOARD_USERS_FILE users",
    )
    assert {name: role for name, (role, _) in users.passwords.items()} == {"alice": "admin", "bob": "viewer"}
    assert users.check_password("alice", "s3cret pass").role == "admin"
    assert users.check_password("alice", "s3cret pass").role == "admin"  # remembered: the same answer
    assert users.check_password("alice", "wrong") is None
    assert users.check_password("mallory", "s3cret pass") is None
    principal = users.check_token(token)
    assert (principal.name, principal.role, principal.kind) == ("ci", "operator", "token")
    assert users.check_token(token + "x") is None


def test_the_variable_separates_entries_with_semicolons():
    users = parse_users(f"user alice operator {HASH}; user bob viewer {HASH}", "DASHBOARD_USERS")
    assert sorted(users.passwords) == ["alice", "bob"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("user alice admin", "line 1: expected `user|token NAME ROLE HASH` (4 fields, got 3)"),
        (f"group alice admin {HASH}", "line 1: unknown kind 'group': expected user or token"),
        (f"user alice root {HASH}", "line 1: unknown role 'root' for alice: expected viewer, operator, admin"),
        ("user alice admin hunter2", "line 1: the password of alice is not an Argon2 hash (value not shown)"),
        ("user alice admin $argon2id$garbage", "the password of alice is not an Argon2 hash"),
        ("token ci admin plain-token-123456", "line 1: the token of ci is not sha256:<64 hex digits>"),
        (f"user al/ice admin {HASH}", "line 1: bad name 'al/ice'"),
        (f"user alice admin {HASH}\nuser alice viewer {HASH}", "line 2: user alice is given twice"),
    ],
)
def test_a_bad_line_is_one_error_naming_the_line_never_the_secret(text, message):
    with pytest.raises(ConfigError, match=None) as error:
        parse_users(text, "DASHBOARD_USERS_FILE users")
    assert message in str(error.value)
    assert "hunter2" not in str(error.value) and "plain-token" not in str(error.value)
    assert "\n" not in str(error.value)


def test_an_unreadable_file_is_one_line(tmp_path):
    with pytest.raises(ConfigError, match=r"DASHBOARD_USERS_FILE='.*missing': cannot read it: No such file"):
        load_users(str(tmp_path / "missing"), None)


def test_file_and_variable_add_up(tmp_path):
    path = tmp_path / "users"
    path.write_text(f"user alice admin {HASH}\n")
    users = load_users(str(path), f"user bob viewer {HASH}")
    assert sorted(users.passwords) == ["alice", "bob"]
    with pytest.raises(ConfigError, match="user alice is also in DASHBOARD_USERS_FILE"):
        load_users(str(path), f"user alice viewer {HASH}")
