"""The time-free game engine: lifecycle, cadence, message shapes, the seed reveal, determinism, bots.

No sockets here: the engine is stepped directly (``advance(now_ms)``), as the server's clock would.
"""

from __future__ import annotations

import json
import random
import re
from typing import Any

import pytest

from rugs_env.game.constants import RUG_PRICE_FACTOR_MAX
from rugs_env.game.prng import generate, seed_hash
from rugs_env.game.rug_price import P_FACTOR_AT_BOUND, rug_factor, rug_price, sample_rug_factor
from rugs_env.server import FaultConfig, GameEngine, ServerConfig
from rugs_env.server.games import GameSpec
from rugs_env.server.testing import find_games

T0 = 1_765_577_896_765
SHORT_GAMES = find_games(lambda p: 3 <= p.rug_tick <= 30, 3, start=5000)


def run(
    config: ServerConfig, max_steps: int = 200_000
) -> tuple[list[tuple[float | None, list[Any]]], GameEngine]:
    """Every step until the engine runs out of games: (wait, [(event, payload, player)]), fixed clock."""
    engine = GameEngine(config)
    steps = []
    for i in range(max_steps):
        frame = engine.advance(T0 + i * 100)
        steps.append((frame.wait, [(e.event, e.payload, e.player_id) for e in frame.emissions]))
        if frame.wait is None:
            return steps, engine
    raise AssertionError("engine did not finish")


def play(config: ServerConfig) -> list[tuple[float | None, list[Any]]]:
    return run(config)[0]


def states(steps: list[tuple[float | None, list[Any]]]) -> list[tuple[float | None, dict]]:
    return [(wait, p) for wait, evs in steps for (e, p, _) in evs if e == "gameStateUpdate"]


def test_lifecycle_shapes_cadence_and_reveal() -> None:
    steps, engine = run(ServerConfig(seed=3, games=SHORT_GAMES, max_games=3, history_prefill=10))
    msgs = states(steps)
    games = [GameSpec.from_seed(s, g, engine.truth.game(g).rug_price) for s, g in SHORT_GAMES]
    i = 0
    for n, spec in enumerate(games):
        R = spec.rug_tick
        wait, first = msgs[i]
        # first cooldown message: full shape, timer 15000, previous game revealed in gameHistory[0]
        assert len(first) == 36 and first["cooldownTimer"] == 15000 and first["active"] is False
        assert first["gameId"] == spec.game_id and "serverSeed" not in first["provablyFair"]
        assert first["provablyFair"] == {"serverSeedHash": seed_hash(SHORT_GAMES[n][0]), "version": "v3"}
        assert len(first["gameHistory"]) == 10
        if n > 0:
            prev = first["gameHistory"][0]
            assert prev["id"] == games[n - 1].game_id
            assert prev["provablyFair"]["serverSeed"] == SHORT_GAMES[n - 1][0]
            assert generate(SHORT_GAMES[n - 1][0], prev["id"]).prices == prev["prices"][:-1]
        assert wait == pytest.approx(0.1)
        i += 1
        timers = []
        while "tickCount" not in msgs[i][1] or msgs[i][1].get("active") is False:
            wait, msg = msgs[i]
            assert wait == pytest.approx(0.1)
            if len(msg) == 21:  # the presale flip: active-tick shape, active false
                assert msg["cooldownTimer"] == 10000 and msg["allowPreRoundBuys"] is True
            else:
                assert len(msg) == 7
                timers.append(msg["cooldownTimer"])
                assert msg["allowPreRoundBuys"] is (msg["cooldownTimer"] <= 10000)
            i += 1
        assert timers == list(range(14900, 0, -100))[:49] + list(range(10000, 0, -100))
        slim, full = msgs[i][1], msgs[i + 1][1]
        assert len(slim) == 14 and slim["tickCount"] == 0 and slim["leaderboard"] == []
        assert len(full) == 36 and full["tickCount"] == 0 and full["active"] is True
        assert msgs[i + 1][0] == pytest.approx(0.25)
        i += 2
        for tick in range(1, R + 1):
            wait, msg = msgs[i]
            assert len(msg) == 21 and msg["tickCount"] == tick and msg["active"] is True
            assert msg["price"] == (spec.prices[tick] if tick < R else spec.rug_price)
            assert msg["rugged"] is (tick == R)
            window = msg["partialPrices"]
            assert window["startTick"] == max(0, tick - 4) and window["endTick"] == tick
            assert [window["values"][str(k)] for k in range(window["startTick"], tick + 1)] == [
                spec.price_at(k) for k in range(window["startTick"], tick + 1)
            ]
            i += 1
        assert wait == pytest.approx(1.5)  # rug -> post-rug message
        wait, post = msgs[i]
        assert len(post) == 36 and post["rugged"] is True and post["active"] is True
        assert post["tickCount"] in (R + 1, R + 2) and post["price"] == spec.rug_price
        assert post["gameHistory"][0]["id"] != spec.game_id  # not yet revealed
        assert wait == pytest.approx(0.3)
        i += 1
    assert i == len(msgs)


def test_seeded_runs_are_identical_and_bots_trade() -> None:
    config = dict(seed=42, bots=6, max_games=4)
    a, b = play(ServerConfig(**config)), play(ServerConfig(**config))
    assert json.dumps(a) == json.dumps(b)
    c = play(ServerConfig(**{**config, "seed": 43}))
    assert json.dumps(a) != json.dumps(c)
    events = [e for _, evs in a for (e, _, _) in evs]
    assert events.count("standard/newTrade") > 10
    history = states(a)[-1][1]
    trades = [p for _, evs in a for (e, p, _) in evs if e == "standard/newTrade"]
    assert {t["type"] for t in trades} == {"buy", "sell"}
    assert any(t["tickIndex"] == 0 and t["price"] == 1 for t in trades)  # presale buys
    assert all(re.fullmatch(r"did:privy:cm[a-z0-9]{23}", t["playerId"]) for t in trades)
    assert any(g["globalSidebets"] for g in history["gameHistory"])


def test_every_game_verifies_and_ledgers_balance() -> None:
    engine = GameEngine(ServerConfig(seed=5, bots=5, max_games=12))
    i = 0
    while engine.advance(T0 + i * 100).wait is not None:
        i += 1
    played = engine.truth.games(include_prefilled=False)
    assert len(played) == 12 and all(g.finished for g in played)
    assert engine.audit() == []
    for g in played:
        assert re.fullmatch(r"\d{8}-[0-9a-f]{16}", g.game_id)
        assert g.server_seed and re.fullmatch(r"[0-9a-f]{64}", g.server_seed)
        assert g.history_entry["prices"] == g.recorded_prices()
        assert 0 < g.rug_price <= min(g.prices[-1], 1.0) * RUG_PRICE_FACTOR_MAX
    assert sum(len(g.trades) for g in played) > 20


def test_pause_fault_stretches_the_clock_only() -> None:
    base = play(ServerConfig(seed=9, max_games=1))
    paused = play(
        ServerConfig(seed=9, max_games=1, faults=FaultConfig(pause_every_s=5.0, pause_duration_s=2.0))
    )
    assert [evs for _, evs in base] == [evs for _, evs in paused]  # same messages...
    waits = [w for w, _ in paused if w is not None]
    stalls = sum(1 for w in waits if w >= 2.0)  # ordinary waits are at most 1.5 s (rug -> post-rug)
    assert stalls >= 3  # ... delivered with stalls
    assert sum(waits) == pytest.approx(sum(w for w, _ in base if w is not None) + 2.0 * stalls)


def test_rug_price_law() -> None:
    assert rug_price(1.253600362219023, RUG_PRICE_FACTOR_MAX) == 0.020000000000000018
    assert rug_factor(0.0) == pytest.approx(0.0012)
    assert rug_factor(0.5) == pytest.approx(0.0165)
    assert rug_factor(0.9999) == RUG_PRICE_FACTOR_MAX
    with pytest.raises(ValueError):
        rug_factor(1.0)
    rng = random.Random(1)
    draws = [sample_rug_factor(rng) for _ in range(20_000)]
    assert all(0 < v <= RUG_PRICE_FACTOR_MAX for v in draws)
    at_bound = sum(v == RUG_PRICE_FACTOR_MAX for v in draws) / len(draws)
    assert at_bound == pytest.approx(P_FACTOR_AT_BOUND, abs=0.02)
    ordered = sorted(draws)
    assert ordered[len(draws) // 2] == pytest.approx(0.0165, abs=0.001)
    assert ordered[len(draws) // 10] == pytest.approx(0.0090, abs=0.001)


def test_replay_serves_recorded_games(tmp_path: Any) -> None:
    from datetime import UTC, datetime

    from recorder.files import GameRecording, RecordingsLayout

    layout = RecordingsLayout(tmp_path)
    recorded = []
    for n, (seed, game_id) in enumerate(SHORT_GAMES):
        path = generate(seed, game_id)
        prices = [*path.prices, 0.0123 * (n + 1)]
        when = datetime(2025, 1, 1, 12, n, tzinfo=UTC)
        layout.write_game(
            GameRecording.create(
                game_id=game_id,
                start_time=when,
                end_time=when,
                prices=prices,
                server_seed_hash=seed_hash(seed),
                server_seed=seed,
                version="v3",
            )
        )
        recorded.append((game_id, prices))
    (tmp_path / "2025-01-01" / "games" / "20250101T120500_ffffffff.game.json").write_text("{not json")
    engine = GameEngine(ServerConfig(replay_dir=tmp_path, seed=1, bots=2))
    i = 0
    while engine.advance(T0 + i * 100).wait is not None:
        i += 1
    played = engine.truth.games(include_prefilled=False)
    assert [(g.game_id, g.recorded_prices()) for g in played] == recorded
    assert engine.audit() == []
