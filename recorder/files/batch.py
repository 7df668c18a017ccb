"""Batches of atomic writes: the files of a batch land in rounds, their folders are fsynced once per batch.

Ingest writes dozens of files per capture. Written one by one, each costs a create, an fsync and a rename
(~1 ms on a virtual disk, more than building its bytes) plus an fsync of its folder. :class:`WriteBatch`
keeps every guarantee of :func:`~recorder.files.jsonio.atomic_write_bytes` (a file is either the old one
or the new one, never half; the new one is fsynced before it is renamed into place) but lands the queued
files in rounds: every temporary file written, then all fsynced, then all renamed into place.

- On Linux, a round of :data:`SYNCFS_FROM` files or more is first committed in one go by ``syncfs(2)``, and
  each file is still fsynced after it, which is then cheap: every guarantee, and each file's own write
  error, is still fsync's. Measured here on 32 small files: 8 ms, where fsyncs by 8 threads took 20 ms.
  (syncfs also writes back what other programs left pending on that file system: beside a heavy writer,
  a round waits for it.)
- Smaller rounds, and other systems, fsync the files at once by the threads of :func:`writer_pool`
  (fsyncs issued together share the file system's journal commits). The threads are the process's,
  started once: a thread started per batch cost the caller more than its writes on a busy machine.

The folders (and the parents of folders created for the batch's files) are fsynced once each, together,
when the batch is synced: from then on, everything written is durable. Writes of one path land in the
order given.

Rounds, not threads writing while the caller computes: while writer threads ran, each system call of the
caller handed them the GIL and each of theirs took it back at the next switch interval, and a file created
while another's fsync commits the journal waits for that commit (~0.7 ms each on ext4 here). On ingest's
capture the overlap cost more than it saved.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from recorder.files.jsonio import FileStamp, discard_temp, fsync_dir, install_temp, write_temp

WRITERS = 8  # fsyncs issued at once: enough to share journal commits, few enough to stay idle cheaply
SYNCFS_FROM = 4  # rounds of this many files or more are committed by one syncfs before their fsyncs
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _load_syncfs() -> Callable[[int], int] | None:
    """Linux's ``syncfs(fd)`` (the os module has no binding for it); None where there is none."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        syncfs = ctypes.CDLL(None, use_errno=True).syncfs
    except (OSError, AttributeError):
        return None
    syncfs.argtypes, syncfs.restype = [ctypes.c_int], ctypes.c_int
    return syncfs  # type: ignore[no-any-return]


_syncfs = _load_syncfs()


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
    """Atomic writes landed in rounds (module docstring); the folders are fsynced once each, at
    :meth:`sync`, after which every write of the batch is durable.

    Each file is still written as :func:`~recorder.files.jsonio.atomic_write_bytes` writes it (temporary
    file, fsync, rename), after the write's ``before`` (e.g. checking the path and creating its folder),
    whose error fails the write. A round lands every queued write, in the caller's thread, when
    ``max_pending`` are queued or when they are waited for (:meth:`wait`, :meth:`sync`). Until then,
    :meth:`exists` and :meth:`read_bytes` answer from the queue, so the caller sees its own writes at once.
    ``done(path, stamp, error)`` is called when a write has landed (or failed: ``error``), in the order of
    the writes.

    :meth:`exists` reads each folder's listing once between two syncs and adds the batch's own writes. A
    file another process creates or removes in a folder of the batch is therefore seen at the next
    :meth:`sync` (ingest is the batch's only user: it expects no other writer in the days it writes, and
    removes a file of its own only after a sync).
    """

    def __init__(self, max_pending: int = 64, writers: int = WRITERS) -> None:
        self.max_pending = max_pending
        self.writers = max(1, writers)
        self.dirs = DirSyncer()
        self._queue: list[tuple[Path, bytes, Done | None, Before | None]] = []
        self._pending: dict[Path, bytes] = {}
        self._listed: dict[Path, frozenset[str]] = {}  # folder -> its names, listed since the last sync
        self._written: set[Path] = set()  # landed since the last sync
        self._lock = threading.RLock()  # a done callback may queue another write
        self._closed = False

    def write(self, path: Path, data: bytes, done: Done | None = None, before: Before | None = None) -> None:
        """Queue an atomic write of ``data`` at ``path`` (its folder must exist once ``before`` has run)."""
        with self._lock:
            if self._closed:
                raise RuntimeError("write batch closed")
            self._queue.append((path, data, done, before))
            self._pending[path] = data
            if len(self._queue) >= self.max_pending:
                self._land()

    def _land(self) -> None:
        """Land the queued writes: temporary files written, fsynced together, renamed in order; then each
        write's ``done`` (all are landed first, so that a ``done`` that raises leaves no file half done)."""
        with self._lock:
            while self._queue:
                queued, self._queue = self._queue, []
                failed: dict[int, BaseException] = {}  # index in `queued`: why it failed
                for index, (_, _, _, before) in enumerate(queued):
                    try:
                        if before is not None:
                            before()
                    except Exception as exc:  # reported to the caller through done
                        failed[index] = exc
                todo = [(path, data) for i, (path, data, _, _) in enumerate(queued) if i not in failed]
                temps = iter(self._prepare(todo))
                landed: list[tuple[Path, FileStamp | None, BaseException | None]] = []
                for index, (path, data, _, _) in enumerate(queued):
                    stamp, error = None, failed.get(index)
                    if error is None:
                        temp = next(temps)
                        if isinstance(temp, BaseException):
                            error = temp
                        else:
                            try:
                                stamp = install_temp(*temp, path, len(data))
                                self.dirs.add(path.parent)
                            except Exception as exc:
                                error = exc
                    if self._pending.get(path) is data:
                        del self._pending[path]
                    if error is None:
                        self._written.add(path)
                    landed.append((path, stamp, error))
                for (_, _, done, _), outcome in zip(queued, landed, strict=True):
                    if done is not None:
                        done(*outcome)

    def _prepare(self, writes: list[tuple[Path, bytes]]) -> list[tuple[Path, int] | BaseException]:
        """Each write's temporary file, written and fsynced (its path and open descriptor), or its error;
        by the pool's threads, ``writers`` at once, while the caller waits (it holds no GIL they need)."""
        at_once = threading.BoundedSemaphore(self.writers)

        def prepare(write: tuple[Path, bytes]) -> tuple[Path, int] | BaseException:
            with at_once:
                try:
                    tmp, fd = write_temp(*write)
                except Exception as exc:
                    return exc
                try:
                    os.fsync(fd)
                except Exception as exc:
                    discard_temp(tmp, fd)
                    return exc
                return tmp, fd

        if len(writes) >= SYNCFS_FROM and _syncfs is not None:
            return _prepare_committed(writes, _syncfs)
        if len(writes) <= 1 or self.writers == 1:
            return [prepare(write) for write in writes]
        return list(writer_pool().map(prepare, writes))

    def exists(self, path: Path) -> bool:
        """Whether ``path`` exists, counting the writes still queued (see the class docstring)."""
        folder = path.parent
        with self._lock:
            if path in self._pending or path in self._written:
                return True
            names = self._listed.get(folder)
            if names is None:
                try:
                    names = frozenset(os.listdir(folder))
                except OSError:  # not there (yet): nothing in it
                    names = frozenset()
                self._listed[folder] = names
        return path.name in names

    def read_bytes(self, path: Path) -> bytes:
        """The bytes of ``path``, counting the writes still queued (the latest one)."""
        with self._lock:
            data = self._pending.get(path)
        return data if data is not None else path.read_bytes()

    def wait(self) -> None:
        """Land every queued write."""
        self._land()

    def sync(self) -> None:
        """Land the queued writes, then fsync their folders: the batch so far is durable (and
        :meth:`exists` looks at the folders afresh)."""
        self.wait()
        self.dirs.sync()
        with self._lock:
            self._listed.clear()
            self._written.clear()

    def close(self) -> None:
        """:meth:`sync`, then refuse further writes (idempotent)."""
        self.sync()
        with self._lock:
            self._closed = True


def _prepare_committed(
    writes: list[tuple[Path, bytes]], syncfs: Callable[[int], int]
) -> list[tuple[Path, int] | BaseException]:
    """:meth:`WriteBatch._prepare` by one ``syncfs`` per file system, then an fsync of each file (cheap
    once the data is committed, and what reports a file's own write error)."""
    temps: list[tuple[Path, int] | BaseException] = []
    for write in writes:
        try:
            temps.append(write_temp(*write))
        except Exception as exc:
            temps.append(exc)
    devices: dict[int, int] = {}  # file system -> a descriptor on it
    for temp in temps:
        if not isinstance(temp, BaseException):
            try:
                devices.setdefault(os.fstat(temp[1]).st_dev, temp[1])
            except OSError:  # its fsync below will say
                pass
    for fd in devices.values():
        syncfs(fd)  # its result is not needed: each file's fsync below says whether that file is durable
    for i, temp in enumerate(temps):
        if isinstance(temp, BaseException):
            continue
        try:
            os.fsync(temp[1])
        except Exception as exc:
            discard_temp(*temp)
            temps[i] = exc
    return temps
