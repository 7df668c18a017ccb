"""``rugs games``: the indexed games of a folder as one table, sorted and filtered, across days."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from test_files_common import real_games, real_sessions, small_game, write_tree

from recorder.files import RecordingsLayout, rebuild_all
from rugs_env.cli import COMMANDS, main

NEXT_DAY_GAME = "20251213-0123456789abcdef"


@pytest.fixture
def root(tmp_path, seeded_games, raw_events) -> Path:
    """The 12 real games (2 of them marked verified), their 10 sessions, one small game the next day."""
    games = real_games(seeded_games)
    games = [g.replace(meta=g.meta.replace(verified=True)) if g.rug_tick == 16 else g for g in games]
    layout = write_tree(tmp_path / "recordings", games, real_sessions(raw_events))
    layout.write_game(small_game(NEXT_DAY_GAME, datetime(2025, 12, 13, 1, 2, 3, tzinfo=UTC)))
    return layout.root


@pytest.fixture
def history(seeded_games) -> dict[str, dict]:
    """The gameHistory entries the games were made from, by id."""
    return seeded_games


def games_json(capsys, *args: str) -> list[dict]:
    assert main(["games", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def ids(rows: list[dict]) -> list[str]:
    return [r["id"] for r in rows]


def test_games_is_a_command():
    assert "games" in COMMANDS


def test_table_of_every_day(root, capsys):
    assert main(["games", str(root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == "date id start duration peak rug_price verified sessions".split()
    assert lines[-1] == "13 games in 2 days"
    live = next(line for line in lines if "20251212-25dcb17086a24ad7" in line)
    expected = "2025-12-12 20251212-25dcb17086a24ad7 22:16:59 230 1.27x 0.00655 no 9"
    assert live.split() == expected.split()
    assert lines[-2].split()[:2] == ["2025-12-13", NEXT_DAY_GAME]  # start order, across days
    widths = {len(line) for line in lines[1:-1]}
    assert len(widths) == 1  # aligned
    assert (root / "2025-12-12" / "index.json").is_file()  # the missing indexes were built and saved


def test_json_has_exact_values(root, history, capsys):
    rows = games_json(capsys, str(root))
    assert len(rows) == 13
    row = next(r for r in rows if r["id"] == "20251212-25dcb17086a24ad7")
    entry = history[row["id"]]
    assert row["peak"] == repr(float(entry["peakMultiplier"])) == "1.273803618739543"
    assert row["rug_price"] == repr(float(entry["prices"][-1])) == "0.006550710277065084"
    assert row["duration"] == len(entry["prices"]) == 230
    assert row["verified"] is False and row["sessions"] == 9 and row["date"] == "2025-12-12"
    assert row["start"] == "2025-12-12T22:16:59.365Z" and row["end"] == "2025-12-12T22:17:56.865Z"
    assert row["file"] == "2025-12-12/games/20251212T221659_25dcb170.game.json"
    day_rows = games_json(capsys, str(root / "2025-12-13"))
    assert [r["file"] for r in day_rows] == ["games/20251213T010203_01234567.game.json"]


def test_sort_and_limit(root, history, capsys):
    by_peak = sorted(history, key=lambda g: float(history[g]["peakMultiplier"]), reverse=True)
    assert ids(games_json(capsys, str(root), "--sort", "peak", "--desc", "--limit", "3")) == by_peak[:3]
    by_duration = ids(games_json(capsys, str(root), "--sort", "duration"))
    assert by_duration[0] == NEXT_DAY_GAME  # 3 ticks
    assert ids(games_json(capsys, str(root), "--limit", "0")) == []


def test_where(root, history, capsys):
    big = {g for g, e in history.items() if float(e["peakMultiplier"]) >= 2}
    assert set(ids(games_json(capsys, str(root), "--where", "peak>=2"))) == big
    assert set(ids(games_json(capsys, str(root), "--where", "peak >= 2x"))) == big
    short = {g for g, e in history.items() if len(e["prices"]) < 50} | {NEXT_DAY_GAME}
    assert set(ids(games_json(capsys, str(root), "--where", "duration<50"))) == short
    assert len(short) == 4
    verified = ids(games_json(capsys, str(root), "--where", "verified=true"))
    assert set(verified) == {"20251212-dbb443e2e08a45fd", "20251212-6114b2ff44ef4b71"}
    assert len(games_json(capsys, str(root), "--where", "verified=false")) == 11  # absent counts as false
    assert len(games_json(capsys, str(root), "--where", "date=2025-12-12")) == 12
    assert ids(games_json(capsys, str(root), "--where", "id~25dc")) == ["20251212-25dcb17086a24ad7"]
    both = games_json(capsys, str(root), "--where", "sessions>0", "--where", "duration<50")
    assert ids(both) == ["20251212-6114b2ff44ef4b71"]
    assert len(games_json(capsys, str(root), "--where", "start>=2025-12-12T22:15")) == 4


def test_stale_index_is_rebuilt(root, capsys):
    assert main(["games", str(root)]) == 0
    capsys.readouterr()
    RecordingsLayout(root).write_game(small_game())  # after indexing
    rows = games_json(capsys, str(root))
    assert "20251212-0123456789abcdef" in ids(rows) and len(rows) == 14


def test_read_only_folder_rebuilds_in_memory(root, capsys, monkeypatch):
    import recorder.files.index as index_module

    def refuse(path, chunks):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(index_module, "atomic_write_chunks", refuse)
    assert len(games_json(capsys, str(root))) == 13
    assert not (root / "2025-12-12" / "index.json").exists()


def test_corrupt_files_are_noted(root, capsys):
    victim = sorted((root / "2025-12-12" / "games").iterdir())[0]
    victim.write_text("{")
    assert main(["games", str(root)]) == 0
    captured = capsys.readouterr()
    assert "12 games in 2 days" in captured.out
    assert "2025-12-12: 1 file could not be indexed (rugs verify" in captured.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--where", "peek>2"],
            "unknown field 'peek' in --where 'peek>2'; valid fields: date, id, start, duration",
        ),
        (["--where", "peak"], "bad --where expression 'peak': expected FIELD OP VALUE"),
        (["--where", "peak>abc"], "--where 'peak>abc': peak needs a number, got 'abc'"),
        (["--where", "peak~2"], "--where 'peak~2': ~ works on text fields only"),
        (["--where", "verified=maybe"], "verified takes = or != with true or false"),
        (["--sort", "size"], "unknown field 'size' in --sort; valid fields: date, id, start"),
        (["--limit", "-1"], "--limit must be >= 0"),
    ],
)
def test_user_errors(root, capsys, args, message):
    assert main(["games", str(root), *args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("rugs games: error: ") and message in err and err.count("\n") == 1


def test_empty_and_missing_folders(tmp_path, capsys):
    assert main(["games", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "no games\n"
    assert main(["games", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_rebuilt_tree_and_fresh_index_agree(root, capsys):
    rebuild_all(root)
    assert len(games_json(capsys, str(root))) == 13
