"""The REPLAYER per-tick recordings (Oct 2025) read as game recordings, checked against known facts."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from conftest import KEY_SAMPLES, RAW_CAPTURE, REALDATA
from recorder_helpers import lines_of, write_lines

from recorder.checks_tree import check_recordings
from recorder.files import GameSource, RecordingsLayout, read_game
from recorder.ingest_replayer import (
    ReplayerFormatError,
    is_replayer_file,
    read_replayer_file,
    scan_replayer_file,
)

REPLAYER_FILES = sorted(REALDATA.glob("game_2025*.jsonl"))
INSTARUG = REALDATA / "game_20251029_184415.jsonl"
GOD_CANDLE = REALDATA / "game_20251031_150453.jsonl"

# file, game id, rug tick, rug price, peak (SOURCES.md, the files' game_end lines, PROTOCOL.md §2)
FACTS = [
    ("game_20251029_184415.jsonl", "20251029-4d3c9619817844a2", 5, 0.020000000000000018, 1.242517674774411),
    ("game_20251030_092529.jsonl", "20251030-408892ce17364087", 161, 0.014981398467891118, 2.965041779752925),
    (
        "game_20251029_184058.jsonl",
        "20251029-80e105825b5c4300",
        721,
        0.013039341523551566,
        130.82376377316214,
    ),
    ("game_20251031_150453.jsonl", "20251031-63d8549ec87e4f03", 96, 0.014992996461838605, 11.905295944638086),
]


def active_index(lines: list[dict], tick: int) -> int:
    return next(i for i, x in enumerate(lines) if x["type"] == "tick" and x["active"] and x["tick"] == tick)


@pytest.mark.parametrize(("name", "game_id", "rug_tick", "rug_price", "peak"), FACTS)
def test_real_files_give_the_known_games(name, game_id, rug_tick, rug_price, peak):
    (game,) = read_replayer_file(REALDATA / name)
    meta = game.meta
    assert meta.game_id == game_id
    assert game.rug_tick == rug_tick == meta.rug_tick and len(game.prices) == rug_tick + 1
    assert game.rug_price == rug_price == meta.rug_price
    assert meta.peak_multiplier == peak == max(game.pre_rug_prices)
    assert game.prices[0] == 1.0 and all(isinstance(p, float) for p in game.prices)
    assert (meta.server_seed, meta.server_seed_hash, meta.verified) == (None, None, False)
    assert meta.source is GameSource.INGEST and meta.price_sources == {"tick": rug_tick + 1}
    assert meta.gaps_filled == 0
    ingest = meta.extra_fields["ingest"]
    assert (
        ingest["format"] == "replayer-jsonl" and ingest["file"] == name and "read as UTC" in ingest["times"]
    )


def test_prices_are_the_active_tick_lines_exactly():
    """Never the phantom tick-0 lines of cooldown and presale, never the post-rug lines."""
    lines = lines_of(GOD_CANDLE)
    (game,) = read_replayer_file(GOD_CANDLE)
    active = {x["tick"]: x["price"] for x in lines if x["type"] == "tick" and x["active"] and not x["rugged"]}
    assert list(game.pre_rug_prices) == [float(active[t]) for t in range(96)]
    rug_line = next(x for x in lines if x["type"] == "tick" and x["rugged"])
    tick0 = datetime.fromisoformat(lines[active_index(lines, 0)]["timestamp"])  # 2025-10-31T15:05:08.322xxx
    assert game.meta.start_time == tick0.replace(tzinfo=UTC, microsecond=tick0.microsecond // 1000 * 1000)
    assert game.meta.end_time.isoformat().startswith(rug_line["timestamp"][:23])
    assert game.meta.trade_count == rug_line["trade_count"] == 207


def test_god_candle_and_big_prices():
    (god,) = read_replayer_file(GOD_CANDLE)
    assert (god.prices[18], god.prices[19]) == (0.7624586226047593, 7.624586226047593)
    (big,) = read_replayer_file(REALDATA / "game_20251029_184058.jsonl")
    assert sum(p > 100 for p in big.prices) > 0


def test_instarug_file_and_roundtrip_through_the_recordings(tmp_path):
    layout = RecordingsLayout(tmp_path / "recordings")
    games = [g for path in REPLAYER_FILES for g in read_replayer_file(path)]
    paths = [layout.write_game(g) for g in games]
    assert [read_game(p) for p in paths] == games
    assert paths[0].relative_to(layout.root).as_posix().startswith("2025-10-29/games/20251029T")
    report = check_recordings(layout.root)
    counts = (report.games, report.verified, report.unverified, report.mismatches, report.corrupt_files)
    assert counts == (4, 0, 4, 0, 0) and report.ok


def test_sniffer():
    assert all(is_replayer_file(p) for p in REPLAYER_FILES)
    assert not is_replayer_file(RAW_CAPTURE)
    assert not is_replayer_file(KEY_SAMPLES)
    assert not is_replayer_file(REALDATA / "clean_games_dataset.csv")
    assert not is_replayer_file(REALDATA / "missing.jsonl")


def test_sniffer_on_odd_files(tmp_path):
    assert not is_replayer_file(write_lines(tmp_path / "empty.jsonl", []))
    (tmp_path / "binary").write_bytes(b"\xff\xfe\x00garbage")
    assert not is_replayer_file(tmp_path / "binary")
    assert not is_replayer_file(write_lines(tmp_path / "x.jsonl", [{"type": "tick", "game_id": "x"}]))


def test_repeated_tick_lines_that_agree_are_kept_once(tmp_path):
    lines = lines_of(INSTARUG)
    i = active_index(lines, 2)
    path = write_lines(tmp_path / "dup.jsonl", lines[: i + 1] + [lines[i]] + lines[i + 1 :])
    scan = scan_replayer_file(path)
    assert len(scan.games) == 1 and not scan.refused
    assert scan.games[0].prices == read_replayer_file(INSTARUG)[0].prices
    assert any("1 tick line(s) repeated with the same price" in n for n in scan.notes)


def test_repeated_tick_lines_that_disagree_refuse_the_game(tmp_path):
    lines = lines_of(INSTARUG)
    i = active_index(lines, 2)
    other = {**lines[i], "price": 1.5}
    path = write_lines(tmp_path / "conflict.jsonl", lines[: i + 1] + [other] + lines[i + 1 :])
    scan = scan_replayer_file(path)
    assert scan.games == []
    (refused,) = scan.refused
    assert refused.game_id == "20251029-4d3c9619817844a2"
    assert "tick 2 has price 1.0309210948964818 and then 1.5" in refused.reason
    with pytest.raises(
        ReplayerFormatError, match="1 game\\(s\\) refused: 20251029-4d3c9619817844a2: the same"
    ):
        read_replayer_file(path)


def test_missing_ticks_refuse_the_game(tmp_path):
    lines = lines_of(GOD_CANDLE)
    drop = {active_index(lines, 40), active_index(lines, 41)}
    path = write_lines(tmp_path / "gap.jsonl", [x for i, x in enumerate(lines) if i not in drop])
    (refused,) = scan_replayer_file(path).refused
    assert "2 of 96 pre-rug ticks missing (40, 41)" in refused.reason
    assert "prices are never invented" in refused.reason


def test_a_recording_that_stops_before_the_rug_is_refused(tmp_path):
    lines = lines_of(GOD_CANDLE)
    path = write_lines(tmp_path / "cut.jsonl", lines[: active_index(lines, 50) + 1])
    (refused,) = scan_replayer_file(path).refused
    assert refused.reason == "no rug: the recording stops before the game ended (the last active tick is 50)"
    presale_only = write_lines(tmp_path / "presale.jsonl", lines[:20])
    assert "no active tick was recorded" in scan_replayer_file(presale_only).refused[0].reason


def test_a_broken_line_is_skipped_with_a_note(tmp_path):
    path = tmp_path / "torn.jsonl"
    text = INSTARUG.read_text()
    path.write_text(text[: len(text) - 40])  # the game_end line torn off mid-way
    scan = scan_replayer_file(path)
    assert len(scan.games) == 1
    assert any(n.startswith(f"line {len(text.splitlines())}: not JSON") for n in scan.notes)


def test_several_games_in_one_file(tmp_path):
    path = write_lines(tmp_path / "two.jsonl", lines_of(INSTARUG) + lines_of(GOD_CANDLE))
    games = read_replayer_file(path)
    assert [g.game_id for g in games] == ["20251029-4d3c9619817844a2", "20251031-63d8549ec87e4f03"]


def test_an_assumed_time_zone(tmp_path):
    (utc,) = read_replayer_file(INSTARUG)
    (eastern,) = read_replayer_file(INSTARUG, assume_tz=timezone(timedelta(hours=-4)))
    assert eastern.meta.start_time - utc.meta.start_time == timedelta(hours=4)
    assert "read as UTC-04:00" in eastern.meta.extra_fields["ingest"]["times"]


def test_unreadable_and_empty_files(tmp_path):
    with pytest.raises(ReplayerFormatError, match="cannot read"):
        read_replayer_file(tmp_path / "missing.jsonl")
    with pytest.raises(ReplayerFormatError, match="no game in this file"):
        read_replayer_file(write_lines(tmp_path / "empty.jsonl", []))
