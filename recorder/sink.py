"""Where finished recordings go: the recordings tree, through :mod:`recorder.files` only.

:class:`RecordingSink` keeps one file per game id across the whole tree, whatever run or capture wrote it:
a game already on disk is replaced only by a recording at least as good (verified beats unverified, a game
watched live beats one known only from ``gameHistory``), and when the better one belongs at another path
(its start time was estimated differently) the old file is removed after the new one is written. Writing the
same recording twice gives the same bytes, which makes ingest idempotent.

With ``background``, sessions (rewritten again and again as they grow) are written by a thread, the latest
version of each only, so a burst of rewrites never stalls the live feed; :meth:`RecordingSink.flush` waits
for them. Daily indexes are rebuilt from the files (:func:`recorder.files.rebuild_index`) for the days
touched, at
most every ``index_interval`` seconds and on :meth:`RecordingSink.flush`: a rebuild reads the whole day, so
doing it after every game would make a long run quadratic.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from recorder.files import (
    GameRecording,
    RecordingConflictError,
    RecordingFormatError,
    RecordingsLayout,
    SessionRecording,
    UnsafePathError,
    read_game,
    rebuild_index,
)

log = logging.getLogger(__name__)
_SOURCE_RANK = {"live": 3, "ingest": 3, "history": 1}


@dataclass(frozen=True, slots=True)
class StoredGame:
    """A game file already on disk: where, and how good it is."""

    path: Path
    game_id: str
    verified: bool
    source: str | None

    @property
    def rank(self) -> tuple[int, int]:
        return (1 if self.verified else 0, _SOURCE_RANK.get(self.source or "", 0))


def rank_of(game: GameRecording) -> tuple[int, int]:
    meta = game.meta
    return (1 if meta.verified else 0, _SOURCE_RANK.get(str(meta.source) if meta.source else "", 0))


class RecordingSink:
    """Writes games and sessions under ``root`` and keeps the daily indexes fresh (see the module doc)."""

    def __init__(self, root: Path | str, *, index_interval: float = 30.0, background: bool = False) -> None:
        self.layout = RecordingsLayout(root)
        self.index_interval = index_interval
        self._by_suffix: dict[str, list[Path]] | None = None
        self._stored: dict[Path, StoredGame | None] = {}
        self._touched: set[Path] = set()
        self._last_index = time.monotonic()
        self.games_written = 0
        self.games_replaced = 0
        self.games_kept = 0  # a better recording of the game was already on disk
        self.sessions_written = 0
        self.errors = 0
        # Live recording writes sessions from a thread, so a burst of rewrites never stalls the feed; only
        # the latest version of each session waits (older ones are superseded).
        self._pending: dict[tuple[str, object], SessionRecording] = {}
        self._cond = threading.Condition()
        self._busy = False
        self._index_due = False
        self._writer: threading.Thread | None = None
        if background:
            self._writer = threading.Thread(target=self._write_loop, name="session-writer", daemon=True)
            self._writer.start()

    @property
    def root(self) -> Path:
        return self.layout.root

    # -- games ---------------------------------------------------------------------------------------------
    def _suffixes(self) -> dict[str, list[Path]]:
        if self._by_suffix is None:
            self._by_suffix = {}
            for path in self.layout.game_files():
                self._by_suffix.setdefault(path.name.split("_", 1)[1][:8], []).append(path)
        return self._by_suffix

    def _stored_at(self, path: Path) -> StoredGame | None:
        if path not in self._stored:
            try:
                meta = read_game(path).meta
                self._stored[path] = StoredGame(
                    path, meta.game_id, bool(meta.verified), str(meta.source) if meta.source else None
                )
            except (RecordingFormatError, OSError) as exc:
                log.warning("ignoring unreadable game file %s: %s", path, exc)
                self._stored[path] = None
        return self._stored[path]

    def find_game(self, game_id: str) -> StoredGame | None:
        """The file of ``game_id`` anywhere under the root (the best one if a crash left two)."""
        best: StoredGame | None = None
        for path in list(self._suffixes().get(game_id.split("-", 1)[-1][:8], [])):
            stored = self._stored_at(path)
            if stored is not None and stored.game_id == game_id and (best is None or stored.rank > best.rank):
                best = stored
        return best

    def read(self, stored: StoredGame) -> GameRecording | None:
        try:
            return read_game(stored.path)
        except (RecordingFormatError, OSError) as exc:
            log.warning("cannot read %s: %s", stored.path, exc)
            return None

    def write_game(self, game: GameRecording) -> Path | None:
        """Write ``game`` unless a better recording of it exists; returns the file holding the game."""
        old = self.find_game(game.game_id)
        if old is not None and old.rank > rank_of(game):
            self.games_kept += 1
            return old.path
        try:
            path = self.layout.write_game(game)
        except (RecordingConflictError, UnsafePathError, RecordingFormatError, OSError) as exc:
            self.errors += 1
            log.error("could not write game %s: %s", game.game_id, exc)
            return None
        meta = game.meta
        self._stored[path] = StoredGame(
            path, meta.game_id, bool(meta.verified), str(meta.source) if meta.source else None
        )
        paths = self._suffixes().setdefault(path.name.split("_", 1)[1][:8], [])
        if path not in paths:
            paths.append(path)
        with self._cond:
            self._touched.add(path.parent.parent)
        self.games_written += 1
        if old is not None and old.path != path:
            with contextlib.suppress(OSError):
                old.path.unlink()
            paths = self._suffixes().get(old.path.name.split("_", 1)[1][:8], [])
            if old.path in paths:
                paths.remove(old.path)
            self._stored.pop(old.path, None)
            with self._cond:
                self._touched.add(old.path.parent.parent)
            self.games_replaced += 1
        self.maybe_index()
        return path

    # -- sessions ------------------------------------------------------------------------------------------
    def write_session(self, session: SessionRecording) -> Path | None:
        """Write a session now, or queue it for the writer thread (then returns None)."""
        if self._writer is None:
            return self._write_session(session)
        with self._cond:
            self._pending[(session.meta.player_id, session.meta.session_start)] = session
            self._cond.notify()
        return None

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._index_due:
                    self._busy = False
                    self._cond.notify_all()
                    self._cond.wait()
                self._busy = True
                session = self._pending.pop(next(iter(self._pending))) if self._pending else None
            if session is not None:
                self._write_session(session)
            else:
                self._index_due = False
                self._rebuild()

    def drain(self, timeout: float = 60.0) -> None:
        """Wait until every queued session is written."""
        if self._writer is None:
            return
        deadline = time.monotonic() + timeout
        with self._cond:
            while (self._pending or self._busy or self._index_due) and time.monotonic() < deadline:
                self._cond.wait(0.1)

    def _write_session(self, session: SessionRecording) -> Path | None:
        try:
            path = self.layout.write_session(session)
        except (RecordingConflictError, UnsafePathError, RecordingFormatError, OSError) as exc:
            self.errors += 1
            log.error("could not write the session of %r: %s", session.meta.username, exc)
            return None
        with self._cond:
            self._touched.add(path.parent.parent)
            self.sessions_written += 1
        return path

    # -- indexes -------------------------------------------------------------------------------------------
    def maybe_index(self) -> None:
        """Rebuild the touched days' indexes if ``index_interval`` has passed (in the writer thread)."""
        if self.index_interval < 0 or time.monotonic() - self._last_index < self.index_interval:
            return
        self._last_index = time.monotonic()
        if self._writer is None:
            self._rebuild()
            return
        with self._cond:
            self._index_due = True
            self._cond.notify()

    def flush(self) -> None:
        """Write what is queued, then rebuild the index of every day touched since the last flush."""
        self.drain()
        self._last_index = time.monotonic()
        self._rebuild()

    def _rebuild(self) -> None:
        with self._cond:
            touched, self._touched = sorted(self._touched), set()
        for day in touched:
            if not day.is_dir():
                continue
            try:
                report = rebuild_index(day)
            except (OSError, ValueError) as exc:
                self.errors += 1
                log.error("could not rebuild the index of %s: %s", day, exc)
                continue
            for problem in report.problems:
                log.warning("index of %s: %s", day.name, problem.error)
