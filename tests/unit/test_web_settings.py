"""DASHBOARD_* (failure_handlers/web/settings.py): values, and errors that never repeat a secret."""

from __future__ import annotations

import subprocess
import sys

import pytest

from failure_handlers.config import parse_settings
from failure_handlers.errors import ConfigError


def test_dashboard_settings():
    settings = parse_settings({"DASHBOARD_AUTH": "ops:pa:ss", "DASHBOARD_READ_ONLY": "yes", "DASHBOARD_PORT": "8080"})
    assert settings.dashboard.auth == ("ops", "pa:ss") and settings.dashboard.read_only
    assert settings.dashboard.port == 8080 and settings.dashboard.host == "127.0.0.1"
    assert parse_settings({}).dashboard.refresh_seconds == 10
    for bad in ({"DASHBOARD_AUTH": ":pw"}, {"DASHBOARD_AUTH": "user:"}, {"DASHBOARD_API_TOKEN": "x" * 15},
                {"DASHBOARD_PORT": "0"}, {"DASHBOARD_REFRESH_SECONDS": "-1"}):  # fmt: skip
        with pytest.raises(ConfigError) as error:
            parse_settings(bad)
        assert next(iter(bad)) in str(error.value) and ("pw" not in str(error.value))


def test_secrets_stay_out_of_repr():
    secrets = {"DASHBOARD_AUTH": "ops:hunter2", "DASHBOARD_API_TOKEN": "t" * 20, "DASHBOARD_SECRET_KEY": "k9"}
    settings = parse_settings(secrets)
    assert "hunter2" not in repr(settings) and "t" * 20 not in repr(settings) and "k9" not in repr(settings)


def test_reading_the_configuration_does_not_import_flask():
    code = "import sys, failure_handlers.config; assert 'flask' not in sys.modules, 'flask imported'"
    subprocess.run([sys.executable, "-c", code], check=True)
