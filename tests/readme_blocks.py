"""The README's "Use it with…" code blocks, as written, for the tests that run them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def section_blocks(heading: str) -> list[str]:
    """The fenced code blocks under `### heading` of the README, in order."""
    text = README.read_text(encoding="utf-8")
    start = text.index(f"\n### {heading}\n")
    end = text.find("\n## ", start)
    end = min(e for e in (end, text.find("\n### ", start + 1)) if e != -1)
    return re.findall(r"```[a-z]*\n(.*?)```", text[start:end], flags=re.S)


def settings_module(heading: str, root: Path) -> list[str]:
    """Write the section's settings module (its first block, headed `# myapp/rq_settings.py: <worker
    command>`) under `root`; return the worker command written in that header, as arguments."""
    block = section_blocks(heading)[0]
    header = block.splitlines()[0]
    path, _, command = header.removeprefix("# ").partition(": ")
    target = root / path
    target.parent.mkdir(parents=True, exist_ok=True)
    (target.parent / "__init__.py").touch()
    target.write_text(block, encoding="utf-8")
    return shlex.split(command)
