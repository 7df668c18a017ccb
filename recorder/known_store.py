"""The index entries of the files a :class:`recorder.sink.RecordingSink` has written, kept on disk.

A rebuild of a day's ``index.json`` needs an entry for every file of the day. Entries of files the sink
wrote itself are known without reading the files back (:class:`recorder.files.KnownFile`), but a busy day
holds thousands of them: kept as Python objects (~750 bytes each, plus the pymalloc arenas they pin between
short-lived objects), they made the recorder's memory grow with every game. They live instead in a private,
temporary SQLite database (``sqlite3.connect("")``: on disk, deleted when closed or when the process dies)
with a small page cache, so the recorder's memory does not depend on how many games a day has. SQLite is in
the standard library and does the on-disk keyed store, its caching and its cleanup better than code of ours.

An entry is *fresh* from its write until a rebuild of its day has used it, then *kept*: only the last
``keep`` kept entries stay (the oldest are dropped), so a sink that keeps none forgets a day's files once its
index is written. All methods are thread-safe (files land from the write batch's threads while the session
writer thread rebuilds indexes). After :meth:`KnownStore.close` the store remembers nothing and knows nothing:
a rebuild then reads the files, which gives the same index.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Mapping

from recorder.files import FileStamp, KnownFile

CACHE_KIB = 512  # SQLite's page cache: the store's whole memory, whatever the number of entries

_SCHEMA = (
    "CREATE TABLE known (path TEXT PRIMARY KEY, folder TEXT NOT NULL, seq INTEGER NOT NULL,"
    " kept INTEGER NOT NULL, stamp TEXT NOT NULL, file TEXT NOT NULL, text TEXT NOT NULL, game_id TEXT)",
    "CREATE INDEX known_folder ON known (folder, seq)",
    "CREATE INDEX known_kept ON known (kept, seq)",
)


class KnownStore:
    """Entries of written files by path (a string), each with its day folder (module docstring)."""

    def __init__(self, keep: int = 0) -> None:
        self.keep = keep
        self._lock = threading.Lock()
        self._seq = 0
        # isolation_level=None: no implicit transactions; journal and sync off: the data is a cache that
        # dies with the process, so there is nothing to make durable
        db = sqlite3.connect("", check_same_thread=False, isolation_level=None)
        self._db: sqlite3.Connection | None = db
        for pragma in (f"cache_size=-{CACHE_KIB}", "journal_mode=OFF", "synchronous=OFF", "temp_store=FILE"):
            db.execute(f"PRAGMA {pragma}")
        for statement in _SCHEMA:
            db.execute(statement)

    def remember(self, path: str, folder: str, known: KnownFile) -> None:
        """Record the entry of the file at ``path`` (in day ``folder``), replacing any older one."""
        stamp = ",".join(map(str, known.stamp))
        with self._lock:
            if self._db is None:
                return
            self._seq += 1
            self._db.execute(
                "INSERT OR REPLACE INTO known VALUES (?, ?, ?, 0, ?, ?, ?, ?)",
                (path, folder, self._seq, stamp, known.file, known.text, known.game_id),
            )

    def get(self, path: str, folder: str | None = None) -> KnownFile | None:
        """The entry of ``path``, fresh or kept (and of day ``folder`` if given), or None."""
        query = "SELECT stamp, file, text, game_id, folder FROM known WHERE path = ?"
        with self._lock:
            if self._db is None:
                return None
            row = self._db.execute(query, (path,)).fetchone()
        if row is None or (folder is not None and row[4] != folder):
            return None
        if row is None:
            return None
        stamp: FileStamp = tuple(int(part) for part in row[0].split(","))  # type: ignore[assignment]
        return KnownFile(stamp, row[1], row[2], row[3])

    def mark(self) -> int:
        """A point in the order of writes: entries remembered after it are newer (see :meth:`used`)."""
        with self._lock:
            return self._seq

    def day(self, folder: str) -> DayEntries:
        """The entries of one day folder, as the mapping :func:`recorder.files.rebuild_index` reads."""
        return DayEntries(self, folder)

    def used(self, folder: str, mark: int) -> None:
        """A rebuild of ``folder`` that started at ``mark`` has used its entries: they become kept, and only
        the last ``keep`` kept entries (of all days) stay."""
        with self._lock:
            if self._db is None:
                return
            self._db.execute(
                "UPDATE known SET kept = 1 WHERE folder = ? AND seq <= ? AND kept = 0", (folder, mark)
            )
            if self.keep <= 0:
                self._db.execute("DELETE FROM known WHERE kept = 1")
                return
            # older than the keep-th newest kept entry (NULL, nothing, while fewer are kept): a walk down
            # the (kept, seq) index, where NOT IN (... LIMIT keep) built a temporary table of `keep` rows
            self._db.execute(
                "DELETE FROM known WHERE kept = 1 AND seq <"
                " (SELECT seq FROM known WHERE kept = 1 ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (self.keep - 1,),
            )

    def counts(self) -> tuple[int, int]:
        """(fresh, kept) entries."""
        with self._lock:
            if self._db is None:
                return 0, 0
            rows = dict(self._db.execute("SELECT kept, COUNT(*) FROM known GROUP BY kept").fetchall())
        return rows.get(0, 0), rows.get(1, 0)

    def paths(self, folder: str) -> list[str]:
        """The paths with an entry in day ``folder``, oldest write first."""
        with self._lock:
            if self._db is None:
                return []
            query = "SELECT path FROM known WHERE folder = ? ORDER BY seq"
            rows = self._db.execute(query, (folder,)).fetchall()
        return [row[0] for row in rows]

    def close(self) -> None:
        """Drop every entry and the database file. Idempotent."""
        with self._lock:
            db, self._db = self._db, None
        if db is not None:
            db.close()


class DayEntries(Mapping[str, KnownFile]):
    """A read-through view of one day's entries: lookups go to the store, nothing is copied."""

    def __init__(self, store: KnownStore, folder: str) -> None:
        self.store = store
        self.folder = folder

    def get(self, path: str, default: KnownFile | None = None) -> KnownFile | None:  # type: ignore[override]
        found = self.store.get(path, self.folder)
        return default if found is None else found

    def __getitem__(self, path: str) -> KnownFile:
        found = self.get(path)
        if found is None:
            raise KeyError(path)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(self.store.paths(self.folder))

    def __len__(self) -> int:
        return len(self.store.paths(self.folder))
