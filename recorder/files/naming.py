"""File names built from outside input, made safe.

- Game files: ``{YYYYMMDDTHHMMSS}_{8 hex}.game.json`` from the start time (UTC) and the first 8 hex digits
  of the game id's suffix; the id must match ``^\\d{8}-[0-9a-f]{16}$``, else :class:`UnsafePathError`.
- Session files: ``{YYYYMMDDTHHMMSS}_{safe username}_session.json``.
- :func:`safe_name` turns any text (a username) into a name of ASCII letters, digits, ``-`` and ``_``:
  never empty, at most ``max_chars`` + 9 characters, no dots (so no ``..``, no leading dot, no
  extension games), no separators or control characters, no Windows device names. Whenever the text had
  to change, an 8-hex SHA-256 suffix of the original text is appended, so different names that sanitise
  alike (``a/b``, ``a b``, ``a?b``) still get different file names.
- :func:`ensure_inside` resolves a path (following ``..`` and symlinks) and refuses it unless it lies in
  the recordings root.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
import stat
import string
from datetime import datetime
from pathlib import Path

from recorder.files.errors import UnsafePathError
from recorder.files.fields import GAME_ID_RE, normalize_time

MAX_NAME_CHARS = 48
GAME_SUFFIX = ".game.json"
SESSION_SUFFIX = "_session.json"
# the short name, or the full 16-hex one a game takes when another holds its short name
GAME_FILE_RE = re.compile(r"\d{8}T\d{6}_(?:[0-9a-f]{8}|[0-9a-f]{16})\.game\.json", re.ASCII)
SESSION_FILE_RE = re.compile(r"\d{8}T\d{6}_[A-Za-z0-9_-]{1,64}_session\.json", re.ASCII)

_UNSAFE_RUN = re.compile(r"[^A-Za-z0-9_-]+", re.ASCII)
_WINDOWS_DEVICES = frozenset(
    ["CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$"]
    + [f"{prefix}{n}" for prefix in ("COM", "LPT") for n in "0123456789"]
)


def safe_name(text: str, max_chars: int = MAX_NAME_CHARS, empty: str = "unnamed") -> str:
    """A file-name-safe rendering of ``text`` (see the module docstring); deterministic."""
    if not isinstance(text, str):
        raise TypeError(f"expected a str, got {type(text).__name__}")
    if max_chars < 1:
        raise ValueError("max_chars must be >= 1")
    cleaned = _UNSAFE_RUN.sub("-", text).strip("-")[:max_chars].rstrip("-")
    changed = cleaned != text or cleaned.upper() in _WINDOWS_DEVICES
    if not cleaned:  # "" itself included: it must not collide with a user actually named "unnamed"
        cleaned, changed = empty, True
    if changed:
        # surrogatepass: a username with a lone surrogate (legal in JSON text) must still hash.
        digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:8]
        cleaned = f"{cleaned}-{digest}"
    return cleaned


def time_stamp(moment: datetime) -> str:
    """``YYYYMMDDTHHMMSS`` of a time, in UTC (the prefix of every recording file name)."""
    m = normalize_time(moment)
    return f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}{m.second:02d}"


def check_game_id(game_id: object) -> str:
    """The game id itself if it is well formed (``YYYYMMDD-`` + 16 lowercase hex), else UnsafePathError."""
    if not isinstance(game_id, str) or not GAME_ID_RE.fullmatch(game_id):
        raise UnsafePathError(
            f"not a game id (YYYYMMDD-<16 lowercase hex>), refusing to name a file: {game_id!r}"
        )
    return game_id


def game_file_name(game_id: str, start_time: datetime, *, full: bool = False) -> str:
    """``{YYYYMMDDTHHMMSS}_{8 hex}.game.json``; with ``full``, all 16 hex of the id's suffix.

    The full form names the rarer second game whose short name another game already holds (same second,
    same first 8 hex).
    """
    suffix = check_game_id(game_id).split("-", 1)[1]
    return f"{time_stamp(start_time)}_{suffix if full else suffix[:8]}{GAME_SUFFIX}"


def short_key(text: str) -> int | None:
    """The first 8 hex digits of ``text`` (a game id's suffix, or a game file name's part after ``_``) as
    an int: what :func:`game_file_name` puts in a short name. None if there are not 8 hex digits."""
    head = text[:8]
    # int() alone would also take a sign, "0x", spaces or "_": only 8 hex digits make a key (< 2**32)
    return int(head, 16) if len(head) == 8 and all(c in string.hexdigits for c in head) else None


def name_key(name: str) -> int | None:
    """The :func:`short_key` of a game file's name (the part after its first ``_``), or None."""
    parts = name.split("_", 1)
    return short_key(parts[1]) if len(parts) == 2 else None


def session_file_name(username: str, session_start: datetime) -> str:
    """``{YYYYMMDDTHHMMSS}_{safe username}_session.json``."""
    return f"{time_stamp(session_start)}_{safe_name(username)}{SESSION_SUFFIX}"


@functools.lru_cache(maxsize=64)
def _resolved_root(root: Path) -> str:
    """A recordings root, resolved once per process (every file written or indexed resolves against it)."""
    return os.path.realpath(root)


def ensure_inside(root: Path | str, path: Path | str) -> Path:
    """``path`` (absolute, or relative to ``root``) if it resolves to somewhere inside ``root``.

    Raises :class:`UnsafePathError` otherwise. The returned path is ``root``-based, not resolved, so it
    reads like the caller's paths. The root's own resolution is cached (a root is not swapped for a symlink
    while it is being recorded into); the path's is done every time.
    """
    root = Path(root)
    target = Path(path) if Path(path).is_absolute() else root / path  # relative means root-relative
    if root.is_absolute():
        inside = _resolved_root(root)
        resolved = _resolve_below(str(root), inside, str(target))
    else:
        inside = os.path.realpath(root)
        resolved = os.path.realpath(target)
    if resolved != inside and not resolved.startswith(inside.rstrip(os.sep) + os.sep):
        raise UnsafePathError(f"{path} is outside the recordings root {root}")
    return target


def _resolve_below(root: str, inside: str, target: str) -> str:
    """``os.path.realpath(target)`` when ``root`` resolves to ``inside``: only the components below the root
    are looked at (a file is written a few folders down; realpath would lstat every folder from ``/``).
    Any symlink, ``.``, ``..`` or empty component below the root: realpath itself decides."""
    prefix = root.rstrip(os.sep) + os.sep
    if not target.startswith(prefix) or os.altsep:  # not below the root, or Windows: no shortcut
        return os.path.realpath(target)
    rel = target[len(prefix) :]
    parts = rel.split(os.sep)
    if any(part in ("", ".", "..") for part in parts):
        return os.path.realpath(target)
    current = inside
    for part in parts:
        current = os.path.join(current, part)
        try:
            mode = os.lstat(current).st_mode
        except OSError:
            break  # missing (a file about to be written): realpath keeps the rest as it is
        if stat.S_ISLNK(mode):
            return os.path.realpath(target)
    return os.path.join(inside, rel)
