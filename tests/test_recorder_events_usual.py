"""The usual ``gameStateUpdate`` read fast (:mod:`recorder.events_usual`) gives the very view the general
path gives: checked on every message of the real capture and on payloads mixing good and bad fields."""

from __future__ import annotations

import json
import math
from typing import Any

from conftest import RAW_CAPTURE, payload_of
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.events import Malformed, _parse_game_state, parse_game_state
from recorder.events_usual import usual_game_state

GAME_ID = "20251212-0123456789abcdef"


def general(payload: Any) -> Any:
    try:
        return _parse_game_state(payload)
    except Malformed as exc:
        return ("malformed", str(exc))


def fast(payload: Any) -> Any:
    try:
        return parse_game_state(payload)
    except Malformed as exc:
        return ("malformed", str(exc))


def test_every_message_of_the_capture_reads_the_same() -> None:
    read = 0
    for line in RAW_CAPTURE.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("event") != "gameStateUpdate":
            continue
        payload = payload_of(record["data"])
        assert fast(payload) == general(payload)
        read += usual_game_state(payload) is not None
    assert read > 400  # the fast path is the usual one


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 200_000),
    st.sampled_from([0.0, -0.0, 1.5, 2.0, math.inf, -math.inf, math.nan, 1e308, -1.0]),
    st.floats(),
    st.text(max_size=4),
    st.sampled_from([GAME_ID, "a" * 64, "v3", "v10-long", "123"]),
)
values = st.one_of(
    scalars, st.lists(scalars, max_size=3), st.dictionaries(st.text(max_size=3), scalars, max_size=3)
)
tick_keys = st.one_of(
    st.sampled_from(["0", "12", "999999", "1234567", "", "١", "x", " 1"]), st.text(max_size=3)
)
windows = st.one_of(
    values,
    st.fixed_dictionaries(
        {"values": st.dictionaries(tick_keys, st.one_of(st.floats(0.01, 5.0), scalars), max_size=4)},
        optional={"endTick": st.one_of(st.integers(-1, 200_000), scalars)},
    ),
)
fair = st.one_of(
    values,
    st.fixed_dictionaries(
        {}, optional={"serverSeedHash": st.one_of(scalars, st.just("b" * 64)), "version": scalars}
    ),
)
FIELDS = {
    "gameId": st.one_of(st.just(GAME_ID), scalars),
    "active": values,
    "rugged": values,
    "price": st.one_of(st.floats(0.001, 100.0), values),
    "tickCount": st.one_of(st.integers(0, 5000), values),
    "cooldownTimer": values,
    "allowPreRoundBuys": values,
    "tradeCount": values,
    "partialPrices": windows,
    "prices": st.one_of(st.none(), st.lists(st.floats(0.5, 2.0), max_size=3), values),
    "gameHistory": st.one_of(st.lists(st.dictionaries(st.just("id"), scalars), max_size=2), values),
    "leaderboard": st.one_of(st.lists(values, max_size=2), values),
    "provablyFair": fair,
    "gameVersion": values,
}


@settings(max_examples=500, deadline=None)
@given(
    st.fixed_dictionaries(
        {"gameId": st.just(GAME_ID)}, optional={k: v for k, v in FIELDS.items() if k != "gameId"}
    )
)
def test_any_payload_reads_the_same(payload: dict[str, Any]) -> None:
    assert fast(payload) == general(payload)


@settings(max_examples=200, deadline=None)
@given(st.one_of(values, st.fixed_dictionaries({}, optional=FIELDS)))  # type: ignore[arg-type]
def test_anything_reads_the_same(payload: Any) -> None:
    assert fast(payload) == general(payload)


usual = {
    "active": st.one_of(st.booleans(), st.none()),
    "rugged": st.one_of(st.booleans(), st.none()),
    "price": st.one_of(st.floats(0.001, 100.0), st.just(0.0)),
    "tickCount": st.one_of(st.integers(0, 5000), st.just(100_001)),
    "cooldownTimer": st.integers(-1, 15000),
    "allowPreRoundBuys": st.booleans(),
    "tradeCount": st.integers(-1, 99),
    "partialPrices": st.fixed_dictionaries(
        {"values": st.dictionaries(tick_keys, st.floats(0.01, 5.0), max_size=4)},
        optional={"endTick": st.one_of(st.integers(-1, 20), st.none())},
    ),
    "gameHistory": st.lists(st.dictionaries(st.just("id"), scalars), max_size=2),
    "leaderboard": st.lists(st.dictionaries(st.just("id"), scalars), max_size=2),
    "provablyFair": fair,
    "gameVersion": st.one_of(st.just("v3"), scalars),
}


@settings(max_examples=500, deadline=None)
@given(st.fixed_dictionaries({"gameId": st.just(GAME_ID)}, optional=usual))  # type: ignore[arg-type]
def test_usual_payloads_read_the_same(payload: dict[str, Any]) -> None:
    """Payloads near the usual one (the fast path's own cases, and its edges)."""
    assert fast(payload) == general(payload)


def test_the_fast_path_sets_every_field() -> None:
    """It sets GameState's slots one by one: a new field must be added there too."""
    import dataclasses

    from recorder import events_usual
    from recorder.events import GameState

    setters = {name for name in vars(events_usual) if name.isupper() and name.startswith("_")} - {"_INF"}
    assert len(setters) == len(dataclasses.fields(GameState)) == 16
