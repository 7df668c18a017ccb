"""Where recordings live, and reading and writing them.

::

    {root}/                              e.g. recordings/ or datasets/sample/
      YYYY-MM-DD/                        the UTC date of the game's or session's start
        games/{YYYYMMDDTHHMMSS}_{8 hex}.game.json
        sessions/{YYYYMMDDTHHMMSS}_{safe username}_session.json
        index.json                       a cache, rebuilt from the files (recorder.files.index)

Recorders write through :meth:`RecordingsLayout.write_game` / :meth:`RecordingsLayout.write_session`
(path from the content, checked to stay in the root, atomic, never replacing a *different* game or
session); :meth:`RecordingsLayout.store_game` / :meth:`RecordingsLayout.store_session` do the same and also
return the file's stamp (for an index built without reading the file back), or hand the write to a
:class:`~recorder.files.batch.WriteBatch` (ingest: files landed in rounds, folders fsynced once).
Anything reads a single file with :func:`read_game` / :func:`read_session`, and walks a root with
:meth:`RecordingsLayout.iter_games` / :meth:`RecordingsLayout.iter_sessions`. Temporary files
(``.*.tmp``) and other dot files are never listed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TypeVar

import msgspec

from recorder.files.batch import Done, WriteBatch
from recorder.files.errors import RecordingConflictError, RecordingFormatError
from recorder.files.fields import format_day, parse_day
from recorder.files.game import GameMeta, GameRecording
from recorder.files.jsonio import FileStamp, atomic_write_bytes, cleanup_temp_files, ensure_dir
from recorder.files.naming import (
    GAME_SUFFIX,
    SESSION_SUFFIX,
    check_game_id,
    ensure_inside,
    game_file_name,
    session_file_name,
)
from recorder.files.session import ActionTexts, SessionMeta, SessionRecording

GAMES_DIR = "games"
SESSIONS_DIR = "sessions"
INDEX_NAME = "index.json"
_DAY_RE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)

OnError = Callable[[Path, RecordingFormatError], None]
Meta = TypeVar("Meta", GameMeta, SessionMeta)


@dataclass(frozen=True, slots=True)
class Written:
    """A file just written: where, and its stamp (None if another process replaced it at once, or if the
    write was handed to a batch: its ``done`` gets the stamp)."""

    path: Path
    stamp: FileStamp | None


def read_game(path: Path | str) -> GameRecording:
    """Read a game file strictly (:class:`RecordingFormatError` for any format problem, ``OSError`` if
    it cannot be read)."""
    path = Path(path)
    return GameRecording.from_json_bytes(path.read_bytes(), path)


def read_session(path: Path | str) -> SessionRecording:
    """Read a session file strictly (as :func:`read_game`)."""
    path = Path(path)
    return SessionRecording.from_json_bytes(path.read_bytes(), path)


class _MetaOnly(msgspec.Struct):
    meta: msgspec.Raw


_META_ONLY = msgspec.json.Decoder(_MetaOnly)


def _read_meta(path: Path, kind: type[Meta], batch: WriteBatch | None) -> Meta:
    """The ``meta`` of a game or session file, as it is or as the batch will leave it: all a conflict check
    needs. The rest (a game's prices, a session's actions: most of the bytes) is skipped unparsed: a session
    file is rewritten as it grows, and reading it whole each time cost as much as writing it."""
    data = batch.read_bytes(path) if batch is not None else path.read_bytes()
    try:
        meta = _META_ONLY.decode(data).meta
    except msgspec.DecodeError as exc:
        raise RecordingFormatError(path, None, f"not a recording file ({exc})") from None
    return kind.from_json_bytes(bytes(meta), path)


def write_game_file(path: Path | str, game: GameRecording) -> Path:
    """Write a game to an explicit path, atomically. Recorders use :meth:`RecordingsLayout.write_game`."""
    path = Path(path)
    atomic_write_bytes(path, _bytes_for(path, game))
    return path


def write_session_file(path: Path | str, session: SessionRecording) -> Path:
    """Write a session to an explicit path, atomically (see :func:`write_game_file`)."""
    path = Path(path)
    atomic_write_bytes(path, _bytes_for(path, session))
    return path


def _bytes_for(path: Path, doc: GameRecording | SessionRecording, texts: ActionTexts | None = None) -> bytes:
    try:
        return doc.to_json_bytes(texts) if isinstance(doc, SessionRecording) else doc.to_json_bytes()
    except RecordingFormatError as exc:
        raise exc.with_path(path) from None


def is_day_dir(path: Path | str) -> bool:
    """True for an existing directory named ``YYYY-MM-DD`` with a valid date."""
    path = Path(path)
    if not _DAY_RE.fullmatch(path.name) or not path.is_dir():
        return False
    try:
        parse_day(path.name)
    except ValueError:
        return False
    return True


def is_listed(name: str, suffix: str) -> bool:
    """Whether a file ``name`` is listed among those ending in ``suffix`` (dot files are temporaries)."""
    return name.endswith(suffix) and not name.startswith(".")


def _listing(directory: Path, suffix: str) -> list[Path]:
    """Files ending in ``suffix`` directly in ``directory``, sorted (:func:`is_listed`)."""
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if is_listed(p.name, suffix))


class RecordingsLayout:
    """The recordings tree under ``root`` (see the module docstring)."""

    def __init__(self, root: Path | str) -> None:
        # absolute once, so that every path built from it is unambiguous (a relative root would otherwise be
        # joined to the root-based paths again by ensure_inside, which reads relative paths as root-relative)
        self.root = Path(root).absolute()

    def __repr__(self) -> str:
        return f"RecordingsLayout({str(self.root)!r})"

    # -- paths --

    def day_dir(self, day: date) -> Path:
        """``{root}/YYYY-MM-DD``."""
        return self.root / format_day(day)

    def index_path(self, day: date) -> Path:
        return self.day_dir(day) / INDEX_NAME

    def game_path(self, game: GameRecording | GameMeta, *, full: bool = False) -> Path:
        """Where a game belongs: its start date's folder, named from its start time and id (the short name;
        ``full``: the 16-hex name a game takes when another game already holds its short name)."""
        return ensure_inside(self.root, self._game_place(game, full))

    def game_paths(self, game: GameRecording | GameMeta) -> tuple[Path, Path]:
        """The two places a game may be: its short name and its full (collision) name."""
        return self.game_path(game), self.game_path(game, full=True)

    def session_path(self, session: SessionRecording | SessionMeta) -> Path:
        """Where a session belongs: its start date's folder, named from its start time and username."""
        return ensure_inside(self.root, self._session_place(session))

    def _game_place(self, game: GameRecording | GameMeta, full: bool = False) -> Path:
        """:meth:`game_path` before the check that it stays inside the root."""
        meta = game.meta if isinstance(game, GameRecording) else game
        return self.day_dir(meta.day) / GAMES_DIR / game_file_name(meta.game_id, meta.start_time, full=full)

    def _session_place(self, session: SessionRecording | SessionMeta) -> Path:
        """:meth:`session_path` before the check that it stays inside the root."""
        meta = session.meta if isinstance(session, SessionRecording) else session
        return self.day_dir(meta.day) / SESSIONS_DIR / session_file_name(meta.username, meta.session_start)

    # -- listing --

    def days(self) -> list[Path]:
        """The day folders under the root, oldest first."""
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if is_day_dir(p))

    def game_files(self, day_dir: Path | None = None) -> list[Path]:
        """Game files of one day folder, or of every day when ``day_dir`` is None; in time order."""
        days = [Path(day_dir)] if day_dir is not None else self.days()
        return [p for d in days for p in _listing(d / GAMES_DIR, GAME_SUFFIX)]

    def session_files(self, day_dir: Path | None = None) -> list[Path]:
        """Session files of one day folder, or of every day; in time order within a day."""
        days = [Path(day_dir)] if day_dir is not None else self.days()
        return [p for d in days for p in _listing(d / SESSIONS_DIR, SESSION_SUFFIX)]

    def iter_games(self, on_error: OnError | None = None) -> Iterator[GameRecording]:
        """Every game under the root, oldest first.

        A file that breaks the format raises :class:`RecordingFormatError`, unless ``on_error`` is given:
        then it is called with the path and the error, and the file is skipped.
        """
        for path in self.game_files():
            try:
                yield read_game(path)
            except RecordingFormatError as exc:
                if on_error is None:
                    raise
                on_error(path, exc)

    def iter_sessions(self, on_error: OnError | None = None) -> Iterator[SessionRecording]:
        """Every session under the root, oldest day first (errors as in :meth:`iter_games`)."""
        for path in self.session_files():
            try:
                yield read_session(path)
            except RecordingFormatError as exc:
                if on_error is None:
                    raise
                on_error(path, exc)

    def find_game(self, game_id: str) -> Path | None:
        """The file of game ``game_id`` anywhere under the root, or None."""
        suffix = check_game_id(game_id).split("-", 1)[1]
        names = (f"_{suffix[:8]}{GAME_SUFFIX}", f"_{suffix}{GAME_SUFFIX}")
        for path in self.game_files():
            if path.name.endswith(names) and read_game(path).meta.game_id == game_id:
                return path
        return None

    # -- writing --

    def write_game(self, game: GameRecording, *, overwrite: bool = False) -> Path:
        """Write ``game`` where it belongs, atomically; returns the path (see :meth:`store_game`)."""
        return self.store_game(game, overwrite=overwrite).path

    def store_game(
        self,
        game: GameRecording,
        *,
        overwrite: bool = False,
        batch: WriteBatch | None = None,
        done: Done | None = None,
    ) -> Written:
        """Write ``game`` where it belongs, atomically; returns where and the file's stamp.

        An existing file for the same game id is replaced (e.g. once the seed has verified it). When a
        *different* game holds the short name (same second, same first 8 hex), the game takes its full
        16-hex name. A file in the way whose ``meta`` does not read raises
        :class:`RecordingConflictError` unless ``overwrite`` is true. With ``batch``, the write is queued
        there (``done`` is called when it has landed), and the files it still holds count as written; the
        file's place is then checked (inside the root, :class:`UnsafePathError` otherwise) and its folder
        made by the batch, just before it writes (when it lands its round of writes), and an error comes to
        ``done``.
        """
        if batch is not None:
            short, full = self._game_place(game), self._game_place(game, True)
        else:
            short, full = self.game_paths(game)
        path = short
        exists = batch.exists if batch is not None else Path.exists
        if exists(full):
            path = full  # the game already lives under its full name
        elif exists(short) and not overwrite:
            try:
                existing = _read_meta(short, GameMeta, batch).game_id
            except (RecordingFormatError, OSError) as exc:
                raise RecordingConflictError(
                    f"{short} exists and is not a readable game file ({exc})"
                ) from None
            if existing != game.meta.game_id:
                path = full
        return self._store(path, _bytes_for(path, game), batch, done)

    def _store(self, path: Path, data: bytes, batch: WriteBatch | None, done: Done | None) -> Written:
        if batch is not None:

            def before() -> None:  # when the batch lands the write, right before it
                ensure_inside(self.root, path)
                ensure_dir(path.parent, batch.dirs.add)  # a new folder's entry is made durable with the batch

            batch.write(path, data, done, before)
            return Written(path, None)
        ensure_dir(path.parent)
        stamp = atomic_write_bytes(path, data)
        if done is not None:
            done(path, stamp, None)
        return Written(path, stamp)

    def write_session(self, session: SessionRecording, *, overwrite: bool = False) -> Path:
        """Write ``session`` where it belongs, atomically; returns the path (see :meth:`store_session`)."""
        return self.store_session(session, overwrite=overwrite).path

    def store_session(
        self,
        session: SessionRecording,
        *,
        overwrite: bool = False,
        batch: WriteBatch | None = None,
        done: Done | None = None,
        texts: ActionTexts | None = None,
    ) -> Written:
        """Write ``session`` where it belongs, atomically; returns where and the file's stamp.

        The same session (same player id and start time) is replaced, e.g. as it grows; any other file at
        that path raises :class:`RecordingConflictError` unless ``overwrite`` is true (the file's ``meta``
        says which session it holds). ``batch`` and ``done``: as in :meth:`store_game`; ``texts``: the
        actions encoded for the file's earlier versions (:meth:`SessionRecording.to_json_bytes`).
        """
        path = self._session_place(session) if batch is not None else self.session_path(session)
        data = _bytes_for(path, session, texts)
        if (batch.exists(path) if batch is not None else path.exists()) and not overwrite:
            try:
                old = _read_meta(path, SessionMeta, batch)
            except (RecordingFormatError, OSError) as exc:
                raise RecordingConflictError(
                    f"{path} exists and is not a readable session file ({exc})"
                ) from None
            new = session.meta
            if (old.player_id, old.session_start) != (new.player_id, new.session_start):
                raise RecordingConflictError(
                    f"{path} holds another session (player {old.player_id}, started {old.session_start})"
                )
        return self._store(path, data, batch, done)

    def cleanup_temp_files(self, min_age_seconds: float = 60.0) -> list[Path]:
        """Remove temporary files a crash left anywhere under the root (older than ``min_age_seconds``)."""
        if not self.root.is_dir():
            return []
        return cleanup_temp_files(self.root, min_age_seconds)
