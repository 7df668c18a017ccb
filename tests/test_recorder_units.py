"""Unit tests of the recorder's handlers, on synthetic feeds in the real message shapes (PROTOCOL.md §2-§3).

- PriceHistoryHandler: partial windows fill lost ticks, the connect snapshot, credit per source, conflicts,
  seed completion and mismatch reporting, the rug price from the feed, phantom ticks.
- GameStateRecorder (through the pipeline): the rug by ``rugged``, the game finished by *its own* history
  entry (never ``gameHistory[0]`` at the rug), phantom tick-0 and post-rug prices, games never watched,
  games whose seed never comes.
- PlayerSessionRecorder / StateVerifier: trades, sidebets from history, liquidation, balances from the
  ledger, zero drift on consistent updates and drift on wrong ones.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recorder_helpers import T0, TRACE, Feed, games_by_id, history_entry, make_game, pipeline, trade  # noqa: F401

from recorder.files import RecordingsLayout, read_session
from recorder.prices import PriceHistoryHandler
from recorder.verifier import AccountState, StateVerifier
from rugs_env.game.ledger import Ledger
from rugs_env.game.money import nano_str
from rugs_env.game.prng import generate


# -- PriceHistoryHandler -----------------------------------------------------------------------------------
def test_partial_windows_fill_lost_ticks_and_sources_are_credited() -> None:
    seed, game_id, prices = make_game("partial")
    h = PriceHistoryHandler()
    h.observe_snapshot(prices[:3])  # connected at tick 2
    for tick in range(3, len(prices)):
        if tick % 3 == 0 and tick < len(prices) - 1:
            continue  # lost (the last one is never lost: no later window would carry it)
        h.observe(tick, prices[tick], "tick")
        h.observe_window({k: prices[k] for k in range(max(0, tick - 4), tick + 1)})
    out = h.assemble(rug_tick=len(prices), rug_price=0.01, seed_path=generate(seed, game_id))
    assert out is not None and out.prices == [*prices, 0.01] and not out.mismatches
    assert out.gaps_filled == 0, "every lost tick was in a later window"
    assert (
        out.sources["snapshot"] == 3
        and out.sources["partial"] > 0
        and sum(out.sources.values()) == len(out.prices)
    )


def test_seed_fills_gaps_and_disagreement_is_reported_not_hidden() -> None:
    seed, game_id, prices = make_game("gaps")
    h = PriceHistoryHandler()
    h.observe(0, 1.0, "tick")
    h.observe(5, prices[5] * 1.0000001, "tick")  # a wrong observation
    out = h.assemble(rug_tick=len(prices), rug_price=0.005, seed_path=generate(seed, game_id))
    assert out is not None
    assert out.gaps_filled == len(prices) - 2 and out.sources["seed"] == len(prices) - 2
    assert out.prices[5] == prices[5] * 1.0000001, "the observed value stays"
    assert len(out.mismatches) == 1 and "tick 5" in out.mismatches[0]
    h.observe(7, 123.0, "partial")
    h.observe(7, 124.0, "tick")
    assert h.conflicts == 1 and h.get(7) == 123.0


def test_rug_price_comes_from_the_feed_and_post_rug_ticks_are_ignored() -> None:
    seed, game_id, prices = make_game("rugprice")
    h = PriceHistoryHandler()
    h.observe_snapshot(prices)
    h.observe(len(prices) + 1, 0.0042, "tick")  # a phantom past the rug
    assert h.assemble(rug_tick=len(prices), rug_price=None) is None, "no rug price, no game"
    out = h.assemble(rug_tick=len(prices), rug_price=0.0042, seed_path=generate(seed, game_id))
    assert out is not None and out.prices[-1] == 0.0042 and out.phantom_ticks == 1 and not out.mismatches


# -- GameStateRecorder -------------------------------------------------------------------------------------
def test_game_is_finished_by_its_own_history_entry_never_by_gameHistory0_at_the_rug(tmp_path: Path) -> None:
    prev = make_game("prev")
    game = make_game("live")
    nxt = make_game("next")
    prev_entry = history_entry(*prev, 0.011)
    feed = Feed()
    feed.game(*game, 0.0065, history=[prev_entry], drop={3, 4, 9, 10, 11, 12, 13, 14})
    game_entry = history_entry(*game, 0.0065)
    feed.game(*nxt, 0.02, history=[game_entry, prev_entry], rug_message=False, post_rug=False)
    p = feed.play(pipeline(tmp_path / "rec"))
    games = games_by_id(tmp_path / "rec")
    rec = games[game[1]]
    assert list(rec.prices) == [*game[2], 0.0065], "prices bit-exact, rug price from the feed"
    assert rec.meta.verified is True and rec.meta.server_seed == game[0] and rec.meta.source == "live"
    assert rec.meta.gaps_filled == 2, "of ticks 9-14, the window of tick 15 (11-15) misses 9 and 10"
    assert rec.meta.price_sources is not None and rec.meta.price_sources.get("tick", 0) > 0
    assert games[prev[1]].meta.source == "history" and list(games[prev[1]].prices) == [*prev[2], 0.011]
    assert nxt[1] not in games, "the game in progress is not a finished game"
    assert p.games.counters.verified == 2 and p.counters.errors == 0


def test_no_phantom_tick0_or_post_rug_prices(tmp_path: Path) -> None:
    game = make_game("phantom", 20, 40)
    feed = Feed()
    # a sloppy message: price and tickCount but no "active"/"rugged" (defaults must not be invented)
    feed.emit("gameStateUpdate", {"gameId": game[1], "price": 1, "tickCount": 0, "cooldownTimer": 5000})
    feed.game(*game, 0.003, cooldown=False)
    feed.play(pipeline(tmp_path / "rec"))  # never revealed: saved with what was seen
    rec = games_by_id(tmp_path / "rec")[game[1]]
    assert list(rec.prices) == [*game[2], 0.003] and rec.rug_tick == len(game[2])
    assert rec.meta.verified is False and rec.meta.server_seed is None
    assert rec.meta.price_sources == {"tick": len(game[2]) + 1}


def test_seed_never_revealed_and_history_without_prices(tmp_path: Path) -> None:
    lost = make_game("lost")
    later = make_game("later")
    unseen = make_game("unseen")
    feed = Feed()
    feed.game(*lost, 0.004, drop={5, 6, 7, 8, 9, 10})  # 5 and 6 in no window: lost for good
    feed.game(*later, 0.009, history=[])  # its first message should have revealed "lost": it did not
    # a game never watched, revealed without prices (Feb 2026): no rug price anywhere, so no file
    feed.game(
        *make_game("third"),
        0.01,
        history=[history_entry(*later, 0.009), history_entry(*unseen, 0.01, with_prices=False)],
    )
    p = feed.play(pipeline(tmp_path / "rec"))
    games = games_by_id(tmp_path / "rec")
    rec = games[lost[1]]
    assert rec.meta.verified is False and rec.meta.extra_fields["unverified_reason"]
    assert rec.meta.extra_fields["missing_ticks"] == [5, 6] and rec.meta.price_sources["missing"] == 2
    assert rec.prices[5] == rec.prices[6] == rec.prices[4], "carried, flagged, never invented silently"
    assert games[later[1]].meta.verified is True and unseen[1] not in games
    assert p.games.counters.no_rug_price == 1


# -- sessions and the verifier -----------------------------------------------------------------------------
def test_session_from_trades_history_sidebets_and_liquidation(tmp_path: Path) -> None:
    seed, game_id, prices = make_game("session", 45, 60)
    rug = 0.0123
    pid, name = "did:privy:cmtest0000000000000000000", "Trader/../x"
    ledger = Ledger(10 * 10**9, min_bet=1, max_bet=10**18)
    ledger.open_game(game_id)
    b1 = ledger.buy(50_000_000, tick=0, price=1.0)
    ledger.on_tick(3, prices[3])
    s1 = ledger.sell_qty(b1.qty // 2, tick=3, price=prices[3])
    bet = ledger.place_sidebet(2_000_000, tick=3)
    ledger.on_tick(10, prices[10])
    b2 = ledger.buy(20_000_000, tick=10, price=prices[10])
    lose = ledger.on_tick(44, prices[44])
    final = ledger.rug(len(prices), rug)
    trades = {
        0: [trade(game_id, pid, name, "buy", 0, 1.0, 0.05, b1.qty / 1e9, "t1")],
        4: [trade(game_id, pid, name, "sell", 3, prices[3], s1.amount / 1e9, s1.qty / 1e9, "t2")],
        11: [trade(game_id, pid, name, "buy", 10, prices[10], 0.02, b2.qty / 1e9, "t3")],
    }
    # placed at tick 3 after the sell (the server's timestamp orders it among the trades' arrival times)
    sidebets = [
        {
            "id": "s1",
            "playerId": pid,
            "username": name,
            "gameId": game_id,
            "betAmount": 0.002,
            "xPayout": 5,
            "timestamp": int(T0.timestamp() * 1000) + 5000,
            "type": "placed",
            "startedAtTick": 3,
            "end": 43,
        }
    ]
    feed = Feed()
    feed.game(seed, game_id, prices, rug, trades=trades)
    feed.game(
        *make_game("after"),
        0.02,
        history=[history_entry(seed, game_id, prices, rug, sidebets=sidebets)],
        rug_message=False,
        post_rug=False,
    )
    feed.play(pipeline(tmp_path / "rec", follow=(name,), start_balance=10 * 10**9))
    files = RecordingsLayout(tmp_path / "rec").session_files()
    assert len(files) == 1 and files[0].resolve().is_relative_to((tmp_path / "rec").resolve())
    session = read_session(files[0])
    assert session.meta.username == name and session.meta.player_id == pid
    kinds = [a.action for a in session.actions]
    assert kinds == ["BUY", "SELL", "SIDEBET_PLACE", "BUY", "SIDEBET_LOSE", "LIQUIDATION"]
    expected = [b1, s1, bet, b2, *lose, *final]
    for action, fill in zip(session.actions, expected, strict=True):
        assert (action.tick, action.amount, action.balance_after, action.position_qty_after) == (
            fill.tick,
            fill.amount,
            fill.cash_after,
            fill.position_qty_after,
        )
        assert action.pnl == fill.game_pnl_after


def test_verifier_matches_out_of_order_updates_and_counts_drift() -> None:
    v = StateVerifier(tolerance=0, patience=3)
    s1, s2 = AccountState(100, 5, 7), AccountState(90, 9, 8)
    v.observe(s2, clock=0)  # arrives before the trade that makes it
    assert v.resolve([s1], clock=1) == 0 and v.pending == 1
    assert v.resolve([s1, s2], clock=2) == 0 and v.checked == 1 and v.pending == 0
    v.observe(AccountState(89, 9, 8), clock=2)
    assert v.resolve([s1, s2], clock=10) == 1
    summary = v.summary()
    assert (
        summary.drift_count == 1 and summary.max_drift_lamports == 1 and summary.player_updates_checked == 2
    )


def test_long_sessions_are_split_into_files_with_continuous_balances(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import recorder.sessions as sessions

    monkeypatch.setattr(sessions, "MAX_ACTIONS", 4)
    pid, name = "did:privy:cmsplit000000000000000000", "Splitter"
    feed = Feed()
    history: list[dict] = []
    for i in range(4):
        seed, game_id, prices = make_game(f"split{i}", 12, 30)
        buy = trade(game_id, pid, name, "buy", 2, prices[2], 0.01, int(0.01 / prices[2] * 1e9) / 1e9, f"b{i}")
        feed.game(seed, game_id, prices, 0.01, history=history, trades={3: [buy]})
        history = [history_entry(seed, game_id, prices, 0.01), *history][:10]
    feed.game(*make_game("split-end"), 0.01, history=history, rug_message=False, post_rug=False)
    feed.play(pipeline(tmp_path / "rec", follow=(name,), start_balance=10**9, session_write_interval=0.0))
    files = RecordingsLayout(tmp_path / "rec").session_files()
    parts = sorted((read_session(f) for f in files), key=lambda s: s.meta.session_start)
    assert len(parts) == 2 and [len(p.actions) for p in parts] == [4, 4]
    assert parts[1].meta.extra_fields["starting_balance"] == nano_str(parts[0].actions[-1].balance_after)


_wire_numbers = st.one_of(
    st.floats(),
    st.integers(-(10**400), 10**400),
    st.sampled_from([0.0, -0.0, 1, True, None, "1.0", math.inf, math.nan, 5e-324]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(_wire_numbers, max_size=6), st.lists(st.floats(min_value=1e-9, max_value=1e6), max_size=6))
def test_the_fast_price_checks_decide_as_the_item_by_item_ones(odd: list, plain: list) -> None:
    """as_price / as_number's fast path for plain doubles and as_prices' whole-array check change nothing."""
    from recorder.events import as_number, as_price, as_prices

    def slow_number(v: object) -> float | None:
        if isinstance(v, bool) or not isinstance(v, int | float):
            return None
        try:
            number = float(v)
        except OverflowError:
            return None
        return number if math.isfinite(number) else None

    def slow_price(v: object) -> float | None:
        n = slow_number(v)
        return None if n is None or n < 0 or math.copysign(1.0, n) < 0 else n

    for values in (odd, plain, plain + odd, odd + plain):
        assert [repr(as_number(v)) for v in values] == [repr(slow_number(v)) for v in values]
        assert [repr(as_price(v)) for v in values] == [repr(slow_price(v)) for v in values]
        each = [slow_price(v) for v in values]
        expected = tuple(each) if all(p is not None for p in each) else None
        assert repr(as_prices(values)) == repr(expected)
