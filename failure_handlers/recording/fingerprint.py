"""Failure groups: the same bug gets the same short fingerprint, two different bugs get two.

fingerprint = sha1(exception type + normalised message + innermost frame of the project's code)[:12].
Normalising replaces what varies between occurrences of one bug (numbers, UUIDs, hex ids and
addresses, quoted values, URLs' hosts and ports) with placeholders. Pure code: no Redis, no RQ.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import sysconfig
from collections.abc import Sequence
from pathlib import PurePath
from types import TracebackType

FINGERPRINT_LENGTH = 12
MAX_NORMALISED_CHARS = 500

# (pattern, placeholder, the characters one of which any match holds: absent, the pattern is not run,
# as a scan for a character costs a tenth of a regular expression's pass over the message)
_PATTERNS = [
    (re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"), "<uuid>", ("-",)),
    (re.compile(r"\b0x[0-9a-fA-F]+\b"), "<addr>", ("0x",)),
    (re.compile(r"\b[0-9a-fA-F]{16,}\b"), "<hex>", ()),
    (re.compile(r"'[^']*'|\"[^\"]*\""), "<str>", ("'", '"')),
    (re.compile(r"\d+(\.\d+)?"), "<n>", ()),
]
_LIBRARY_DIRS = tuple({sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")})
_LIBRARY_MARKERS = ("site-packages", "dist-packages", "<frozen ")


def normalise_message(message: str) -> str:
    """The message with varying parts replaced, so occurrences of one bug compare equal."""
    text = message[:MAX_NORMALISED_CHARS]
    for pattern, placeholder, needs in _PATTERNS:
        if not needs or any(literal in text for literal in needs):
            text = pattern.sub(placeholder, text)
    return " ".join(text.split())


@functools.lru_cache(maxsize=4096)
def is_project_file(filename: str) -> bool:
    """True for the application's own files (not the standard library or installed packages).

    Cached: a worker sees the same few files in every traceback (the handler's hot path).
    """
    if any(marker in filename for marker in _LIBRARY_MARKERS):
        return False
    return not filename.startswith(_LIBRARY_DIRS)


def innermost_project_frame(frames: Sequence[tuple[str, str]]) -> str:
    """`file.py:function` of the last (innermost) frame in project code, or '' if there is none.

    Only the file's name is used, so one bug deployed under different paths keeps its group.
    """
    for filename, function in reversed(frames):
        if is_project_file(filename):
            return f"{_file_name(filename)}:{function}"
    return ""


@functools.lru_cache(maxsize=4096)
def _file_name(path: str) -> str:
    """`PurePath(path).name`. A code object's file (`/dir/module.py`) is cut at its last `/` instead
    on POSIX: the work-horse that sees it first is a fresh fork each time, where building its first
    `PurePath` cost ~150 µs and ~50 page faults (pathlib's parsing). Anything else goes to pathlib."""
    _, separator, name = path.rpartition("/")
    if separator and name not in ("", ".") and os.sep == "/" and os.altsep is None:
        return name
    return PurePath(path).name


def frames_of(tb: TracebackType | None) -> list[tuple[str, str]]:
    """(file, function) per frame, outermost first, as `traceback.extract_tb` names them.

    Walks the frames' code objects directly: no source lines are read (extract_tb would stat and
    read every file again, after the handler has just formatted the same traceback).
    """
    frames = []
    while tb is not None:  # `traceback.walk_tb`, without its generator (a third of this walk's cost)
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, code.co_name))
        tb = tb.tb_next
    return frames


try:  # CPython's own SHA-1 (HACL*): the same digest as hashlib's, without loading OpenSSL's (in a freshly
    # forked work-horse, hashlib's first SHA-1 cost 26 page faults and 74 µs, this one 11 and 29 µs)
    from _sha1 import sha1 as _sha1  # type: ignore[import-not-found,unused-ignore]
except ImportError:  # another interpreter, or a build without it
    _sha1 = hashlib.sha1


_TRACEBACK_FRAME = re.compile(r'^\s*File "(?P<file>[^"]+)", line \d+, in (?P<func>\S+)', re.MULTILINE)


def frames_from_text(traceback_text: str) -> list[tuple[str, str]]:
    """Frames parsed from a formatted traceback (for failures known only as text)."""
    return [(match["file"], match["func"]) for match in _TRACEBACK_FRAME.finditer(traceback_text)]


def fingerprint(exc_type: str, message: str, origin: str) -> str:
    text = "\n".join((exc_type, normalise_message(message), origin))
    digest: str = _sha1(text.encode("utf-8", errors="replace")).hexdigest()
    return digest[:FINGERPRINT_LENGTH]
