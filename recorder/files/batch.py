"""Batches of atomic writes: folders fsynced once per batch, and the files' I/O done by a few threads.

Ingest writes dozens of files per capture. Written one by one, each costs a create, an fsync and a rename
(~1 ms on a virtual disk, more than building its bytes) plus an fsync of its folder. :class:`WriteBatch`
keeps every guarantee of :func:`~recorder.files.jsonio.atomic_write_bytes` (a file is either the old one
or the new one, never half; the new one is fsynced before it is renamed into place) while writer threads do
that I/O, overlapping the caller's work (the GIL is released during the system calls), and the folders
(and the parents of folders created for the batch's files) are fsynced once each, together, when the batch
is synced: from then on, everything written is durable. Several threads, because fsyncs issued together
share the file system's journal commits: on ext4 four writers land a batch of small files ~3x sooner than
one. Writes of one path still land in the order given. The threads are the process's :func:`writer_pool`,
started once: a thread started per batch cost the caller more than its writes on a busy machine (starting
one waits for it to run).
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from recorder.files.jsonio import FileStamp, atomic_write_bytes, fsync_dir

WRITERS = 4  # threads writing at once: enough for fsyncs to overlap, few enough to stay idle cheaply
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def writer_pool() -> ThreadPoolExecutor:
    """The process's writer threads (created on first use; idle threads cost nothing)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=WRITERS, thread_name_prefix="file-writer")
        return _pool


def fsync_dirs(dirs: Iterable[Path]) -> None:
    """fsync each directory, concurrently when there are several (their journal commits are shared)."""
    dirs = list(dirs)
    if len(dirs) <= 1:
        for directory in dirs:
            fsync_dir(directory)
        return
    for _ in writer_pool().map(fsync_dir, dirs):
        pass


class DirSyncer:
    """Directories whose fsync is owed, done together by :meth:`sync` (a batch of writes into a few folders
    then costs one fsync per folder instead of one per file). Thread-safe."""

    def __init__(self) -> None:
        self._dirs: set[Path] = set()
        self._lock = threading.Lock()

    def add(self, directory: Path) -> None:
        with self._lock:
            self._dirs.add(directory)

    def sync(self) -> None:
        """fsync every directory added since the last call."""
        with self._lock:
            dirs, self._dirs = sorted(self._dirs), set()
        fsync_dirs(dirs)

    def __len__(self) -> int:
        return len(self._dirs)


Done = Callable[[Path, FileStamp | None, BaseException | None], None]
Before = Callable[[], None]


class WriteBatch:
    """Atomic writes done by up to ``writers`` threads of :func:`writer_pool` at once, so that their I/O (the
    create, the fsync, the rename: ~1 ms a file, GIL released) overlaps the caller's work and each other; the
    folders are fsynced once each, at :meth:`sync`, after which every write of the batch is durable.

    Each file is still written as :func:`atomic_write_bytes` writes it (temporary file, fsync, rename), after
    the write's ``before`` (e.g. checking the path and creating its folder), whose error fails the write.
    Writes of the same path are done one after the other, in the order given (a thread takes the oldest
    queued write whose path no other thread is writing); writes of different paths may land in any order.
    Until it is renamed, :meth:`exists` and :meth:`read_bytes` answer from the queue, so the caller sees its
    own writes at once. At most ``max_pending`` writes wait (:meth:`write` blocks beyond). ``done(path,
    stamp, error)`` is called from a writer thread when a write has landed (or failed: ``error``); for one
    path, in the order of the writes.

    :meth:`exists` reads each folder's listing once between two syncs and adds the batch's own writes: while
    writer threads run, every system call of the caller hands them the GIL (~0.5 ms to get it back on a
    busy machine, a stat's worth ~100 times). A file another process creates or removes in a folder of the
    batch is therefore seen at the next :meth:`sync` (ingest is the batch's only user: it expects no other
    writer in the days it writes, and removes a file of its own only after a sync).
    """

    def __init__(self, max_pending: int = 64, writers: int = WRITERS) -> None:
        self.max_pending = max_pending
        self.writers = max(1, writers)
        self.dirs = DirSyncer()
        self._queue: deque[tuple[Path, bytes, Done | None, Before | None]] = deque()
        self._pending: dict[Path, bytes] = {}
        self._writing: set[Path] = set()  # paths a thread is writing now
        self._listed: dict[Path, frozenset[str]] = {}  # folder -> its names, listed since the last sync
        self._written: set[Path] = set()  # landed since the last sync
        self._active = 0  # threads working for this batch
        self._cond = threading.Condition()
        self._closed = False

    def write(self, path: Path, data: bytes, done: Done | None = None, before: Before | None = None) -> None:
        """Queue an atomic write of ``data`` at ``path`` (its folder must exist once ``before`` has run)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("write batch closed")
            while len(self._queue) >= self.max_pending:
                self._cond.wait()
            self._queue.append((path, data, done, before))
            self._pending[path] = data
            self._cond.notify_all()
            if self._active < self.writers:
                self._active += 1
                writer_pool().submit(self._work)

    def _next(self) -> tuple[Path, bytes, Done | None, Before | None] | None:
        """The oldest queued write whose path is not being written (under the lock); None if none."""
        for i, item in enumerate(self._queue):
            if item[0] not in self._writing:
                del self._queue[i]
                self._writing.add(item[0])
                return item
        return None

    def _work(self) -> None:
        """Land queued writes until none is free to take (another thread holds the rest's paths)."""
        while True:
            with self._cond:
                item = self._next()
                if item is None:
                    self._active -= 1
                    self._cond.notify_all()
                    return
                self._cond.notify_all()  # room in the queue for a blocked write()
            path, data, done, before = item
            stamp, error = None, None
            try:
                if before is not None:
                    before()
                stamp = atomic_write_bytes(path, data, sync_dir=False)
                self.dirs.add(path.parent)
            except Exception as exc:  # reported to the caller through done
                error = exc
            with self._cond:
                if self._pending.get(path) is data:
                    del self._pending[path]
                if error is None:
                    self._written.add(path)
            if done is not None:
                done(path, stamp, error)
            with self._cond:  # only now may the next write of this path start: its done comes after
                self._writing.discard(path)
                self._cond.notify_all()

    def exists(self, path: Path) -> bool:
        """Whether ``path`` exists, counting the writes still queued (see the class docstring)."""
        folder = path.parent
        with self._cond:
            if path in self._pending or path in self._written:
                return True
            names = self._listed.get(folder)
        if names is None:
            try:
                names = frozenset(os.listdir(folder))
            except OSError:  # not there (yet): nothing in it
                names = frozenset()
            with self._cond:
                self._listed.setdefault(folder, names)
        return path.name in names

    def read_bytes(self, path: Path) -> bytes:
        """The bytes of ``path``, counting the writes still queued (the latest one)."""
        with self._cond:
            data = self._pending.get(path)
        return data if data is not None else path.read_bytes()

    def wait(self) -> None:
        """Until every queued write has landed."""
        with self._cond:
            while self._queue or self._writing or self._active:
                self._cond.wait()

    def sync(self) -> None:
        """Wait for the queued writes, then fsync their folders: the batch so far is durable (and
        :meth:`exists` looks at the folders afresh)."""
        self.wait()
        self.dirs.sync()
        with self._cond:
            self._listed.clear()
            self._written.clear()

    def close(self) -> None:
        """:meth:`sync`, then refuse further writes (idempotent)."""
        self.sync()
        with self._cond:
            self._closed = True
