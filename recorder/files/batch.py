"""Batches of atomic writes: folders fsynced once per batch, and the files' I/O done by a thread.

Ingest writes dozens of files per capture. Written one by one, each costs a create, an fsync and a rename
(~1 ms on a virtual disk, more than building its bytes) plus an fsync of its folder. :class:`WriteBatch`
keeps every guarantee of :func:`~recorder.files.jsonio.atomic_write_bytes` (a file is either the old one
or the new one, never half; the new one is fsynced before it is renamed into place) while its thread does
that I/O in order, overlapping the caller's work (the GIL is released during the system calls), and the
folders are fsynced once each when the batch is synced: from then on, everything written is durable.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from pathlib import Path

from recorder.files.jsonio import FileStamp, atomic_write_bytes, fsync_dir


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
        for directory in dirs:
            fsync_dir(directory)

    def __len__(self) -> int:
        return len(self._dirs)


Done = Callable[[Path, FileStamp | None, BaseException | None], None]


class WriteBatch:
    """Atomic writes done in order by a thread of their own, so that their I/O (the create, the fsync, the
    rename: ~1 ms a file, GIL released) overlaps the caller's work; the folders are fsynced once each, at
    :meth:`sync`, after which every write of the batch is durable.

    Each file is still written as :func:`atomic_write_bytes` writes it (temporary file, fsync, rename). Until
    it is renamed, :meth:`exists` and :meth:`read_bytes` answer from the queue, so the caller sees its own
    writes at once. At most ``max_pending`` writes wait (:meth:`write` blocks beyond). ``done(path, stamp,
    error)`` is called from the thread when a write has landed (or failed: ``error``).
    """

    def __init__(self, max_pending: int = 64) -> None:
        self.max_pending = max_pending
        self.dirs = DirSyncer()
        self._queue: deque[tuple[Path, bytes, Done | None]] = deque()
        self._pending: dict[Path, bytes] = {}
        self._cond = threading.Condition()
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None

    def write(self, path: Path, data: bytes, done: Done | None = None) -> None:
        """Queue an atomic write of ``data`` at ``path`` (its folder must exist)."""
        with self._cond:
            if self._closed:
                raise RuntimeError("write batch closed")
            while len(self._queue) >= self.max_pending:
                self._cond.wait()
            self._queue.append((path, data, done))
            self._pending[path] = data
            self._cond.notify_all()
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="write-batch", daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._queue:
                    self._busy = False
                    self._cond.notify_all()
                    if self._closed:
                        return
                    self._cond.wait()
                path, data, done = self._queue.popleft()
                self._busy = True
                self._cond.notify_all()
            stamp, error = None, None
            try:
                stamp = atomic_write_bytes(path, data, sync_dir=False)
                self.dirs.add(path.parent)
            except Exception as exc:  # reported to the caller through done
                error = exc
            with self._cond:
                if self._pending.get(path) is data:
                    del self._pending[path]
            if done is not None:
                done(path, stamp, error)

    def exists(self, path: Path) -> bool:
        """Whether ``path`` exists, counting the writes still queued."""
        with self._cond:
            if path in self._pending:
                return True
        return path.exists()

    def read_bytes(self, path: Path) -> bytes:
        """The bytes of ``path``, counting the writes still queued (the latest one)."""
        with self._cond:
            data = self._pending.get(path)
        return data if data is not None else path.read_bytes()

    def wait(self) -> None:
        """Until every queued write has landed."""
        with self._cond:
            while self._queue or self._busy:
                self._cond.wait()

    def sync(self) -> None:
        """Wait for the queued writes, then fsync their folders: the batch so far is durable."""
        self.wait()
        self.dirs.sync()

    def close(self) -> None:
        """:meth:`sync`, then stop the thread (idempotent)."""
        self.sync()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(60.0)
