"""Atomic writing: a reader never sees half a file; a crash leaves the old file or the new one."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_files_common import small_game

from recorder.files import (
    RecordingConflictError,
    RecordingFormatError,
    RecordingsLayout,
    atomic_write_bytes,
    atomic_write_chunks,
    build_index,
    cleanup_temp_files,
    is_temp_file,
    read_game,
)

ROOT = Path(__file__).resolve().parents[1]


def test_atomic_write_replaces_and_leaves_nothing_behind(tmp_path, monkeypatch):
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: (synced.append(fd), real_fsync(fd)))
    target = tmp_path / "f.json"
    atomic_write_bytes(target, b"old\n")
    atomic_write_bytes(target, b"new\n")
    assert target.read_bytes() == b"new\n"
    assert [p.name for p in tmp_path.iterdir()] == ["f.json"]
    assert len(synced) == 4  # the file and its directory, twice
    umask = os.umask(0)
    os.umask(umask)
    # permissions like an ordinary new file (mkstemp would give 0600)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_chunked_write_replaces_only_what_differs(tmp_path):
    target = tmp_path / "index.json"
    assert atomic_write_chunks(target, [b"ab", b"cd\n"])  # a new file
    stamp = os.stat(target)
    assert not atomic_write_chunks(target, [b"a", b"bcd", b"\n"])  # the same bytes, cut elsewhere: kept
    assert os.stat(target).st_ino == stamp.st_ino and os.stat(target).st_mtime_ns == stamp.st_mtime_ns
    for chunks in ([b"abcd"], [b"abcd\n", b"x"], [b"abXd\n"], []):  # shorter, longer, changed, empty
        assert atomic_write_chunks(target, chunks)
        assert target.read_bytes() == b"".join(chunks)
    assert [p.name for p in tmp_path.iterdir()] == ["index.json"]  # no temporary file left

    def failing() -> Iterator[bytes]:
        yield b"half"
        raise RuntimeError("the producer failed")

    with pytest.raises(RuntimeError):
        atomic_write_chunks(target, failing())
    assert target.read_bytes() == b"" and [p.name for p in tmp_path.iterdir()] == ["index.json"]


def test_failure_before_rename_keeps_the_old_file(tmp_path, monkeypatch):
    layout = RecordingsLayout(tmp_path)
    game = small_game()
    path = layout.write_game(game)
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        layout.write_game(game.replace(meta=game.meta.replace(trade_count=5)))
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # the temporary file was removed


def test_killed_writer_leaves_old_file_and_a_stray_temp_file(tmp_path):
    """A real process dies between writing the temporary file and renaming it."""
    layout = RecordingsLayout(tmp_path)
    path = layout.write_game(small_game())
    before = path.read_bytes()
    script = textwrap.dedent(
        f"""
        import os
        from recorder.files import RecordingsLayout, read_game
        game = read_game({str(path)!r})
        os.replace = lambda src, dst: os._exit(9)   # the power goes out right before the rename
        RecordingsLayout({str(tmp_path)!r}).write_game(game.replace(meta=game.meta.replace(trade_count=7)))
        """
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, timeout=60)
    assert done.returncode == 9, done.stderr.decode()
    assert path.read_bytes() == before
    strays = [p for p in path.parent.iterdir() if p != path]
    assert len(strays) == 1 and is_temp_file(strays[0]) and strays[0].name.startswith(f".{path.name}.")
    # readers and the index ignore it; cleanup removes it
    assert layout.game_files() == [path]
    index, problems = build_index(path.parent.parent)
    assert len(index.games) == 1 and problems == []
    assert cleanup_temp_files(tmp_path, min_age_seconds=3600) == []  # too young: maybe a write in progress
    assert layout.cleanup_temp_files(min_age_seconds=0) == strays
    assert sorted(path.parent.iterdir()) == [path]


def test_reader_never_sees_a_partial_file(tmp_path):
    """Concurrent readers only ever see a whole old or whole new file."""
    import threading

    layout = RecordingsLayout(tmp_path)
    games = [small_game(trade_count=n) for n in range(2)]
    path = layout.write_game(games[0])
    stop = threading.Event()
    errors: list[Exception] = []

    def writer() -> None:
        n = 0
        while not stop.is_set():
            layout.write_game(games[n % 2])
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(200):
            try:
                assert read_game(path) in games
            except RecordingFormatError as exc:  # pragma: no cover - would be the bug
                errors.append(exc)
    finally:
        stop.set()
        thread.join()
    assert errors == []


def test_invalid_documents_are_never_written(tmp_path):
    layout = RecordingsLayout(tmp_path)
    game = small_game()
    object.__setattr__(game.meta, "duration_ticks", 4)
    with pytest.raises(RecordingFormatError, match=r"\.game\.json: meta\.duration_ticks: expected 3"):
        layout.write_game(game)
    assert not any(p.is_file() for p in tmp_path.rglob("*"))


def test_writes_never_replace_another_game_or_session(tmp_path):
    layout = RecordingsLayout(tmp_path)
    game = small_game()
    path = layout.write_game(game)
    # same game again (e.g. now verified): replaced
    layout.write_game(game.replace(meta=game.meta.replace(trade_count=1)))
    assert read_game(path).meta.trade_count == 1
    # another game whose short name collides (same second, same first 8 hex): it takes its full name
    other = small_game(game_id="20251212-01234567ffffffff")
    assert layout.game_path(other) == path
    other_path = layout.write_game(other)
    assert other_path.name.endswith("_01234567ffffffff.game.json")
    assert read_game(path).meta.game_id == game.meta.game_id and read_game(other_path) == other
    assert layout.write_game(other.replace(meta=other.meta.replace(trade_count=2))) == other_path
    assert layout.find_game(other.meta.game_id) == other_path
    from recorder.files import rebuild_index

    report = rebuild_index(path.parent.parent)
    assert not report.problems and report.games == 2
    other_path.unlink()
    path.write_bytes(b"garbage")
    with pytest.raises(RecordingConflictError, match="not a readable game file"):
        layout.write_game(game)
    layout.write_game(game, overwrite=True)
    assert read_game(path) == game


def test_a_batch_knows_what_is_in_its_folders(tmp_path, monkeypatch):
    """WriteBatch.exists: one listing a folder until the next sync, plus the batch's own writes."""
    import recorder.files.batch as batch_module
    from recorder.files import WriteBatch

    (tmp_path / "before.json").write_bytes(b"{}")
    batch = WriteBatch()
    assert batch.exists(tmp_path / "before.json") and not batch.exists(tmp_path / "a.json")
    batch.write(tmp_path / "a.json", b"{}")
    assert batch.exists(tmp_path / "a.json")  # queued
    batch.wait()
    assert batch.exists(tmp_path / "a.json")  # landed, not listed yet
    original = batch_module.write_temp

    def full_disk(path: Path, data: bytes) -> object:
        if path.name == "b.json":
            raise OSError(28, "No space left on device", str(path))
        return original(path, data)

    monkeypatch.setattr(batch_module, "write_temp", full_disk)
    batch.write(tmp_path / "b.json", b"{}")
    batch.wait()
    assert not batch.exists(tmp_path / "b.json")  # failed: not there
    (tmp_path / "elsewhere.json").write_bytes(b"{}")  # another writer: seen after the next sync
    (tmp_path / "before.json").unlink()
    batch.sync()
    assert batch.exists(tmp_path / "elsewhere.json") and not batch.exists(tmp_path / "before.json")
    assert batch.exists(tmp_path / "a.json") and not batch.exists(tmp_path / "b.json")
    assert not batch.exists(tmp_path / "missing" / "c.json")
    batch.close()


def test_a_game_under_its_full_name_stays_there_once_its_write_has_landed(tmp_path):
    from recorder.files import WriteBatch

    layout, batch = RecordingsLayout(tmp_path), WriteBatch()
    game = small_game()
    twin = small_game(game_id="20251212-01234567ffffffff")  # the same short name
    layout.store_game(game, batch=batch)
    full = layout.store_game(twin, batch=batch).path
    batch.wait()  # landed, not synced: the folder's listing predates it
    assert layout.store_game(twin, batch=batch).path == full
    batch.close()
    assert sorted(p.name for p in full.parent.iterdir()) == sorted([layout.game_path(game).name, full.name])


def test_a_batch_lands_its_writes_in_rounds_as_atomic_writes_would(tmp_path, monkeypatch):
    """Rounds (every max_pending writes, and at wait): each file as atomic_write_bytes leaves it (the
    stamp it returns included), the last write of a path wins, done in the order of the writes, a failed
    fsync fails only its write and leaves no temporary file."""
    import recorder.files.batch as batch_module
    from recorder.files import WriteBatch
    from recorder.files.jsonio import file_stamp

    folders = [tmp_path / "a", tmp_path / "b"]
    for folder in folders:
        folder.mkdir()
    batch, landed = WriteBatch(max_pending=4, writers=3), []

    def done(path: Path, stamp: object, error: BaseException | None) -> None:
        landed.append((path.name, stamp, error))

    writes = [(folders[i % 2] / f"f{i % 7}.json", f"{i}".encode() * (i + 1)) for i in range(11)]
    for count, (path, data) in enumerate(writes, 1):
        batch.write(path, data, done)
        assert batch.read_bytes(path) == data
        assert len(landed) == count // 4 * 4  # a round at every 4th write
    real_fsync = os.fsync

    def failing_fsync(fd: int) -> None:
        if os.fstat(fd).st_size == 3:  # the write of b"222"
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(batch_module.os, "fsync", failing_fsync)
    batch.write(folders[0] / "g.json", b"222", done)  # the 12th write: a round
    monkeypatch.undo()
    assert [name for name, _, _ in landed] == [p.name for p, _ in writes] + ["g.json"]
    assert isinstance(landed[-1][2], OSError) and not (folders[0] / "g.json").exists()
    last = {path: data for path, data in writes}
    for path, data in last.items():
        assert path.read_bytes() == data
    assert all(error is None and stamp is not None for _, stamp, error in landed[:-1])
    assert landed[len(writes) - 1][1] == file_stamp(writes[-1][0])  # the stamp of the file as it is
    assert not [p for f in folders for p in f.iterdir() if p.name.startswith(".")]  # no temporary file
    batch.sync()
    assert sorted(p.name for f in folders for p in f.iterdir()) == sorted(p.name for p in last)
    batch.close()


@pytest.mark.parametrize("with_syncfs", [True, False])
def test_a_round_is_committed_by_one_syncfs_then_each_file_is_fsynced(tmp_path, monkeypatch, with_syncfs):
    """On Linux a round of SYNCFS_FROM files or more is committed by one syncfs per file system, and every
    file is still fsynced (fsync's guarantee and its per-file error); elsewhere, only the fsyncs."""
    import recorder.files.batch as batch_module
    from recorder.files import WriteBatch

    if with_syncfs and batch_module._syncfs is None:
        pytest.skip("no syncfs on this system")
    committed: list[int] = []
    real_syncfs, real_fsync = batch_module._syncfs, os.fsync
    fsynced: list[int] = []
    spy = (lambda fd: (committed.append(fd), real_syncfs(fd))[1]) if with_syncfs else None  # type: ignore[misc]
    monkeypatch.setattr(batch_module, "_syncfs", spy)
    monkeypatch.setattr(batch_module.os, "fsync", lambda fd: (fsynced.append(fd), real_fsync(fd))[1])
    batch = WriteBatch()
    paths = [tmp_path / f"f{i}.json" for i in range(batch_module.SYNCFS_FROM + 2)]
    for i, path in enumerate(paths):
        batch.write(path, b"x" * i)
    batch.wait()
    assert len(committed) == (1 if with_syncfs else 0)
    assert len(fsynced) == len(paths)
    assert [p.read_bytes() for p in paths] == [b"x" * i for i in range(len(paths))]
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    batch.close()


def test_a_batch_lands_a_whole_round_before_its_callbacks(tmp_path):
    """A done that raises (a bug of the caller) still leaves every file of its round landed."""
    from recorder.files import WriteBatch

    batch = WriteBatch()

    def broken(path: Path, stamp: object, error: BaseException | None) -> None:
        raise RuntimeError("bug")

    batch.write(tmp_path / "a.json", b"a", broken)
    batch.write(tmp_path / "b.json", b"b")
    with pytest.raises(RuntimeError, match="bug"):
        batch.sync()
    assert (tmp_path / "a.json").read_bytes() == b"a" and (tmp_path / "b.json").read_bytes() == b"b"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    batch.close()
