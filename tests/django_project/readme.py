"""The README's Django block (the first ```python block under "### Django"), as the tests run it."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "### Django"


def blocks(language: str) -> list[str]:
    """The fenced blocks of `language` in the README's Django subsection, in order."""
    lines = README.read_text(encoding="utf-8").splitlines()
    start = lines.index(HEADING) + 1
    end = next((n for n in range(start, len(lines)) if lines[n].startswith("#")), len(lines))
    found, current = [], None
    for line in lines[start:end]:
        if current is None and line.strip() == f"```{language}":
            current = []
        elif current is not None and line.strip() == "```":
            found.append("\n".join(current) + "\n")
            current = None
        elif current is not None:
            current.append(line)
    return found


def django_settings_block() -> str:
    return blocks("python")[0]


def shell_commands() -> list[str]:
    """The README's `python manage.py ...` lines, comments removed."""
    return [line.split("  #")[0].strip() for block in blocks("sh") for line in block.splitlines() if line.strip()]
