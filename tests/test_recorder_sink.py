"""The recording sink: a clean close of its writer thread, indexes from what it wrote, batched folder syncs.

- ``close()`` writes what is queued, rebuilds the indexes, stops the session-writer thread; it is idempotent,
  and a session written after it is written at once (nothing lost). A ``with`` block closes too.
- The index a sink builds from the entries of the files it has just written (no read back) is byte for byte
  the index a rebuild from the files gives, and a file changed behind its back (rewritten, corrupted,
  replaced, removed) is read again, so the index still tells the truth.
- Ingest fsyncs each folder once at the end rather than once per file, and leaves no temporary file; its
  write batch (the files' I/O in a thread) shows the sink its queued writes at once (a short-name collision
  among queued games is still seen), lands them in order, and a failed write is counted, not lost silently.
- The sink keeps no record per game written (a small int per file in the tree, a bounded cache of records).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from conftest import RAW_CAPTURE
from test_files_common import real_games, real_sessions, small_game

import recorder.files.jsonio as jsonio
from recorder.files import RecordingsLayout, build_index, file_stamp, known_file, read_index, rebuild_index
from recorder.files.jsonio import dumps_document
from recorder.ingest import ingest_files
from recorder.sink import RecordingSink


def writer_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "session-writer"]


def index_from_files(day: Path) -> bytes:
    return dumps_document(build_index(day)[0].to_file_dict())


def test_close_writes_the_queue_and_stops_the_thread(tmp_path: Path, raw_events: list) -> None:
    before = len(writer_threads())
    sessions = real_sessions(raw_events)
    sink = RecordingSink(tmp_path, background=True)
    assert len(writer_threads()) == before + 1
    for session in sessions:
        assert sink.write_session(session) is None  # queued for the thread
    sink.close()
    assert len(writer_threads()) == before and sink.sessions_written == len(sessions)
    day = RecordingsLayout(tmp_path).days()[0]
    assert len(read_index(day).sessions) == len(sessions)
    sink.close()  # idempotent
    late = sessions[0].replace(meta=sessions[0].meta.replace(session_end=sessions[0].meta.session_end))
    assert sink.write_session(late) is not None  # after close: written at once, in this thread
    assert sink.sessions_written == len(sessions) + 1
    with RecordingSink(tmp_path / "with", background=True) as scoped:
        scoped.write_session(sessions[0])
    assert len(writer_threads()) == before and scoped.sessions_written == 1


def test_close_without_a_thread_flushes(tmp_path: Path) -> None:
    sink = RecordingSink(tmp_path, index_interval=-1)
    sink.write_game(small_game())
    assert not (tmp_path / "2025-12-12" / "index.json").exists()
    sink.close()
    sink.close()
    assert len(read_index(tmp_path / "2025-12-12").games) == 1


def test_index_from_known_entries_is_the_index_from_the_files(
    tmp_path: Path, seeded_games: dict, raw_events: list, monkeypatch
) -> None:
    games, sessions = real_games(seeded_games), real_sessions(raw_events)
    sink = RecordingSink(tmp_path, index_interval=-1, keep_known=100)
    for game in games:
        sink.write_game(game)
    for session in sessions:
        sink.write_session(session)
    day = RecordingsLayout(tmp_path).days()[0]
    known = dict(sink.known.day(str(day)))
    assert len(known) == len(games) + len(sessions) and sink.known.counts() == (len(known), 0)
    reads: list[Path] = []
    original = Path.read_bytes

    def spy(path: Path) -> bytes:
        reads.append(path)
        return original(path)

    with monkeypatch.context() as patch:
        patch.setattr(Path, "read_bytes", spy)
        sink.flush()
    assert [p for p in reads if p.name != "index.json"] == []  # not one file read back
    assert (day / "index.json").read_bytes() == index_from_files(day)
    assert sink.known.counts() == (0, len(known))  # kept (keep_known=100) for the next rebuild

    # changed behind the sink's back: rewritten (another size), corrupted, replaced, removed
    layout = RecordingsLayout(tmp_path)
    changed = layout.write_game(games[0].replace(meta=games[0].meta.replace(trade_count=123456)))
    corrupt = layout.game_path(games[1])
    corrupt.write_bytes(b"{}")
    replaced = layout.game_path(games[2])
    data = replaced.read_bytes()
    replaced.unlink()
    replaced.write_bytes(data.replace(b'"version": "v3"', b'"version": "v2"'))  # same size, new inode
    removed = layout.session_path(sessions[0])
    removed.unlink()
    assert file_stamp(changed) != known[str(changed)].stamp
    assert file_stamp(replaced) != known[str(replaced)].stamp
    report = rebuild_index(day, sink.known.day(str(day)))
    assert (day / "index.json").read_bytes() == index_from_files(day)
    assert [p.path for p in report.problems] == [corrupt]
    index = read_index(day)
    assert index.game(games[0].game_id) is not None and index.excluded is not None
    assert not any(e.file.endswith(removed.name) for e in index.sessions)


def test_a_known_entry_is_used_only_for_its_own_file(tmp_path: Path) -> None:
    layout = RecordingsLayout(tmp_path)
    game, other = small_game(), small_game(game_id="20251212-fedcba9876543210")
    written = layout.store_game(game)
    other_path = layout.write_game(other)
    assert written.stamp is not None and written.stamp == file_stamp(written.path)
    day = written.path.parent.parent
    # an entry offered for the wrong file is not taken
    wrong = {str(other_path): known_file(written.path, written.stamp, game)}
    assert build_index(day, wrong)[0] == build_index(day)[0]


def test_ingest_syncs_each_folder_once_and_leaves_no_temporary_file(tmp_path: Path, monkeypatch) -> None:
    synced: list[Path] = []
    original = jsonio.fsync_dir
    monkeypatch.setattr(jsonio, "fsync_dir", lambda d: (synced.append(Path(d)), original(d))[1])
    report = ingest_files([RAW_CAPTURE], tmp_path / "rec", follow=["*"], utc_offset=timedelta(hours=-5))
    files = report.games + report.sessions
    assert files > 30
    assert len(synced) < 12  # new folders, each folder once, the index: not one per file
    assert not [p for p in (tmp_path / "rec").rglob("*") if jsonio.is_temp_file(p)]
    day = RecordingsLayout(tmp_path / "rec").days()[0]
    assert (day / "index.json").read_bytes() == index_from_files(day)


# -- where games are on disk: bounded memory ----------------------------------------------------------------
def test_the_sink_keeps_no_record_per_game_written(tmp_path: Path, monkeypatch) -> None:
    from recorder.game_finder import STORED_CACHE

    sink = RecordingSink(tmp_path, index_interval=-1)
    start = datetime(2025, 12, 12, 22, 0, 0, tzinfo=UTC)
    ids = [f"20251212-{i:08x}{i:08x}" for i in range(STORED_CACHE + 100)]
    for i, game_id in enumerate(ids):
        assert sink.write_game(small_game(game_id, start + timedelta(seconds=i))) is not None
    assert len(sink.on_disk._stored) == STORED_CACHE
    assert sum(map(len, sink.on_disk._index().values())) == len(ids)  # one small int a file
    listed: list[Path] = []
    original = sink.layout.game_files

    def spy(day: Path | None = None) -> list[Path]:
        listed.extend([day] if day is not None else [])
        return original(day)

    monkeypatch.setattr(sink.layout, "game_files", spy)
    assert sink.find_game("20251212-ffffffff00000000") is None and listed == []  # unknown: nothing listed
    first = sink.find_game(ids[0])  # forgotten by the cache: found on disk again
    assert first is not None and first.game_id == ids[0] and len(listed) == 1
    sink.close()


def test_a_better_recording_at_another_path_replaces_the_old_file(tmp_path: Path) -> None:
    sink = RecordingSink(tmp_path, index_interval=-1)
    start = datetime(2025, 12, 12, 22, 0, 0, tzinfo=UTC)
    old = sink.write_game(small_game(start=start, source="history"))
    assert old is not None and sink.write_game(small_game(start=start, source="history")) == old
    again = RecordingSink(tmp_path, index_interval=-1)  # a new run: finds the file on disk
    new = again.write_game(small_game(start=start + timedelta(seconds=2), source="live"))
    assert new is not None and new != old and not old.exists() and again.games_replaced == 1
    kept = again.write_game(small_game(start=start, source="history"))  # worse: the better one stays
    assert kept == new and again.games_kept == 1 and not old.exists()
    again.close()
    day = tmp_path / "2025-12-12"
    assert [e.file for e in read_index(day).games] == [f"games/{new.name}"]
    assert (day / "index.json").read_bytes() == index_from_files(day)


def test_a_write_heals_the_duplicate_a_crash_left(tmp_path: Path) -> None:
    # killed between writing a better file at a new path and removing the old one: two files of one game
    layout = RecordingsLayout(tmp_path)
    start = datetime(2025, 12, 12, 22, 0, 0, tzinfo=UTC)
    old = layout.store_game(small_game(start=start, source="history")).path
    better = layout.store_game(small_game(start=start + timedelta(seconds=2), source="live")).path
    assert old != better and old.exists() and better.exists()
    sink = RecordingSink(tmp_path, index_interval=-1)
    assert [c.path for c in sink.on_disk.copies(small_game().game_id)] == [better, old]  # best first
    kept = sink.write_game(small_game(start=start, source="history"))  # worse than the kept one
    assert kept == better and sink.games_kept == 1 and not old.exists()
    # and a write better than every copy removes them all
    layout.store_game(small_game(start=start + timedelta(seconds=4), source="history"))
    best = RecordingSink(tmp_path, index_interval=-1)
    new = best.write_game(small_game(start=start + timedelta(seconds=6), source="live"))  # as good: written
    assert new is not None and best.games_replaced == 2
    assert [p.name for p in layout.game_files(tmp_path / "2025-12-12")] == [new.name]
    sink.close()
    best.close()


def test_short_keys_hold_many_keys_in_a_sorted_array(monkeypatch) -> None:
    import random

    import recorder.game_finder as finder

    monkeypatch.setattr(finder, "RECENT_KEYS", 8)
    rng = random.Random(7)
    present = {rng.randrange(2**32) for _ in range(500)} | {0, 2**32 - 1}
    keys = finder.ShortKeys(list(present)[:100])
    for key in list(present)[100:]:
        keys.add(key)
        keys.add(key)  # twice: still one key
    assert len(keys) == len(present) and sorted(keys.keys()) == sorted(present)
    assert all(key in keys for key in present)
    assert not any(key in keys for key in (rng.randrange(2**32) for _ in range(2000)) if key not in present)


def test_only_eight_hex_digits_make_a_short_key() -> None:
    from recorder.files.naming import name_key, short_key

    assert short_key("0123abcdEF") == 0x0123ABCD and short_key("ffffffff") == 2**32 - 1
    signs_and_spaces = ("-1234567", "+1234567", "0x123456", " 1234567", "1_234567")
    for text in (*signs_and_spaces, "1234567", "g1234567", "１2345678"):
        assert short_key(text) is None, text
    assert name_key("20251212T220000_0123abcd.json") == 0x0123ABCD and name_key("nokey.json") is None


# -- the write batch of ingest: the files landed in rounds ------------------------------------------------
class Held:
    """Holds the batch's writers before each write until released (none may write before then)."""

    def __init__(self, monkeypatch, fail: str | None = None) -> None:
        import recorder.files.batch as batch_module

        self.gate = threading.Event()
        self.fail = fail
        original = batch_module.write_temp

        def held(path: Path, data: bytes):
            self.gate.wait(30)
            if self.fail is not None and self.fail in path.name:
                raise OSError(28, "No space left on device", str(path))
            return original(path, data)

        monkeypatch.setattr(batch_module, "write_temp", held)


def test_a_write_batch_shows_its_queued_writes_and_lands_them_in_order(tmp_path: Path, monkeypatch) -> None:
    from recorder.files import WriteBatch

    held = Held(monkeypatch)
    batch = WriteBatch()
    landed: list[tuple[str, bool]] = []
    target = tmp_path / "a.json"
    batch.write(target, b"one", lambda p, stamp, err: landed.append((p.name, stamp is not None)))
    batch.write(target, b"two", lambda p, stamp, err: landed.append((p.name, stamp is not None)))
    assert batch.exists(target) and not target.exists() and batch.read_bytes(target) == b"two"
    held.gate.set()
    batch.sync()
    assert target.read_bytes() == b"two" and landed == [("a.json", True), ("a.json", True)]
    batch.close()
    batch.close()


def test_a_better_recording_whose_write_fails_leaves_the_old_file(tmp_path: Path, monkeypatch) -> None:
    start = datetime(2025, 12, 12, 22, 0, 0, tzinfo=UTC)
    old = RecordingsLayout(tmp_path).store_game(small_game(start=start, source="history")).path
    held = Held(monkeypatch, fail="T220002")  # the better file's name (its start, 2 s later)
    held.gate.set()
    sink = RecordingSink(tmp_path, index_interval=-1, batch_sync=True)
    sink.write_game(small_game(start=start + timedelta(seconds=2), source="live"))  # fails as it lands
    sink.close()
    assert old.exists() and sink.errors == 1 and sink.games_replaced == 0


def test_the_sink_sees_its_queued_writes_and_counts_failed_ones(tmp_path: Path, monkeypatch) -> None:
    held = Held(monkeypatch, fail="fedcba98")
    sink = RecordingSink(tmp_path, index_interval=-1, batch_sync=True)
    game = small_game()
    twin = small_game(game_id="20251212-01234567ffffffff")  # the same short name: takes its full name
    doomed = small_game(game_id="20251212-fedcba9876543210")
    first, second, third = sink.write_game(game), sink.write_game(twin), sink.write_game(doomed)
    assert first is not None and second is not None and third is not None
    assert second.name.endswith("_01234567ffffffff.game.json") and not first.exists()  # all still queued
    assert sink.find_game(game.game_id) is not None  # the sink sees what it queued
    assert sink.write_game(game) == first  # the same game again: same file
    held.gate.set()
    sink.close()
    assert first.exists() and second.exists() and not third.exists()
    assert sink.errors == 1 and sink.games_written == 3  # 4 writes, one failed
    day = tmp_path / "2025-12-12"
    assert len(read_index(day).games) == 2
    assert (day / "index.json").read_bytes() == index_from_files(day)
