"""Where finished recordings go: the recordings tree, through :mod:`recorder.files` only.

:class:`RecordingSink` keeps one file per game id across the whole tree, whatever run or capture wrote it:
a game already on disk is replaced only by a recording at least as good (verified beats unverified, a game
watched live beats one known only from ``gameHistory``), and when the better one belongs at another path
(its start time was estimated differently) the old file is removed after the new one is written. Writing the
same recording twice gives the same bytes, which makes ingest idempotent.

With ``background``, sessions (rewritten again and again as they grow) are written by a thread, the latest
version of each only, so a burst of rewrites never stalls the live feed; :meth:`RecordingSink.flush` waits
for them, and :meth:`RecordingSink.close` (idempotent; also on leaving a ``with`` block) flushes and stops
the thread. Daily indexes are rebuilt from the files (:func:`recorder.files.rebuild_index`) for the days
touched, at most every ``index_interval`` seconds and on :meth:`RecordingSink.flush`: a rebuild reads the
whole day, so doing it after every game would make a long run quadratic. The files this sink has written
are not read back: their entries are known (:class:`recorder.files.KnownFile`, used only while the file
is untouched), and kept on disk by a :class:`recorder.known_store.KnownStore`, not in memory. They are
forgotten once their day's index has been rebuilt, but for the last ``keep_known``: the live recorder and
ingest keep :data:`KEEP_KNOWN`, more than a real day's files, so that a rebuild reads none of the files they
wrote (without them every rebuild re-read the whole day: a long run's CPU and memory grew with the day's
games), and ingest's later inputs do not re-read what the first wrote.

``batch_sync`` (ingest): files are written through a :class:`recorder.files.WriteBatch`: each still
atomically (temporary file, fsync, rename), but queued and landed in rounds (their fsyncs together), and
their folders are fsynced once each at :meth:`RecordingSink.flush`, when the batch becomes durable. The
sink sees its own queued writes at once; a write that fails is logged and counted in ``errors`` (and taken
off ``games_written`` / ``sessions_written``) at the next flush. Before an old file of a game is removed, the
new one is made durable.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self

from recorder.files import (
    ActionTexts,
    FileStamp,
    GameRecording,
    RecordingConflictError,
    RecordingFormatError,
    RecordingsLayout,
    SessionRecording,
    UnsafePathError,
    WriteBatch,
    Written,
    known_file,
    read_game,
    rebuild_index,
)
from recorder.game_finder import GameFinder, StoredGame, rank_of
from recorder.known_store import KnownStore

log = logging.getLogger(__name__)
# Index entries of written files kept (on disk, ~400 bytes each): more than a day can hold, so that no
# rebuild of the day being recorded ever reads a file back. A day has at most 4,320 games (86,400 s over a
# game cycle of at least ~20 s, cooldown included; a real day has ~1,200), plus the session files of every
# player followed (a file per 500 actions: following everyone, thousands).
KEEP_KNOWN = 20_000
__all__ = ["RecordingSink", "StoredGame", "rank_of"]


class RecordingSink:
    """Writes games and sessions under ``root`` and keeps the daily indexes fresh (see the module doc)."""

    def __init__(
        self,
        root: Path | str,
        *,
        index_interval: float = 30.0,
        background: bool = False,
        batch_sync: bool = False,
        keep_known: int = 0,
    ) -> None:
        self.layout = RecordingsLayout(root)
        self.index_interval = index_interval
        self.keep_known = keep_known
        self._batch = WriteBatch() if batch_sync else None
        self._failed: list[tuple[Path, bool, BaseException]] = []  # (path, is a game, error) from the batch
        self.known = KnownStore(keep_known)  # entries of the files written, by str(path)
        self.on_disk = GameFinder(self.layout, self._read_game)  # where each game id's file is
        self._touched: set[Path] = set()
        self._last_index = time.monotonic()
        self.games_written = 0
        self.games_replaced = 0
        self.games_kept = 0  # a better recording of the game was already on disk
        self.sessions_written = 0
        self.errors = 0
        # Live recording writes sessions from a thread, so a burst of rewrites never stalls the feed; only
        # the latest version of each session waits (older ones are superseded).
        self._pending: dict[tuple[str, object], tuple[SessionRecording, ActionTexts | None]] = {}
        self._cond = threading.Condition()
        self._busy = False
        self._index_due = False
        self._closing = False
        self._closed = False
        self._writer: threading.Thread | None = None
        if background:
            self._writer = threading.Thread(target=self._write_loop, name="session-writer", daemon=True)
            self._writer.start()

    @property
    def root(self) -> Path:
        return self.layout.root

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- games ---------------------------------------------------------------------------------------------
    def find_game(self, game_id: str) -> StoredGame | None:
        """The file of ``game_id`` anywhere under the root (the best one if a crash left two)."""
        return self.on_disk.find(game_id)

    def _read_game(self, path: Path) -> GameRecording:
        if self._batch is None:
            return read_game(path)
        return GameRecording.from_json_bytes(self._batch.read_bytes(path), path)

    def read(self, stored: StoredGame) -> GameRecording | None:
        try:
            return self._read_game(stored.path)
        except (RecordingFormatError, OSError) as exc:
            log.warning("cannot read %s: %s", stored.path, exc)
            return None

    def write_game(self, game: GameRecording) -> Path | None:
        """Write ``game`` unless a better recording of it exists; returns the file holding the game.

        Any other file of the game (a crash between writing a better one and removing the old one leaves
        two) is removed once the file kept is durable."""
        copies = self.on_disk.copies(game.game_id)
        if copies and copies[0].rank > rank_of(game):
            self.games_kept += 1
            self._remove_copies(copies[0].path, copies[1:])
            return copies[0].path
        try:
            written = self.layout.store_game(game, batch=self._batch, done=self._landed(game))
        except (RecordingConflictError, UnsafePathError, RecordingFormatError, OSError) as exc:
            self.errors += 1
            log.error("could not write game %s: %s", game.game_id, exc)
            return None
        path = written.path
        self.on_disk.written(path, game)
        with self._cond:
            self._touched.add(path.parent.parent)
        self.games_written += 1
        self.games_replaced += self._remove_copies(path, [old for old in copies if old.path != path])
        self.maybe_index()
        return path

    def _remove_copies(self, kept: Path, copies: list[StoredGame]) -> int:
        """Remove these other files of the game in ``kept``, once ``kept`` is durable (none if its write
        failed: a batch's write fails when it lands)."""
        if not copies:
            return 0
        if self._batch is not None:
            self._batch.sync()
        if not kept.exists():
            return 0
        for old in copies:
            with contextlib.suppress(OSError):
                old.path.unlink()
            self.on_disk.removed(old.path)
            with self._cond:
                self._touched.add(old.path.parent.parent)
        return len(copies)

    # -- sessions ------------------------------------------------------------------------------------------
    def write_session(self, session: SessionRecording, texts: ActionTexts | None = None) -> Path | None:
        """Write a session now, or queue it for the writer thread (then returns None). ``texts``: the
        actions encoded for the file's earlier versions (:class:`~recorder.files.ActionTexts`)."""
        if self._writer is None:
            return self._write_session(session, texts)
        with self._cond:
            self._pending[(session.meta.player_id, session.meta.session_start)] = (session, texts)
            self._cond.notify()
        return None

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._index_due:
                    self._busy = False
                    self._cond.notify_all()
                    if self._closing:
                        return
                    self._cond.wait()
                self._busy = True
                queued = self._pending.pop(next(iter(self._pending))) if self._pending else None
            if queued is not None:
                self._write_session(*queued)
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

    def _write_session(self, session: SessionRecording, texts: ActionTexts | None) -> Path | None:
        try:
            written = self.layout.store_session(
                session, batch=self._batch, done=self._landed(session), texts=texts
            )
        except (RecordingConflictError, UnsafePathError, RecordingFormatError, OSError) as exc:
            self.errors += 1
            log.error("could not write the session of %r: %s", session.meta.username, exc)
            return None
        with self._cond:
            self._touched.add(written.path.parent.parent)
            self.sessions_written += 1
        return written.path

    def _landed(self, doc: GameRecording | SessionRecording) -> Callable[[Path, FileStamp | None, Any], None]:
        """What to do once the file of ``doc`` has been written (at once, or by the batch's thread)."""

        def done(path: Path, stamp: FileStamp | None, error: BaseException | None) -> None:
            if error is not None:
                with self._cond:
                    self._failed.append((path, isinstance(doc, GameRecording), error))
            elif stamp is not None:
                self._remember(Written(path, stamp), doc)

        return done

    def _fold_failures(self) -> None:
        """Count the batch's failed writes (in the caller's thread: the counters are not shared)."""
        with self._cond:
            failed, self._failed = self._failed, []
        for path, game, error in failed:
            self.errors += 1
            log.error("could not write %s: %s", path, error)
            if game:
                self.games_written -= 1
                self.on_disk.removed(path)
            else:
                self.sessions_written -= 1

    def _remember(self, written: Written, doc: GameRecording | SessionRecording) -> None:
        """Keep the index entry of a file just written (see the module docstring)."""
        if written.stamp is None:
            return
        try:
            known = known_file(written.path, written.stamp, doc)
        except ValueError:  # pragma: no cover - the document was just checked
            return
        self.known.remember(str(written.path), str(written.path.parent.parent), known)

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
        if self._batch is not None:
            self._batch.sync()
            self._fold_failures()
        self._last_index = time.monotonic()
        self._rebuild()

    def close(self) -> None:
        """Flush, then stop the writer thread. Idempotent. A session written after this is written at once,
        in the caller's thread (nothing is lost)."""
        if self._closed:
            return
        self.flush()
        writer = self._writer
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if writer is not None:
            writer.join(60.0)
            if writer.is_alive():  # pragma: no cover - a write stuck for a minute: leave it to finish
                log.error("the session writer did not stop within 60 s")
        self._writer = None
        self.flush()  # anything queued while the thread was stopping
        if self._batch is not None:
            self._batch.close()
        self.known.close()
        self._closed = True

    def _rebuild(self) -> None:
        with self._cond:
            touched, self._touched = sorted(self._touched), set()
        for day in touched:
            if not day.is_dir():
                continue
            folder, mark = str(day), self.known.mark()
            try:
                report = rebuild_index(day, self.known.day(folder))
            except (OSError, ValueError) as exc:
                self.errors += 1
                log.error("could not rebuild the index of %s: %s", day, exc)
                continue
            finally:
                self.known.used(folder, mark)
            for problem in report.problems:
                log.warning("index of %s: %s", day.name, problem.error)
