"""The Django manual's settings block is the README's, which tests/integration/test_django.py runs as written."""

from __future__ import annotations

from pathlib import Path

from tests.readme_blocks import section_blocks

MANUAL = Path(__file__).resolve().parents[2] / "docs" / "django.md"


def test_the_manuals_settings_block_is_the_readmes():
    section = MANUAL.read_text(encoding="utf-8").split("\n## Settings\n", 1)[1]
    block = section.split("```python\n", 1)[1].split("```", 1)[0]
    assert block == section_blocks("Django")[0]
