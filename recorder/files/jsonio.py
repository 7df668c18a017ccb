"""Strict JSON reading, deterministic JSON writing and atomic file replacement.

Written form of every recording file: ``json.dumps(doc, indent=2, ensure_ascii=True, allow_nan=False)``
plus one trailing newline, keys in the order the model gives them. Pure ASCII (non-ASCII text such as
usernames is ``\\u``-escaped), so the bytes are the same on every platform and locale.

Reading refuses what ``json.loads`` would let through: ``NaN``/``Infinity``, numbers that overflow to
infinity, duplicate keys, a byte-order mark, invalid UTF-8, and any top level other than an object.

Atomic writes go to a temporary file in the target's directory, named ``.{name}.{unique}.tmp`` (a leading
dot and a ``.tmp`` suffix, so listings of ``*.game.json`` / ``*_session.json`` / ``index.json`` never see
it), which is written, flushed, fsynced and renamed over the target with ``os.replace``; then the
directory is fsynced (at once, or, for a batch of writes, once per directory at the end of the batch:
:mod:`recorder.files.batch`). A crash leaves either the old or the new file, plus at worst a stray
temporary file that :func:`cleanup_temp_files` removes.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import secrets
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, BinaryIO

from recorder.files.errors import RecordingFormatError

_encode_str = json.encoder.encode_basestring_ascii  # the C encoder when available, as json.dumps uses

TEMP_SUFFIX = ".tmp"


class _JsonProblem(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for key, value in pairs:
        if key in obj:
            raise _JsonProblem(f"duplicate key {key!r}")
        obj[key] = value
    return obj


def _constant(name: str) -> Any:
    raise _JsonProblem(f"{name} is not a JSON number")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise _JsonProblem(f"number out of range: {text[:40]}")
    return value


def loads_document(data: bytes, path: Path | str | None = None) -> dict[str, Any]:
    """Parse a file's bytes strictly into a JSON object; raises :class:`RecordingFormatError`."""
    if not data:
        raise RecordingFormatError(path, None, "empty file")
    if data.startswith(b"\xef\xbb\xbf"):
        raise RecordingFormatError(path, None, "invalid JSON: starts with a byte-order mark")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise RecordingFormatError(path, None, f"not UTF-8 text (byte {exc.start})") from None
    try:
        doc = json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise RecordingFormatError(path, None, f"invalid JSON: {exc}") from None
    except _JsonProblem as exc:
        raise RecordingFormatError(path, None, f"invalid JSON: {exc}") from None
    except (ValueError, RecursionError) as exc:  # e.g. integers beyond the digit limit, absurd nesting
        raise RecordingFormatError(path, None, f"invalid JSON: {type(exc).__name__}: {exc}") from None
    if not isinstance(doc, dict):
        kind = "array" if isinstance(doc, list) else type(doc).__name__
        raise RecordingFormatError(path, None, f"expected a JSON object at the top level, got {kind}")
    return doc


def read_document(path: Path | str) -> dict[str, Any]:
    """Read and strictly parse a JSON file (``OSError`` if it cannot be read at all)."""
    path = Path(path)
    return loads_document(path.read_bytes(), path)


def dumps_document(doc: Any) -> bytes:
    """The deterministic bytes of a document (see the module docstring).

    Byte for byte what ``json.dumps(doc, indent=2, ensure_ascii=True, allow_nan=False) + "\\n"`` gives
    (property-tested), several times faster: with ``indent`` the standard library encodes in pure Python,
    one generator step per value, where this joins whole arrays of strings (a game's prices) in C. Anything
    unusual (a key that is not a string, a circular or absurdly deep document) goes to ``json.dumps``
    itself, which then gives its own answer.
    """
    try:
        text = _encode(doc, "\n")
    except (_Unusual, RecursionError):
        text = json.dumps(doc, indent=2, ensure_ascii=True, allow_nan=False)
    return (text + "\n").encode("ascii")


def dumps_at(value: Any, depth: int) -> str:
    """``value`` as :func:`dumps_document` writes it when it sits ``depth`` levels deep in a document (no
    trailing newline), so that a writer can keep parts of a document encoded and join them later."""
    try:
        return _encode(value, "\n" + "  " * depth)
    except _Unusual:
        raise ValueError(f"not a plain JSON value: {type(value).__name__}") from None


class _Unusual(Exception):
    pass


def _encode(value: Any, newline: str) -> str:
    """``value`` as ``json.dumps(..., indent=2, ensure_ascii=True, allow_nan=False)`` writes it at the depth
    whose line break (with its indentation) is ``newline``; the order of the type checks is json's."""
    if isinstance(value, str):
        return _encode_str(value)
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return int.__repr__(value)
    if isinstance(value, float):
        if value != value or value in (math.inf, -math.inf):
            raise ValueError("Out of range float values are not JSON compliant: " + float.__repr__(value))
        return float.__repr__(value)
    inner = newline + "  "
    if isinstance(value, list | tuple):
        if not value:
            return "[]"
        try:
            items = list(map(_encode_str, value))  # the common case: all strings, encoded in C
        except TypeError:
            items = [_encode(item, inner) for item in value]
        return "[" + inner + ("," + inner).join(items) + newline + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        parts = []
        for key, item in value.items():
            if not isinstance(key, str):
                raise _Unusual  # json turns such keys into strings: let it
            parts.append(_encode_str(key) + ": " + _encode(item, inner))
        return "{" + inner + ("," + inner).join(parts) + newline + "}"
    raise _Unusual  # not JSON: json.dumps raises its TypeError


def is_temp_file(path: Path | str) -> bool:
    """True for the temporary files of :func:`atomic_write_bytes` (``.{name}.{unique}.tmp``)."""
    name = Path(path).name
    return name.startswith(".") and name.endswith(TEMP_SUFFIX)


def fsync_dir(directory: Path | str) -> None:
    """Make a directory's entries (a rename, a new file) durable; a no-op where unsupported."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:  # e.g. Windows cannot open directories
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dir(directory: Path, sync: Callable[[Path], None] = fsync_dir) -> None:
    """``mkdir -p`` that also makes each newly created directory's entry durable: ``sync`` is called with
    the parent of each (``fsync_dir``, or a batch's :class:`~recorder.files.batch.DirSyncer` that owes it)."""
    if directory.is_dir():  # the usual case: nothing to create
        return
    missing: list[Path] = []
    current = directory
    while not current.exists():
        missing.append(current)
        if current.parent == current:
            break
        current = current.parent
    directory.mkdir(parents=True, exist_ok=True)
    for created in reversed(missing):
        sync(created.parent)


FileStamp = tuple[int, int, int, int, int]
"""A file's identity and version: (device, inode, size, mtime_ns, ctime_ns), from ``lstat``. A rewrite, an
edit, a replacement (a rename over it, a symlink in its place) all change it."""


def file_stamp(path: Path | str) -> FileStamp | None:
    """The :data:`FileStamp` of ``path`` (not following a symlink), or None if it cannot be had."""
    try:
        st = os.lstat(path)
    except OSError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)


def atomic_write_bytes(path: Path | str, data: bytes, *, sync_dir: bool = True) -> FileStamp | None:
    """Replace ``path`` with ``data`` atomically and durably (see the module docstring).

    The directory must exist. On any error the temporary file is removed and the old file is untouched.
    ``sync_dir=False`` leaves the directory's fsync to the caller (:mod:`recorder.files.batch`), who then
    must do it before calling the write durable. Returns the stamp of the file written (None if another
    process replaced it at once), with which a cache can later tell that the file is still the one written.
    """
    path = Path(path)
    tmp, fd = write_temp(path, data)
    try:
        os.fsync(fd)
    except BaseException:
        discard_temp(tmp, fd)
        raise
    stamp = install_temp(tmp, fd, path, len(data))
    if sync_dir:
        fsync_dir(path.parent)
    return stamp


# atomic_write_bytes in three steps, for a batch that fsyncs its temporary files together
# (recorder.files.batch): write_temp, then os.fsync of its descriptor, then install_temp (or discard_temp).
# Plain system calls on the descriptor (no file object: its fstat, isatty and seek are three more).
def write_temp(path: Path, data: bytes) -> tuple[Path, int]:
    """A new temporary file beside ``path`` holding ``data`` (not yet fsynced), and its open descriptor."""
    tmp, fd = _create_temp(path)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    except BaseException:
        discard_temp(tmp, fd)
        raise
    return tmp, fd


def discard_temp(tmp: Path, fd: int) -> None:
    """Close and remove a temporary file of :func:`write_temp` (after a failure)."""
    with contextlib.suppress(OSError):
        os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def install_temp(tmp: Path, fd: int, path: Path, size: int) -> FileStamp | None:
    """Rename a temporary file of :func:`write_temp`, fsynced, over ``path`` (closing its descriptor);
    returns the new file's stamp as :func:`atomic_write_bytes` does. On error the temporary file is
    removed."""
    try:
        try:
            st = os.fstat(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    stamp = file_stamp(path)
    return stamp if stamp is not None and stamp[:3] == (st.st_dev, st.st_ino, size) else None


# Temporary names: random per process, then counted (a random name per file cost a getrandom call each).
_TEMP_TAG = secrets.token_hex(4)
_temp_numbers = itertools.count()


def _create_temp(path: Path) -> tuple[Path, int]:
    """A new temporary file beside ``path`` (module docstring), open for writing."""
    while True:
        tmp = path.parent / f".{path.name}.{_TEMP_TAG}{next(_temp_numbers):x}{TEMP_SUFFIX}"
        try:
            # 0o666 minus the umask, like an ordinary new file (mkstemp would make it owner-only).
            return tmp, os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:  # e.g. a process forked from this one, counting from the same place
            continue


def atomic_write_chunks(path: Path | str, chunks: Iterable[bytes]) -> bool:
    """Replace ``path`` atomically and durably with the concatenated ``chunks``, unless it already holds
    exactly those bytes; returns whether it was replaced. Written and compared piece by piece, so that a
    large document (a busy day's index) is never whole in memory."""
    path = Path(path)
    tmp, fd = _create_temp(path)
    try:
        with os.fdopen(fd, "wb") as out, contextlib.ExitStack() as stack:
            try:
                old: BinaryIO | None = stack.enter_context(open(path, "rb"))
            except OSError:
                old = None
            same = old is not None
            for chunk in chunks:
                out.write(chunk)
                if same and old is not None and old.read(len(chunk)) != chunk:
                    same = False
            if same and old is not None and old.read(1):
                same = False
            if not same:
                out.flush()
                os.fsync(out.fileno())
        if same:
            os.unlink(tmp)
            return False
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
    return True


def write_document(path: Path | str, doc: Any) -> bytes:
    """Write a JSON document atomically in the deterministic form; returns the bytes written."""
    data = dumps_document(doc)
    atomic_write_bytes(path, data)
    return data


def cleanup_temp_files(directory: Path | str, min_age_seconds: float = 60.0) -> list[Path]:
    """Remove stray temporary files left by a crash, anywhere below ``directory``.

    Only files older than ``min_age_seconds`` are removed, so a write in progress elsewhere is spared.
    Returns the removed paths.
    """
    removed: list[Path] = []
    now = time.time()
    for root, _dirs, files in os.walk(directory):
        for name in files:
            candidate = Path(root) / name
            if not is_temp_file(candidate):
                continue
            try:
                if now - candidate.stat().st_mtime >= min_age_seconds:
                    candidate.unlink()
                    removed.append(candidate)
            except FileNotFoundError:  # another cleaner or the writer got there first
                continue
    return sorted(removed)
