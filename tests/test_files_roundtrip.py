"""Recording files: exact round trips, the written form, and the in-memory values."""

from __future__ import annotations

import json
import math
import random
import struct
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from test_files_common import real_games, real_sessions, small_game

from recorder.files import (
    ActionKind,
    GameRecording,
    RecordingsLayout,
    SessionAction,
    SessionMeta,
    SessionRecording,
    format_time,
    parse_time,
    read_game,
    read_session,
    to_ms,
    utc_from_ms,
    write_game_file,
)

START = datetime(2025, 12, 12, 22, 0, 0, tzinfo=UTC)
finite_prices = st.floats(min_value=0.0, allow_nan=False, allow_infinity=False)


def bits(x: float) -> bytes:
    return struct.pack("<d", x)


def action(**overrides: object) -> SessionAction:
    fields: dict[str, object] = {
        "game_id": "20251212-25dcb17086a24ad7",
        "tick": 7,
        "timestamp": START,
        "action": ActionKind.SELL,
        "amount": 4_158_855_049,
        "price": 0.8317710102714284,
        "balance_after": 12_000_000_000,
        "position_qty_after": 0,
        "entry_price": None,
        "pnl": -841_144_951,
    }
    fields.update(overrides)
    return SessionAction.model_validate(fields)


def session_of(*actions: SessionAction, **meta: object) -> SessionRecording:
    base: dict[str, object] = {
        "player_id": "did:privy:cmbmoqwxf00uxk40movpxyhjw",
        "username": "Zer02Her0",
        "session_start": START,
        "session_end": START + timedelta(minutes=5),
    }
    base.update(meta)
    return SessionRecording(meta=SessionMeta.model_validate(base), actions=actions)


# -- real games and sessions --


def test_real_games_round_trip_on_disk(tmp_path, seeded_games):
    layout = RecordingsLayout(tmp_path)
    for game, entry in zip(real_games(seeded_games), seeded_games.values(), strict=True):
        path = layout.write_game(game)
        again = read_game(path)
        assert again == game
        assert [bits(p) for p in again.prices] == [bits(float(p)) for p in entry["prices"]]
        assert again.rug_tick == len(entry["prices"]) - 1 and again.rug_price == entry["prices"][-1]
        assert again.meta.peak_multiplier == entry["peakMultiplier"] == max(again.pre_rug_prices)
        # a file written from a read is byte-identical
        before = path.read_bytes()
        write_game_file(path, again)
        assert path.read_bytes() == before


def test_real_sessions_round_trip_on_disk(tmp_path, raw_events):
    layout = RecordingsLayout(tmp_path)
    sessions = real_sessions(raw_events)
    assert len(sessions) >= 9 and sum(len(s.actions) for s in sessions) == 31
    for session in sessions:
        path = layout.write_session(session)
        again = read_session(path)
        assert again == session
        before = path.read_bytes()
        layout.write_session(again)
        assert path.read_bytes() == before


def test_written_form_is_the_seed_format(tmp_path, seeded_games):
    game = real_games(seeded_games)[0]
    path = write_game_file(tmp_path / "g.game.json", game)
    text = path.read_text(encoding="ascii")
    assert text.endswith("}\n") and not text.endswith("\n\n")
    doc = json.loads(text)
    assert list(doc) == ["meta", "prices"]
    seed_keys = ["game_id", "start_time", "end_time", "duration_ticks", "peak_multiplier"]
    assert list(doc["meta"])[:7] == [*seed_keys, "server_seed_hash", "server_seed"]
    assert all(isinstance(p, str) for p in doc["prices"]) and doc["prices"][0] == "1.0"
    assert doc["meta"]["duration_ticks"] == len(doc["prices"]) == doc["meta"]["rug_tick"] + 1
    assert doc["meta"]["start_time"].endswith("Z") and len(doc["meta"]["start_time"]) == 24
    assert isinstance(doc["meta"]["peak_multiplier"], str)
    assert text.startswith('{\n  "meta": {\n    "game_id": ')  # indent 2


def test_session_written_form(tmp_path):
    session = session_of(action(qty=5_000_000_000, fraction=1.0, trade_id="9d33997e"), games_played=1)
    doc = json.loads(session.to_json_bytes())
    assert list(doc) == ["meta", "actions"]
    first = doc["actions"][0]
    assert list(first)[:10] == [
        "game_id", "tick", "timestamp", "action", "amount", "price",
        "balance_after", "position_qty_after", "entry_price", "pnl",
    ]  # fmt: skip
    assert first["amount"] == "4.158855049" and first["pnl"] == "-0.841144951"
    assert first["balance_after"] == "12.000000000" and first["entry_price"] is None
    assert first["qty"] == "5.000000000" and first["fraction"] == "1.0" and first["action"] == "SELL"
    assert "verification" not in doc["meta"]  # unknown additions are left out, never null


# -- prices, amounts, times: exact --


@settings(max_examples=150, deadline=None)
@given(st.lists(finite_prices, min_size=2, max_size=6))
def test_any_finite_non_negative_price_survives_bit_exactly(prices):
    assume(all(math.copysign(1.0, p) > 0 for p in prices))
    game = GameRecording.create(
        game_id="20251212-0123456789abcdef",
        start_time=START,
        end_time=START,
        prices=prices,
        server_seed_hash=None,
        server_seed=None,
        peak_multiplier=prices[0],
    )
    again = GameRecording.from_json_bytes(game.to_json_bytes())
    assert [bits(p) for p in again.prices] == [bits(p) for p in prices]
    assert bits(again.meta.peak_multiplier) == bits(prices[0])


def test_extreme_doubles_survive_a_real_file(tmp_path):
    rng = random.Random(7)
    specials = [0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1 / 3, 1e16, 123456789.0]
    randoms = []
    while len(randoms) < 500:
        x = struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
        if math.isfinite(x) and math.copysign(1.0, x) > 0:
            randoms.append(x)
    prices = [1.0, *specials, *randoms]
    game = GameRecording.create(
        game_id="20251212-0123456789abcdef",
        start_time=START,
        end_time=START,
        prices=prices,
        server_seed_hash=None,
        server_seed=None,
    )
    again = read_game(write_game_file(tmp_path / "x.game.json", game))
    assert [bits(p) for p in again.prices] == [bits(p) for p in prices]


lamports = st.integers(min_value=-(10**15), max_value=10**15)


@settings(max_examples=150, deadline=None)
@given(amount=lamports.map(abs), balance=lamports.map(abs), qty=lamports.map(abs), pnl=lamports)
def test_amounts_survive_exactly(amount, balance, qty, pnl):
    session = session_of(
        action(amount=amount, balance_after=balance, position_qty_after=qty, pnl=pnl, qty=qty)
    )
    again = SessionRecording.from_json_bytes(session.to_json_bytes())
    assert again == session
    got = again.actions[0]
    assert (got.amount, got.balance_after, got.position_qty_after, got.pnl) == (amount, balance, qty, pnl)


@settings(max_examples=150, deadline=None)
@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)))
def test_times_keep_milliseconds_exactly(moment):
    text = format_time(moment)
    back = parse_time(text)
    assert back == moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    assert format_time(back) == text and utc_from_ms(to_ms(back)) == back


def test_times_are_normalised_to_utc_milliseconds():
    eastern = timezone(timedelta(hours=-5))
    a = action(timestamp=datetime(2025, 12, 12, 17, 17, 0, 118_810, tzinfo=eastern))
    assert a.timestamp == datetime(2025, 12, 12, 22, 17, 0, 118_000, tzinfo=UTC)
    assert a.to_file_dict()["timestamp"] == "2025-12-12T22:17:00.118Z"
    assert utc_from_ms(1765577876865) == datetime(2025, 12, 12, 22, 17, 56, 865_000, tzinfo=UTC)


# -- additions, unknown keys, kinds --


def test_unknown_keys_are_kept_verbatim(tmp_path):
    doc = json.loads(small_game().to_json_bytes())
    doc["meta"]["future_field"] = {"nested": [1, 2.5, "x", None, True]}
    doc["meta"]["zz_last"] = 3
    doc["trades"] = [{"id": "abc", "amount": "0.5"}]
    data = (json.dumps(doc, indent=2) + "\n").encode()
    game = GameRecording.from_json_bytes(data)
    assert game.meta.extra_fields == {"future_field": {"nested": [1, 2.5, "x", None, True]}, "zz_last": 3}
    assert game.extra_fields == {"trades": [{"id": "abc", "amount": "0.5"}]}
    assert game.to_json_bytes() == data  # byte-identical, unknown keys included
    s_doc = json.loads(session_of(action()).to_json_bytes())
    s_doc["actions"][0]["leverage"] = 2
    s_data = (json.dumps(s_doc, indent=2) + "\n").encode()
    assert SessionRecording.from_json_bytes(s_data).to_json_bytes() == s_data


def test_every_action_kind_round_trips():
    actions = [action(action=kind, tick=i) for i, kind in enumerate(ActionKind)]
    assert {a.action for a in actions} >= {
        "BUY",
        "SELL",
        "SIDEBET_PLACE",
        "SIDEBET_WIN",
        "SIDEBET_LOSE",
        "LIQUIDATION",
    }
    session = session_of(*actions)
    assert SessionRecording.from_json_bytes(session.to_json_bytes()) == session


def test_create_derives_the_redundant_fields():
    game = small_game(version="v3", verified=False, trade_count=3)
    meta = game.meta
    assert meta.duration_ticks == 3 and meta.rug_tick == 2 and game.rug_tick == 2
    assert meta.rug_price == 0.020000000000000018 and meta.peak_multiplier == 1.0232624314453478
    assert game.pre_rug_prices == (1.0, 1.0232624314453478)
    assert meta.day == START.date()


def test_non_ascii_text_is_escaped_and_survives():
    session = session_of(action(), username="ünïcødé 🚀 \x00 \ud800")
    data = session.to_json_bytes()
    assert data.isascii()
    assert SessionRecording.from_json_bytes(data).meta.username == "ünïcødé 🚀 \x00 \ud800"


def test_in_memory_values_are_checked():
    base = small_game()
    with pytest.raises(ValueError, match="naive datetime"):
        base.meta.replace(start_time=datetime(2025, 1, 1))
    for bad in (float("nan"), float("inf"), -1.0, -0.0, "1.0", True):
        with pytest.raises(ValueError):
            base.replace(prices=(1.0, bad))
    with pytest.raises(ValueError, match="int count of lamports"):
        action(amount=0.5)
    with pytest.raises(ValueError, match="must be >= 0"):
        action(balance_after=-1)
    with pytest.raises(ValueError, match="duration_ticks"):
        base.replace(prices=(1.0, 2.0, 3.0, 0.01))
    with pytest.raises(ValueError, match="frozen"):
        base.meta.game_id = "20251212-ffffffffffffffff"  # values are immutable; replace() validates
    assert base.replace(
        prices=(1.0, 0.5), meta=base.meta.replace(duration_ticks=2, rug_tick=1, rug_price=0.5)
    )


def test_to_json_bytes_refuses_what_would_not_read_back():
    game = small_game()
    object.__setattr__(game.meta, "duration_ticks", 99)  # behind validation's back
    with pytest.raises(ValueError, match=r"meta\.duration_ticks: expected 3"):
        game.to_json_bytes()
