"""``rugs verify`` and :mod:`recorder.checks`: real seeded games, damaged on purpose, counted exactly."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from test_files_common import real_games, real_sessions, small_game, write_tree

from recorder.checks import GameStatus, Kind, check_game
from recorder.checks_tree import check_recordings
from recorder.files import (
    GameRecording,
    RecordingsLayout,
    SessionRecording,
    SessionVerification,
    read_game,
    rebuild_all,
)
from recorder.files.jsonio import dumps_document
from rugs_env.cli import COMMANDS, main

DAY = "2025-12-12"
LIVE_GAMES = {"20251212-25dcb17086a24ad7", "20251212-6114b2ff44ef4b71"}  # the ones the sessions trade in
QUIET_GAME = "20251212-483f2234b88c46e0"  # seeded, no session, rug at 362, peak at a tick other than 17


def verified(game: GameRecording, flag: bool | None = True) -> GameRecording:
    return game.replace(meta=game.meta.replace(verified=flag))


@pytest.fixture
def root(tmp_path, seeded_games, raw_events) -> Path:
    """12 verified games, 10 sessions (31 actions), a fresh index: everything checks out."""
    games = [verified(g) for g in real_games(seeded_games)]
    layout = write_tree(tmp_path / "recordings", games, real_sessions(raw_events))
    rebuild_all(layout.root)
    return layout.root


def game_file(root: Path, game_id: str) -> Path:
    path = RecordingsLayout(root).find_game(game_id)
    assert path is not None
    return path


def edit_json(path: Path, change) -> None:
    """Rewrite a file through a change to its JSON data, in the files' exact byte format."""
    data = json.loads(path.read_text())
    change(data)
    path.write_bytes(dumps_document(data))


def flip_digit(data: dict, tick: int) -> None:
    """Change the 6th decimal (the last ones may round back to the same double)."""
    text = data["prices"][tick]
    point = text.index(".")
    digit = text[point + 6]
    data["prices"][tick] = text[: point + 6] + str((int(digit) + 1) % 10) + text[point + 7 :]
    assert float(data["prices"][tick]) != float(text)


def summary(capsys) -> tuple[str, dict]:
    out = capsys.readouterr().out
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        for width in (2, 1):  # "corrupt files 0", "games 12 ..."
            if len(parts) > width and parts[width].isdigit():
                rows[" ".join(parts[:width])] = int(parts[width])
                break
    return out, rows


def test_verify_is_a_command():
    assert "verify" in COMMANDS


def test_clean_tree_passes(root, capsys):
    assert main(["verify", str(root)]) == 0
    out, rows = summary(capsys)
    assert rows["games"] == 12 and rows["verified"] == 12 and rows["unverified"] == 0
    assert rows["gaps"] == rows["mismatches"] == rows["corrupt files"] == 0
    assert rows["sessions"] == 10 and rows["actions"] == 31 and rows["drifts"] == 0 and rows["orphans"] == 0
    assert rows["stale indexes"] == 0
    assert out.rstrip().endswith("result: OK")


def test_flipped_price_digit_is_a_mismatch_at_its_tick(root, capsys):
    victim = game_file(root, QUIET_GAME)
    edit_json(victim, lambda d: flip_digit(d, 17))
    assert main(["verify", str(root)]) == 1
    out, rows = summary(capsys)
    assert rows["mismatches"] == 1 and rows["verified"] == 11 and rows["corrupt files"] == 0
    assert rows["stale indexes"] == 0  # same size, same peak: the index cannot tell, the seed can
    assert f"MISMATCH {victim}: does not verify although meta.verified is true: 1 difference" in out
    assert "price at tick 17: seed gives" in out
    assert "result: FAILED (1 mismatch)" in out
    problem = next(p for p in check_recordings(root).problems if p.kind is Kind.MISMATCH)
    assert (problem.game_id, problem.tick, problem.count) == (QUIET_GAME, 17, 1)


def test_truncated_file_is_corrupt(root, capsys):
    victim = game_file(root, QUIET_GAME)
    victim.write_bytes(victim.read_bytes()[:500])
    assert main(["verify", str(root)]) == 1
    out, rows = summary(capsys)
    assert rows["corrupt files"] == 1 and rows["games"] == 11 and rows["mismatches"] == 0
    assert rows["stale indexes"] == 1  # its size changed
    assert f"CORRUPT {victim}: " in out
    assert "index.json: stale: 1 changed since indexed (games/" in out
    assert "result: FAILED (1 corrupt file)" in out


def test_verified_flag_must_agree(root, capsys):
    claims_false = game_file(root, QUIET_GAME)
    edit_json(claims_false, lambda d: d["meta"].__setitem__("verified", False))
    rebuild_all(root)
    assert main(["verify", str(root)]) == 0  # understating is a warning only
    out, rows = summary(capsys)
    assert rows["verified"] == 12 and rows["unclaimed"] == 1
    assert f"UNCLAIMED {claims_false}: verifies against its seed, but meta.verified is false" in out
    assert "result: OK (1 warning)" in out


def test_wrong_seed_fails_every_check_it_can(root, capsys):
    victim = game_file(root, QUIET_GAME)
    edit_json(victim, lambda d: d["meta"].__setitem__("server_seed", "0" * 64))
    assert main(["verify", "--json", str(root)]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False and report["mismatches"] == 1 and report["failed"] == 1
    (problem,) = [p for p in report["problems"] if p["kind"] == "mismatch"]
    assert problem["path"] == str(victim) and problem["error"] is True
    assert "server_seed_hash: seed gives" in problem["message"]


def test_unseeded_games_are_unverified_not_errors(root, capsys):
    layout = RecordingsLayout(root)
    layout.write_game(small_game())
    layout.write_game(small_game("20251212-00000000000000aa", peak_multiplier=5.0))  # peak is not in prices
    rebuild_all(root)
    assert main(["verify", str(root)]) == 1
    out, rows = summary(capsys)
    assert (
        rows["games"] == 14 and rows["verified"] == 12 and rows["unverified"] == 2 and rows["mismatches"] == 1
    )
    assert "peak_multiplier is 5.0, the highest pre-rug price 1.0232624314453478" in out


def test_gaps_without_a_seed(root, capsys):
    layout = RecordingsLayout(root)
    layout.write_game(small_game(gaps_filled=1, price_sources={"tick": 2, "seed": 1}))
    rebuild_all(root)
    assert main(["verify", str(root)]) == 1
    out, rows = summary(capsys)
    assert rows["gaps"] == 1 and rows["mismatches"] == 0 and rows["unverified"] == 1
    assert "GAP " in out and "price_sources credits 1 ticks to the seed, but the file has no seed" in out
    assert "result: FAILED (1 gap)" in out


def test_filled_gaps_that_verify_are_counted(root, tmp_path, seeded_games):
    victim = game_file(root, QUIET_GAME)
    game = read_game(victim)
    n = len(game.prices)
    filled = game.replace(meta=game.meta.replace(gaps_filled=4, price_sources={"tick": n - 4, "seed": 4}))
    RecordingsLayout(root).write_game(filled)
    rebuild_all(root)
    report = check_recordings(root)
    assert report.ok and (report.filled_games, report.filled_ticks, report.gaps) == (1, 4, 0)
    broken = filled.replace(meta=filled.meta.replace(gaps_filled=9))
    check = check_game(broken)
    assert check.status is GameStatus.VERIFIED and not check.ok
    assert "gaps_filled is 9, but price_sources credits only 4 ticks" in check.problems[0].message


def test_orphan_sessions_and_drift(root, raw_events, capsys):
    layout = RecordingsLayout(root)
    for game_id in LIVE_GAMES:
        game_file(root, game_id).unlink()
    session = next(s for s in real_sessions(raw_events) if s.meta.username == "Zer02Her0")
    drifted = session.replace(
        meta=session.meta.replace(
            verification=SessionVerification(player_updates_checked=5, drift_count=2, max_drift_lamports=7)
        )
    )
    layout.write_session(drifted)
    rebuild_all(root)
    assert main(["verify", str(root)]) == 0  # orphans and drift are warnings
    out, rows = summary(capsys)
    assert rows["games"] == 10 and rows["orphans"] == 31 and rows["drifts"] == 2
    assert "orphans              31  actions, in 2 games" in out
    assert (
        "ORPHAN " in out
        and "3 actions in game 20251212-25dcb17086a24ad7, which has no readable recording" in out
    )
    assert "DRIFT " in out and "2 of 5 player updates differed" in out


def test_actions_past_the_rug_are_mismatches(root, raw_events, capsys):
    session = next(s for s in real_sessions(raw_events) if s.meta.username == "osmraisa")
    late = session.actions[0].replace(tick=17)  # game 6114b2ff rugged at tick 16
    RecordingsLayout(root).write_session(SessionRecording(meta=session.meta, actions=(late,)))
    rebuild_all(root)
    assert main(["verify", str(root)]) == 1
    out, rows = summary(capsys)
    assert rows["mismatches"] == 1
    assert "1 action in game 20251212-6114b2ff44ef4b71 after its rug at tick 16 (ticks 17)" in out


def test_index_problems_are_reported(root, capsys):
    day = root / DAY
    (day / "index.json").unlink()
    assert main(["verify", str(root)]) == 0
    out, rows = summary(capsys)
    assert rows["stale indexes"] == 1 and f"INDEX {day / 'index.json'}: missing" in out
    rebuild_all(root)
    RecordingsLayout(root).write_game(small_game())  # written after indexing
    assert main(["verify", str(root)]) == 0
    out, _ = summary(capsys)
    assert "stale: 1 not indexed (games/20251212T220000_01234567.game.json)" in out
    rebuild_all(root)
    # Same size, different content: only comparing the entries with the files notices.
    edit_json(day / "index.json", lambda d: d["games"][1].__setitem__("duration_ticks", 99))
    assert main(["verify", str(root)]) == 0
    out, _ = summary(capsys)
    assert (
        "disagrees with the files: games/20251212T220441_dbb443e2.game.json: duration_ticks is 99 in " in out
    )
    assert "the index, 17 in the file" in out


def test_misplaced_duplicate_and_stray_files(root, capsys):
    victim = game_file(root, QUIET_GAME)
    other_day = root / "2025-12-13" / "games"
    other_day.mkdir(parents=True)
    (other_day / victim.name).write_bytes(victim.read_bytes())
    (root / DAY / "games" / "notes.txt").write_text("hello")
    (root / DAY / "games" / ".x.game.json.123.tmp").write_text("{")  # a temporary file: never listed
    assert main(["verify", str(root)]) == 1
    out, rows = summary(capsys)
    assert (
        rows["days"] == 2 and rows["corrupt files"] == 1 and rows["games"] == 12 and rows["stray files"] == 1
    )
    assert f"misplaced: its content belongs at {DAY}/games/{victim.name}" in out


def test_one_day_folder_sees_the_neighbouring_days(root, seeded_games, raw_events):
    """A session crossing midnight: its games live in the next day's folder."""
    layout = RecordingsLayout(root)
    live = game_file(root, "20251212-6114b2ff44ef4b71")
    game = read_game(live)
    live.unlink()
    moved = game.replace(
        meta=game.meta.replace(
            start_time=game.meta.start_time + timedelta(hours=2),
            end_time=game.meta.end_time + timedelta(hours=2),
        )
    )
    layout.write_game(moved)
    rebuild_all(root)
    report = check_recordings(root / DAY)
    assert (report.days, report.games, report.orphan_actions) == (1, 11, 0)
    assert report.ok


def test_library_report_and_json_agree(root, capsys):
    edit_json(game_file(root, QUIET_GAME), lambda d: flip_digit(d, 17))
    report = check_recordings(root)
    assert main(["verify", "--json", str(root)]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data == json.loads(json.dumps(report.to_json()))
    assert {
        k: data[k] for k in ("games", "verified", "unverified", "mismatches", "corrupt_files", "orphans")
    } == {
        "games": 12,
        "verified": 11,
        "unverified": 0,
        "mismatches": 1,
        "corrupt_files": 0,
        "orphans": 0,
    }


def test_progress_bar_only_when_asked(root, capsys):
    assert main(["verify", str(root)]) == 0
    assert capsys.readouterr().err == ""  # stderr is not a terminal here
    assert main(["verify", "--progress", str(root)]) == 0
    assert "verifying" in capsys.readouterr().err


def test_user_errors(tmp_path, capsys):
    assert main(["verify", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert main(["verify", str(tmp_path)]) == 0
    _, rows = summary(capsys)
    assert rows["days"] == 0 and rows["games"] == 0


def test_warnings_are_capped_unless_all(root, seeded_games, capsys, monkeypatch):
    import rugs_env.cli.verify as verify_cli

    layout = RecordingsLayout(root)
    for game in real_games(seeded_games):  # verified=False: 12 unclaimed warnings
        layout.write_game(game)
    rebuild_all(root)
    monkeypatch.setattr(verify_cli, "WARNINGS_SHOWN", 5)
    assert main(["verify", str(root)]) == 0
    out = capsys.readouterr().out
    assert out.count("UNCLAIMED ") == 5 and "... and 7 more unclaimed warnings (--all lists them)" in out
    assert main(["verify", "--all", str(root)]) == 0
    assert capsys.readouterr().out.count("UNCLAIMED ") == 12
