"""Finding the file of a game id anywhere under a recordings root, in 8 bytes a game file.

A game's file is named from its start time and the first 8 hex digits of its id's suffix, and the start time
of the same game may be estimated differently by different recordings, so the file of a game id is found by
that short suffix, in any day folder. :class:`GameFinder` keeps only the short suffixes present, per day
folder and all together (:class:`ShortKeys`: 4 bytes a file in a sorted array, where a set of ints costs
~60 and paths and records ~800), rules out a new game's id in one lookup, lists a day folder's files only
when the suffix is there (a game written again), and reads a candidate's meta through a bounded cache of
:class:`StoredGame` records. A long live run therefore keeps no record per game it wrote. The day of a
game id cannot narrow the search: a game may be recorded days after its id's date (``rugs serve`` replays
real games under their original ids).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from recorder.files import GameRecording, RecordingFormatError, RecordingsLayout, read_game
from recorder.files.naming import name_key, short_key

log = logging.getLogger(__name__)
_SOURCE_RANK = {"live": 3, "ingest": 3, "history": 1}
STORED_CACHE = 512  # StoredGame records kept (the games most recently written or looked at)
RECENT_KEYS = 1024  # keys added one by one are merged into the sorted array in batches of this many


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

    @classmethod
    def of(cls, path: Path, game: GameRecording) -> StoredGame:
        meta = game.meta
        return cls(path, meta.game_id, bool(meta.verified), str(meta.source) if meta.source else None)


def rank_of(game: GameRecording) -> tuple[int, int]:
    """How good a recording is: verified first, then watched (live, ingest) over known from history."""
    meta = game.meta
    return (1 if meta.verified else 0, _SOURCE_RANK.get(str(meta.source) if meta.source else "", 0))


def _name_key(path: Path) -> int | None:
    return name_key(path.name)


class ShortKeys:
    """A set of short keys (32-bit) in a sorted ``uint32`` array, the newest few in a small set."""

    __slots__ = ("_sorted", "_recent")

    def __init__(self, keys: Iterable[int] = ()) -> None:
        self._sorted = np.unique(np.fromiter(keys, dtype=np.uint32))
        self._recent: set[int] = set()

    def __contains__(self, key: int) -> bool:
        if key in self._recent:
            return True
        at = int(np.searchsorted(self._sorted, key))
        return at < len(self._sorted) and int(self._sorted[at]) == key

    def __len__(self) -> int:
        return len(self._sorted) + len(self._recent)

    def keys(self) -> Iterator[int]:
        yield from map(int, self._sorted)
        yield from self._recent

    def add(self, key: int) -> None:
        if key in self:
            return
        self._recent.add(key)
        if len(self._recent) >= RECENT_KEYS:
            merged = np.concatenate([self._sorted, np.fromiter(self._recent, dtype=np.uint32)])
            merged.sort()
            self._sorted, self._recent = merged, set()


class GameFinder:
    """The game files under a root, by game id (see the module docstring). Not thread-safe."""

    def __init__(self, layout: RecordingsLayout, read: Callable[[Path], GameRecording] = read_game) -> None:
        self.layout = layout
        self.read = read  # the sink's reader sees the files its write batch still holds
        self._days: dict[Path, ShortKeys] | None = None
        self._all = ShortKeys()  # every day's keys: a new game's id is ruled out in one lookup
        self._stored: OrderedDict[Path, StoredGame | None] = OrderedDict()

    def _index(self) -> dict[Path, ShortKeys]:
        if self._days is None:
            self._days = {}
            for day in self.layout.days():
                keys = (_name_key(p) for p in self.layout.game_files(day))
                self._days[day] = ShortKeys(key for key in keys if key is not None)
            self._all = ShortKeys(key for keys in self._days.values() for key in keys.keys())
        return self._days

    def _remember(self, path: Path, stored: StoredGame | None) -> None:
        self._stored.pop(path, None)
        self._stored[path] = stored
        while len(self._stored) > STORED_CACHE:
            self._stored.popitem(last=False)

    def stored_at(self, path: Path) -> StoredGame | None:
        """What the file at ``path`` holds (None if unreadable)."""
        if path in self._stored:
            self._stored.move_to_end(path)
            return self._stored[path]
        stored: StoredGame | None = None
        try:
            stored = StoredGame.of(path, self.read(path))
        except (RecordingFormatError, OSError) as exc:
            log.warning("ignoring unreadable game file %s: %s", path, exc)
        self._remember(path, stored)
        return stored

    def candidates(self, game_id: str) -> list[Path]:
        """The game files whose name carries the short suffix of ``game_id``, in any day folder."""
        key = short_key(game_id.split("-", 1)[-1])
        index = self._index()
        if key is None or key not in self._all:  # every file listed or written has its key there
            return []
        found = [
            path
            for day, keys in index.items()
            if key in keys
            for path in self.layout.game_files(day)
            if _name_key(path) == key
        ]
        # files just written may still wait in the sink's write batch, not yet in a listing
        recent = [p for p, stored in self._stored.items() if stored is not None and _name_key(p) == key]
        found += [p for p in recent if p not in found]
        return found

    def copies(self, game_id: str) -> list[StoredGame]:
        """Every file of ``game_id`` under the root, best first (more than one only if a crash left two)."""
        found = [stored for path in self.candidates(game_id) if (stored := self.stored_at(path)) is not None]
        return sorted((s for s in found if s.game_id == game_id), key=lambda s: s.rank, reverse=True)

    def find(self, game_id: str) -> StoredGame | None:
        """The file of ``game_id`` anywhere under the root (the best one if a crash left two)."""
        copies = self.copies(game_id)
        return copies[0] if copies else None

    def written(self, path: Path, game: GameRecording) -> None:
        """``game`` was just written at ``path``."""
        key = _name_key(path)
        if key is not None:
            self._index().setdefault(path.parent.parent, ShortKeys()).add(key)
            self._all.add(key)
        self._remember(path, StoredGame.of(path, game))

    def removed(self, path: Path) -> None:
        """The file at ``path`` was removed (its suffix stays listed: a stale one costs one listing)."""
        self._stored.pop(path, None)
