"""CIRCUIT_* settings: defaults, values, and one-line errors naming the variable."""

import pytest

from failure_handlers.config import parse_settings
from failure_handlers.errors import ConfigError


def test_circuit_defaults():
    settings = parse_settings({})
    assert settings.circuits.failure_threshold == 5
    assert settings.circuits.window_seconds == 60
    assert settings.circuits.reset_seconds == 30


def test_circuit_values_are_read():
    settings = parse_settings(
        {"CIRCUIT_FAILURE_THRESHOLD": "3", "CIRCUIT_WINDOW_SECONDS": " 10 ", "CIRCUIT_RESET_SECONDS": "2"}
    )
    assert (settings.circuits.failure_threshold, settings.circuits.window_seconds, settings.circuits.reset_seconds) == (
        3,
        10,
        2,
    )


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CIRCUIT_FAILURE_THRESHOLD", "0"),
        ("CIRCUIT_FAILURE_THRESHOLD", "five"),
        ("CIRCUIT_WINDOW_SECONDS", "-1"),
        ("CIRCUIT_WINDOW_SECONDS", "1.5"),
        ("CIRCUIT_RESET_SECONDS", "99999999"),
        ("CIRCUIT_RESET_SECONDS", "30s"),
    ],
)
def test_bad_circuit_values_raise_one_line_naming_the_variable(name, value):
    with pytest.raises(ConfigError) as error:
        parse_settings({name: value})
    message = str(error.value)
    assert message.startswith(f"{name}={value!r}") and "\n" not in message
