"""Every relative link in README.md and docs/*.md resolves: the file exists, and an `#anchor` names a heading
of the target file under GitHub's rules. External (http, https, mailto) links are not fetched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")
CODE_SPAN = re.compile(r"(`+)(.+?)\1")
# [text](target) and ![alt](target); the text may hold one level of brackets; an optional "title".
LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks (a `# comment` in a shell block is not a heading)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: the rendered text, lowercased, without punctuation but `-` and `_`,
    spaces as `-`."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link renders as its text
    text = CODE_SPAN.sub(r"\2", text)
    text = re.sub(r"<[^>]+>", "", text)  # inline HTML
    text = text.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)  # \w keeps letters (any script), digits and _
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in `path`; a repeated one gets -1, -2, … as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for line in prose_lines(path.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if not match:
            continue
        slug = github_slug(match.group(2))
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        result.add(slug if count == 0 else f"{slug}-{count}")
    return result


def relative_links(path: Path) -> list[str]:
    targets = []
    for line in prose_lines(path.read_text(encoding="utf-8")):
        for target in LINK.findall(CODE_SPAN.sub(lambda m: "x" * len(m.group(0)), line)):
            if not EXTERNAL.match(target):
                targets.append(target)
    return targets


def broken_links(path: Path) -> list[str]:
    """One line per link of `path` that does not resolve: a missing file, or an anchor no heading has."""
    problems = []
    for target in relative_links(path):
        file_part, _, anchor = target.partition("#")
        destination = path.parent / file_part if file_part else path
        if not destination.exists():
            problems.append(f"{target}: no such file, {destination}")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            problems.append(f"{target}: no heading in {destination} has the anchor #{anchor}")
    return problems


@pytest.mark.parametrize("document", DOCUMENTS, ids=lambda path: str(path.relative_to(ROOT)))
def test_every_relative_link_resolves(document):
    assert broken_links(document) == []


def test_the_documents_have_links_to_check():
    assert len(DOCUMENTS) > 2
    assert "docs/operating.md" in relative_links(ROOT / "README.md")


@pytest.mark.parametrize(
    ("heading", "slug"),
    [
        ("Nothing lost: the reconciler", "nothing-lost-the-reconciler"),
        ("At 100,000 entries", "at-100000-entries"),
        ("What `make demo` prints", "what-make-demo-prints"),
        ("The attempt history in `job.meta`", "the-attempt-history-in-jobmeta"),
        ("Metrics (Prometheus)", "metrics-prometheus"),
        ("Workers, Redis restarts, and the scheduler", "workers-redis-restarts-and-the-scheduler"),
        ("Retry-After", "retry-after"),
        ("The table `failed_jobs`", "the-table-failed_jobs"),
        ("See [the archive](docs/archive.md)", "see-the-archive"),
    ],
)
def test_github_slug(heading, slug):
    assert github_slug(heading) == slug


def test_repeated_headings_get_numbered_anchors(tmp_path):
    document = tmp_path / "doc.md"
    document.write_text("# Notes\n\n## Notes\n\n```sh\n# Notes\n```\n\n### Notes\n", encoding="utf-8")
    assert anchors(document) == {"notes", "notes-1", "notes-2"}


def test_a_broken_file_or_anchor_is_reported(tmp_path):
    (tmp_path / "other.md").write_text("# Present\n", encoding="utf-8")
    document = tmp_path / "doc.md"
    document.write_text(
        "[ok](other.md#present) [gone](missing.md) [bad](other.md#absent) [web](https://example.com/x#y)\n"
        "`[in code](missing.md)`\n",
        encoding="utf-8",
    )
    problems = [problem.split(":")[0] for problem in broken_links(document)]
    assert problems == ["missing.md", "other.md#absent"]
