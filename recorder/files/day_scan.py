"""One day folder's files as index entries, scanned lazily (the index itself is built in ``index``).

:class:`DayScan` lists a day's game and session file *names* and yields each file's entry one at a time:
the known text (:class:`KnownFile`, while the file keeps the stamp its writer saw) or an entry read from the
file now. Files that cannot be indexed are collected as excluded, with the reason. No Python object is held
per file: the sorted names are one numpy block (freed whole), and game ids are remembered (to refuse a
second file of a game) only for the rare names that share their id's short suffix. A rebuild of a day of
thousands of games used to hold every entry, path and text at once: the recorder rebuilds its day's index
every 30 s, and Python's allocator kept each rebuild's peak, so its memory grew with the day's games.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recorder.files.errors import RecordingFormatError, UnsafePathError
from recorder.files.game import GameRecording
from recorder.files.index_model import ExcludedFile, IndexGameEntry, IndexSessionEntry
from recorder.files.jsonio import FileStamp, dumps_at, file_stamp
from recorder.files.layout import GAMES_DIR, SESSIONS_DIR, RecordingsLayout, is_listed
from recorder.files.naming import GAME_SUFFIX, SESSION_SUFFIX, ensure_inside, name_key
from recorder.files.session import SessionRecording


@dataclass(frozen=True)
class FileProblem:
    """A file left out of the index, and why (``error`` names the file and the field)."""

    path: Path
    error: str


@dataclass(frozen=True, slots=True)
class KnownFile:
    """A file's index entry known by its writer, valid while the file has ``stamp`` (module docstring):
    ``text`` is the entry as ``index.json`` holds it (:func:`entry_text`), ``game_id`` is set for a game."""

    stamp: FileStamp
    file: str  # relative to the day folder
    text: str
    game_id: str | None = None


ENTRY_DEPTH = 2  # an entry's depth in index.json: {"games": [entry, ...]}


def entry_text(entry: IndexGameEntry | IndexSessionEntry | ExcludedFile) -> str:
    """An entry encoded as it appears in ``index.json``."""
    return dumps_at(entry.to_file_dict(), ENTRY_DEPTH)


def rel_path(day_dir: Path, path: Path) -> str:
    return path.relative_to(day_dir).as_posix()


def _short_error(exc: Exception) -> str:
    if isinstance(exc, RecordingFormatError):
        return f"{exc.field}: {exc.detail}" if exc.field else exc.detail
    return str(exc)


def read_checked(layout: RecordingsLayout, path: Path, kind: type) -> tuple[bytes, object]:
    """Read a listed file: a regular file inside the root, valid, and at the place its content names.

    Raises ``RecordingFormatError`` (invalid content), ``UnsafePathError`` (outside the root, not a regular
    file, misplaced) or ``OSError``.
    """
    ensure_inside(layout.root, path)  # a symlink may point elsewhere in the root, never outside it
    if not path.is_file():
        raise UnsafePathError("not a regular file")
    data = path.read_bytes()
    doc = kind.from_json_bytes(data, path)
    places = layout.game_paths(doc) if isinstance(doc, GameRecording) else (layout.session_path(doc),)
    wheres = [place.relative_to(layout.root).as_posix() for place in places]
    if path.relative_to(layout.root).as_posix() not in wheres:
        raise UnsafePathError(f"misplaced: its content belongs at {wheres[0]}")
    return data, doc


def game_entry(game: GameRecording, file: str, size: int) -> IndexGameEntry:
    """The index entry of a game file (``file``: its path relative to the day folder; ``size``: bytes)."""
    meta = game.meta
    return IndexGameEntry(
        file=file,
        game_id=meta.game_id,
        start_time=meta.start_time,
        duration_ticks=meta.duration_ticks,
        peak_multiplier=meta.peak_multiplier,
        end_time=meta.end_time,
        rug_price=game.rug_price,
        verified=meta.verified,
        size=size,
    )


def session_entry(session: SessionRecording, file: str, size: int) -> IndexSessionEntry:
    """The index entry of a session file (as :func:`game_entry`)."""
    meta = session.meta
    return IndexSessionEntry(
        file=file,
        player_id=meta.player_id,
        username=meta.username,
        games_played=session.games_played,
        total_actions=len(session.actions),
        session_start=meta.session_start,
        session_end=meta.session_end,
        game_ids=session.game_ids,
        size=size,
    )


def known_file(path: Path, stamp: FileStamp, doc: GameRecording | SessionRecording) -> KnownFile:
    """What a writer remembers of the file it has just written at ``path`` (``day/games/...``)."""
    file = path.relative_to(path.parent.parent).as_posix()
    if isinstance(doc, GameRecording):
        return KnownFile(stamp, file, entry_text(game_entry(doc, file, stamp[2])), doc.meta.game_id)
    return KnownFile(stamp, file, entry_text(session_entry(doc, file, stamp[2])))


Known = Mapping[str, KnownFile]
Item = tuple[str | IndexGameEntry | IndexSessionEntry, str | None]  # (known text or new entry, game id)


def _known_hit(known: Known | None, path: Path, file: str, game: bool) -> KnownFile | None:
    """The known entry of ``path`` if the file is still the one its writer wrote, else None."""
    hit = known.get(str(path)) if known is not None else None  # not `if known`: a store's len() is a query
    if hit is None or hit.file != file or (hit.game_id is not None) != game:
        return None
    return hit if file_stamp(path) == hit.stamp else None


def _sorted_names(directory: Path, suffix: str) -> np.ndarray:
    """Names of the files ending in ``suffix`` directly in ``directory`` (dot files, temporaries, skipped),
    encoded (``os.fsencode``) and sorted: as ``RecordingsLayout.game_files`` orders them (bytewise order of
    UTF-8 is code point order), but in one numpy block instead of an object per name."""
    names = np.empty(256, dtype="S48")
    count = 0
    try:
        with os.scandir(directory) as entries:
            for entry in entries:
                if not is_listed(entry.name, suffix):
                    continue
                raw = os.fsencode(entry.name)  # a file name holds no NUL: the padding is never ambiguous
                if len(raw) > names.itemsize:
                    names = names.astype(f"S{max(len(raw), 2 * names.itemsize)}")
                if count == len(names):
                    names = np.concatenate([names, np.empty_like(names)])
                names[count] = raw
                count += 1
    except (FileNotFoundError, NotADirectoryError):
        pass
    names = names[:count].copy()
    names.sort()
    return names


def _int_key(name: str) -> int:
    """The name's short key (:func:`recorder.files.naming.name_key`), -1 for none (numpy holds ints)."""
    key = name_key(name)
    return -1 if key is None else key


def _shared_keys(names: np.ndarray) -> set[int]:
    """The short keys (-1: none) that more than one name carries. Two files of one game id carry the same
    key (a file is at the path its id names, or excluded), so only those names need their ids remembered."""
    keys = np.fromiter((_int_key(os.fsdecode(n)) for n in names), dtype=np.int64, count=len(names))
    values, counts = np.unique(keys, return_counts=True)
    return {int(v) for v in values[counts > 1]}


@dataclass
class DayScan:
    """A day folder's files, each as its entry (known text, or a model read now) or as excluded.

    Iterate :meth:`games`, then :meth:`sessions` (each once); :attr:`excluded` and :attr:`problems` are
    complete after both, and :attr:`games_count` / :attr:`sessions_count` count the entries yielded."""

    day_dir: Path
    layout: RecordingsLayout
    known: Known | None = None
    excluded: list[ExcludedFile] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)
    games_count: int = 0
    sessions_count: int = 0

    def _exclude(self, path: Path, exc: Exception) -> None:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        error = str(exc) if isinstance(exc, RecordingFormatError) else f"{path}: {exc}"
        self.problems.append(FileProblem(path, error))
        self.excluded.append(
            ExcludedFile(file=rel_path(self.day_dir, path), size=size, error=_short_error(exc))
        )

    def _read(
        self, subdir: str, raw: bytes, kind: type[GameRecording] | type[SessionRecording]
    ) -> tuple[str, Item] | None:
        """One listed file's name and entry (known, or read now), or None once it has been excluded."""
        name = os.fsdecode(raw)
        path, file = self.day_dir / subdir / name, f"{subdir}/{name}"
        try:
            hit = _known_hit(self.known, path, file, game=kind is GameRecording)
            if hit is not None:
                return name, (hit.text, hit.game_id)
            data, doc = read_checked(self.layout, path, kind)
        except (RecordingFormatError, UnsafePathError, OSError) as exc:
            self._exclude(path, exc)
            return None
        if isinstance(doc, GameRecording):
            return name, (game_entry(doc, file, len(data)), doc.meta.game_id)
        assert isinstance(doc, SessionRecording)
        return name, (session_entry(doc, file, len(data)), None)

    def games(self) -> Iterator[Item]:
        """Each game file's entry, in name (time) order; a second file of a game id is excluded."""
        names = _sorted_names(self.day_dir / GAMES_DIR, GAME_SUFFIX)
        shared = _shared_keys(names)
        seen: dict[str, str] = {}  # game id -> its file's name, for the names of a shared key only
        for raw in names:
            read = self._read(GAMES_DIR, raw, GameRecording)
            if read is None:
                continue
            name, item = read
            game_id = item[1]
            assert game_id is not None
            if game_id in seen:
                duplicate = f"duplicate of game {game_id} in {GAMES_DIR}/{seen[game_id]}"
                self._exclude(self.day_dir / GAMES_DIR / name, UnsafePathError(duplicate))
                continue
            if shared and _int_key(name) in shared:
                seen[game_id] = name
            self.games_count += 1
            yield item

    def sessions(self) -> Iterator[Item]:
        """Each session file's entry, in name order."""
        for raw in _sorted_names(self.day_dir / SESSIONS_DIR, SESSION_SUFFIX):
            read = self._read(SESSIONS_DIR, raw, SessionRecording)
            if read is not None:
                self.sessions_count += 1
                yield read[1]
