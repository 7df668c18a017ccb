"""Daily indexes: rebuilt from the files, corrupt files reported and excluded, stale indexes detected."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from test_files_common import real_games, real_sessions, small_game, write_tree

from recorder.files import (
    DailyIndex,
    RecordingFormatError,
    RecordingsLayout,
    build_index,
    day_dirs,
    index_status,
    load_index,
    read_index,
    rebuild_all,
    rebuild_index,
)


@pytest.fixture
def tree(tmp_path, seeded_games, raw_events):
    games, sessions = real_games(seeded_games), real_sessions(raw_events)
    layout = write_tree(tmp_path / "recordings", games, sessions)
    return layout, games, sessions


def test_rebuild_indexes_every_file(tree):
    layout, games, sessions = tree
    report = rebuild_all(layout.root)
    assert report.ok and len(report.days) == 1
    assert (report.games, report.sessions) == (12, len(sessions))
    day = layout.days()[0]
    index = read_index(day)
    assert index.date.isoformat() == "2025-12-12" and index.excluded is None
    assert [e.file for e in index.games] == sorted(e.file for e in index.games)
    by_id = {g.meta.game_id: g for g in games}
    for entry in index.games:
        game = by_id[entry.game_id]
        assert (entry.duration_ticks, entry.peak_multiplier) == (
            game.meta.duration_ticks,
            game.meta.peak_multiplier,
        )
        assert entry.start_time == game.meta.start_time and entry.rug_price == game.rug_price
        assert (day / entry.file).stat().st_size == entry.size
    zer0 = next(e for e in index.sessions if e.username == "Zer02Her0")
    assert zer0.total_actions == 5 and zer0.games_played == 2
    assert zer0.game_ids == ("20251212-25dcb17086a24ad7", "20251212-6114b2ff44ef4b71")
    assert {e.username for e in index.sessions_with("20251212-6114b2ff44ef4b71")} == {"Zer02Her0", "osmraisa"}
    assert index.game("20251212-25dcb17086a24ad7").duration_ticks == 230
    # the seed format's keys come first, in order
    doc = json.loads((day / "index.json").read_text())
    assert list(doc) == ["date", "games", "sessions"]
    assert list(doc["games"][0])[:5] == ["file", "game_id", "start_time", "duration_ticks", "peak_multiplier"]
    assert list(doc["sessions"][0])[:5] == ["file", "player_id", "username", "games_played", "total_actions"]


def test_the_index_is_only_a_cache(tree):
    layout, _, _ = tree
    rebuild_all(layout.root)
    day = layout.days()[0]
    first = (day / "index.json").read_bytes()
    assert rebuild_index(day).written is False  # already up to date: not rewritten
    (day / "index.json").unlink()
    assert rebuild_index(day).written is True
    assert (day / "index.json").read_bytes() == first  # deterministic
    assert DailyIndex.from_json_bytes(first).to_json_bytes() == first


def test_corrupt_files_are_reported_and_excluded(tree):
    layout, _, _ = tree
    day = layout.days()[0]
    victim = layout.game_files(day)[3]
    victim.write_bytes(victim.read_bytes()[:100])
    doc = json.loads(layout.session_files(day)[0].read_text())
    doc["actions"][0]["action"] = "HODL"
    bad_session = layout.session_files(day)[0]
    bad_session.write_text(json.dumps(doc))
    report = rebuild_index(day)
    assert (report.games, report.sessions) == (11, len(layout.session_files(day)) - 1)
    assert [p.path for p in report.problems] == [victim, bad_session]
    assert "invalid JSON" in report.problems[0].error and str(victim) in report.problems[0].error
    assert 'actions[0].action: unknown value "HODL"' in report.problems[1].error
    index = read_index(day)
    assert [e.file for e in index.excluded] == [f"games/{victim.name}", f"sessions/{bad_session.name}"]
    assert index.excluded[1].error.startswith("actions[0].action: ")
    assert not index_status(day).stale  # excluded files are accounted for


def test_a_busy_day_s_index_is_streamed_with_the_same_bytes(tmp_path):
    # 600 games: the index is written in several pieces, with the same bytes as the model gives
    layout = RecordingsLayout(tmp_path)
    start = datetime(2025, 12, 12, 0, 0, tzinfo=UTC)
    for i in range(600):
        layout.write_game(small_game(f"20251212-{i:016x}", start=start + timedelta(seconds=97 * i)))
    day = layout.days()[0]
    (layout.game_files(day)[7]).write_bytes(b"{")  # and an excluded file
    report = rebuild_index(day)
    data = (day / "index.json").read_bytes()
    assert report.written and report.games == 599 and len(data) > 3 * (1 << 16)
    assert data == build_index(day)[0].to_json_bytes()
    assert not rebuild_index(day).written  # unchanged: not rewritten


ROOT = Path(__file__).resolve().parent.parent
PEAK_PROBE = """
import json, sys, tracemalloc
from pathlib import Path
from recorder.files import KnownFile, file_stamp, rebuild_index

root, count = Path(sys.argv[1]), int(sys.argv[2])
games = root / "2025-12-12" / "games"
games.mkdir(parents=True)
known = {}
for i in range(count):
    name = f"20251212T{i // 3600:02d}{i // 60 % 60:02d}{i % 60:02d}.000Z_{i:08x}.game.json"
    path = games / name
    path.write_bytes(b"{}")
    text = f'{{"file": "games/{name}", "game_id": "20251212-{i:016x}", "size": 2}}'
    known[str(path)] = KnownFile(file_stamp(path), f"games/{name}", text, f"20251212-{i:016x}")
rebuild_index(games.parent, known)  # once untraced: what a first call caches is not the day's
tracemalloc.start()
report = rebuild_index(games.parent, known)
peak = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
last = json.loads((games.parent / "index.json").read_text())["games"][-1]
print(json.dumps({"peak": peak, "games": report.games, "problems": len(report.problems), "last": last}))
"""


def test_a_rebuild_s_memory_hardly_grows_with_the_day(tmp_path):
    # a live recorder rebuilds its day's index every 30 s: holding the day's entries at once made its
    # memory grow with the day's games (the allocator keeps what a peak took). Measured in a fresh
    # interpreter: in this one, a global table (pathlib's interned names) may choose that moment to grow.
    peaks = {}
    for count in (200, 2000):
        done = subprocess.run(
            [sys.executable, "-c", PEAK_PROBE, str(tmp_path / str(count)), str(count)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=ROOT,
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert (result["games"], result["problems"], result["last"]["size"]) == (count, 0, 2)
        peaks[count] = result["peak"]
    per_file = (peaks[2000] - peaks[200]) / 1800
    assert per_file < 300, f"{per_file:.0f} bytes of peak memory per file (holding entries: ~580)"


def test_misplaced_and_duplicate_files_are_reported(tree):
    layout, games, _ = tree
    day = layout.days()[0]
    # a game copied into another day folder does not belong there
    other = layout.root / "2025-12-13" / "games"
    other.mkdir(parents=True)
    shutil.copy(layout.game_files(day)[0], other / layout.game_files(day)[0].name)
    report = rebuild_index(other.parent)
    assert (
        report.games == 0
        and "misplaced: its content belongs at 2025-12-12/games/" in report.problems[0].error
    )
    # the same game id under a second name in the right folder
    game = games[0]
    moved = game.replace(
        meta=game.meta.replace(start_time=game.meta.start_time.replace(second=0, microsecond=0))
    )
    layout.write_game(moved)
    report = rebuild_index(day)
    assert len(report.problems) == 1 and "duplicate of game" in report.problems[0].error
    assert report.games == 12


def test_stale_index_detection(tree):
    layout, _, _ = tree
    day = layout.days()[0]
    status = index_status(day)
    assert status.stale and not status.exists
    rebuild_index(day)
    assert not index_status(day).stale
    # a new file
    new = layout.write_game(small_game(start=datetime(2025, 12, 12, 23, 0, tzinfo=UTC)))
    status = index_status(day)
    assert status.stale and status.not_indexed == [f"games/{new.name}"]
    rebuild_index(day)
    # a vanished file
    gone = layout.session_files(day)[0]
    gone.unlink()
    assert index_status(day).missing == [f"sessions/{gone.name}"]
    rebuild_index(day)
    # a rewritten file (e.g. verified since)
    layout.write_game(
        small_game(start=datetime(2025, 12, 12, 23, 0, tzinfo=UTC), verified=False, trade_count=9)
    )
    assert index_status(day).changed == [f"games/{new.name}"]
    # temp files and other names do not count
    (new.parent / f".{new.name}.abc.tmp").write_bytes(b"{")
    (new.parent / "notes.txt").write_text("hi")
    rebuild_index(day)
    assert not index_status(day).stale
    # an unreadable index
    (day / "index.json").write_text("{")
    status = index_status(day)
    assert status.stale and "invalid JSON" in status.error


def test_load_index_rebuilds_when_stale(tree):
    layout, _, _ = tree
    day = layout.days()[0]
    index = load_index(day, write=False)
    assert len(index.games) == 12 and not (day / "index.json").exists()
    assert load_index(day) == index and (day / "index.json").exists()
    layout.game_files(day)[0].unlink()
    with pytest.raises(RecordingFormatError):
        (day / "index.json").write_text("[]")
        load_index(day, rebuild_if_stale=False)
    assert len(load_index(day).games) == 11


def test_index_reading_is_strict(tmp_path):
    day = tmp_path / "2025-12-12"
    day.mkdir()
    good = json.loads(DailyIndex(date=datetime(2025, 12, 12).date(), games=(), sessions=()).to_json_bytes())
    cases = [
        ({**good, "date": "2025-12-32"}, "date", "not a valid date"),
        ({**good, "games": [{"file": "../../x.game.json"}]}, "games[0].file", "not a game file path"),
        ({**good, "games": {}}, "games", "expected an array"),
        ({k: v for k, v in good.items() if k != "sessions"}, "sessions", "required field is missing"),
        (
            {**good, "excluded": [{"file": "games/.hidden", "size": 1, "error": "x"}]},
            "excluded[0].file",
            "not a",
        ),
    ]
    for doc, field, message in cases:
        (day / "index.json").write_text(json.dumps(doc))
        with pytest.raises(RecordingFormatError) as info:
            read_index(day)
        assert info.value.field == field and message in info.value.detail, str(info.value)


def test_listing_skips_temp_and_foreign_files(tree):
    layout, _, _ = tree
    day = layout.days()[0]
    (layout.root / "not-a-day").mkdir()
    (layout.root / "2025-13-01").mkdir()
    (layout.root / "README.md").write_text("x")
    games_dir = day / "games"
    (games_dir / ".x.game.json.1234.tmp").write_text("{")
    (games_dir / ".DS_Store").write_text("")
    assert layout.days() == [day] and day_dirs(layout.root) == [day] and day_dirs(day) == [day]
    assert len(layout.game_files()) == 12
    assert sum(1 for _ in layout.iter_games()) == 12
    assert layout.find_game("20251212-25dcb17086a24ad7").name.endswith("_25dcb170.game.json")
    assert layout.find_game("20251212-25dcb170ffffffff") is None


def test_iteration_is_strict_unless_told_otherwise(tree):
    layout, _, _ = tree
    victim = layout.game_files()[0]
    victim.write_text("{}")
    with pytest.raises(RecordingFormatError, match="meta: required field is missing"):
        list(layout.iter_games())
    seen: list = []
    assert len(list(layout.iter_games(on_error=lambda p, e: seen.append(p)))) == 11
    assert seen == [victim]


def test_build_index_needs_a_day_folder(tmp_path):
    with pytest.raises(ValueError, match="not a day folder"):
        build_index(tmp_path)
    assert RecordingsLayout(tmp_path / "nowhere").days() == []


def test_day_scan_lists_names_in_the_order_of_the_file_listing(tmp_path):
    # the names are sorted as bytes in one numpy block: the order must be the one sorted() gives the str
    # names, whatever their length (longer than the block's first width), script or shared prefixes
    from recorder.files.day_scan import _sorted_names

    names = [
        "20251212T000001.000Z_0000000a.game.json",
        "20251212T000001.000Z_0000000a.game.json.game.json",
        "é_0000000b.game.json",
        "z" * 120 + ".game.json",
        "Z_upper.game.json",
        "20251212T000000.000Z_ffffffff.game.json",
        "ü€_0000000c.game.json",
    ]
    for name in [*names, ".tmp-hidden.game.json", "notes.txt"]:
        (tmp_path / name).write_bytes(b"{}")
    listed = [os.fsdecode(raw) for raw in _sorted_names(tmp_path, ".game.json")]
    assert listed == sorted(names)
    assert len(_sorted_names(tmp_path / "absent", ".game.json")) == 0
