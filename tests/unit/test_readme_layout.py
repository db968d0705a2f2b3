"""The README's Layout section (a fenced tree) lists exactly the repository's top-level folders tracked by git,
and exactly the packages of failure_handlers/ (its folders with an __init__.py)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LIBRARY = "failure_handlers"
# ├── name/  or  │   └── name/  : the indent gives the depth, four characters a level.
TREE_ENTRY = re.compile(r"^(?P<indent>(?:│   |    )*)(?:├── |└── )(?P<name>[^\s/]+)/")
# Not part of the repository when git is unavailable and the file system is read instead.
LOCAL_ONLY = {".git", ".venv", ".pytest_cache", ".ruff_cache", ".mypy_cache", "__pycache__", "build", "dist"}


def layout_tree(readme: str) -> list[str]:
    """The lines of the first fenced block after the `## Layout` heading."""
    section = readme.split("\n## Layout\n", 1)[1]
    block = section.split("```", 2)[1]
    return block.splitlines()[1:]


def listed(tree: list[str]) -> tuple[set[str], set[str]]:
    """(the top-level folders, the folders listed under failure_handlers/)."""
    top, packages, parent = set(), set(), None
    for line in tree:
        match = TREE_ENTRY.match(line)
        if not match:
            continue
        depth, name = len(match["indent"]) // 4, match["name"]
        if depth == 0:
            top.add(name)
            parent = name
        elif depth == 1 and parent == LIBRARY:
            packages.add(name)
    return top, packages


def tracked_top_level_folders() -> set[str]:
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        files = subprocess.run([git, "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
        return {path.split("/", 1)[0] for path in files.splitlines() if "/" in path}
    return {
        path.name
        for path in ROOT.iterdir()
        if path.is_dir() and path.name not in LOCAL_ONLY and not path.name.endswith(".egg-info")
    }


def library_packages() -> set[str]:
    return {path.parent.name for path in (ROOT / LIBRARY).glob("*/__init__.py")}


def test_the_layout_lists_exactly_the_top_level_folders():
    top, _ = listed(layout_tree((ROOT / "README.md").read_text(encoding="utf-8")))
    assert top == tracked_top_level_folders()


def test_the_layout_lists_exactly_the_packages_of_the_library():
    _, packages = listed(layout_tree((ROOT / "README.md").read_text(encoding="utf-8")))
    assert packages == library_packages()


def test_the_tree_is_read_by_depth():
    tree = [
        ".",
        "├── docs/        the manuals",
        "├── failure_handlers/   the library",
        "│   ├── dlq/     the DLQ",
        "│   └── web/     the dashboard",
        "└── tests/       unit/, integration/",
        "    └── unit/",
    ]
    assert listed(tree) == ({"docs", "failure_handlers", "tests"}, {"dlq", "web"})
