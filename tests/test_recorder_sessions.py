"""The session recorder over long runs: files split between games, the server's balance kept across the
split, and the server's updates of a long fast game matched before the game is sealed.

An authenticated player trades in synthetic games (the real message shapes, see test_recorder_units), each
trade followed by the ``playerUpdate`` the server would send: the account of a ledger that mirrors the
server's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from recorder_helpers import T0, Feed, history_entry, make_game, pipeline, trade

from recorder.files import RecordingsLayout, SessionRecording, read_session
from recorder.verifier import AccountState, StateHistory, StateVerifier
from rugs_env.game.ledger import Ledger
from rugs_env.game.money import nano_str

PID, NAME = "did:privy:cmowner00000000000000000", "owner"
START = 10 * 10**9  # the player's balance on the server, lamports


class OwnFeed(Feed):
    """A feed in which each of the player's trades is followed by the server's ``playerUpdate``."""

    def __init__(self) -> None:
        super().__init__(T0)
        self.ledger = Ledger(START, min_bet=1, max_bet=10**18)
        self.updates: dict[str, dict[str, Any]] = {}
        self.emit("usernameStatus", {"id": PID, "username": NAME})
        self.emit("playerUpdate", self.ledger.player_update(1.0))

    def emit(self, event: str, payload: Any, dt: float = 0.1, trace: bool = False) -> None:
        super().emit(event, payload, dt, trace)
        if event == "standard/newTrade" and payload.get("id") in self.updates:
            super().emit("playerUpdate", self.updates.pop(payload["id"]), dt=0.005)

    def buy(self, game_id: str, tick: int, price: float, amount: int, tid: str) -> dict[str, Any]:
        fill = self.ledger.buy(amount, tick=tick, price=price)
        self.updates[tid] = self.ledger.player_update(price)
        return trade(game_id, PID, NAME, "buy", tick, price, amount / 1e9, fill.qty / 1e9, tid)

    def sell_all(self, game_id: str, tick: int, price: float, tid: str) -> dict[str, Any]:
        fill = self.ledger.sell_qty(self.ledger.position_qty, tick=tick, price=price)
        self.updates[tid] = self.ledger.player_update(price)
        return trade(game_id, PID, NAME, "sell", tick, price, fill.amount / 1e9, fill.qty / 1e9, tid)


def sessions(root: Path) -> list[SessionRecording]:
    files = RecordingsLayout(root).session_files()
    return sorted((read_session(f) for f in files), key=lambda s: s.meta.session_start)


def round_trips(feed: OwnFeed, games: int, *, reveal_late: bool) -> list[str]:
    """``games`` games in each of which the player buys in the presale and sells everything at tick 5.

    ``reveal_late``: a game's seed is revealed in the next game's tick-0 message (its first cooldown message
    was lost), i.e. after the next game's presale buy: the next game is under way when the revealed one is
    sealed."""
    history: list[dict[str, Any]] = []
    ids = []
    for i in range(games):
        seed, game_id, prices = make_game(f"roll{i}", 12, 30)
        ids.append(game_id)
        feed.ledger.open_game(game_id)
        buy = feed.buy(game_id, 0, 1.0, 10_000_000 * (i + 1), f"b{i}")
        feed.ledger.on_tick(5, prices[5])
        sell = feed.sell_all(game_id, 5, prices[5], f"s{i}")
        first = len(feed.events)
        feed.game(
            seed, game_id, prices, 0.01, history=[] if reveal_late else history, trades={0: [buy], 6: [sell]}
        )
        if reveal_late and history:
            tick0 = next(
                args[0]
                for _, event, args in feed.events[first:]
                if event == "gameStateUpdate" and args[0].get("active") and args[0].get("tickCount") == 0
            )
            tick0["gameHistory"] = history
        feed.ledger.rug(len(prices), 0.01)
        history = [history_entry(seed, game_id, prices, 0.01), *history][:10]
    feed.game(*make_game("roll-end"), 0.01, history=history, rug_message=False, post_rug=False)
    return ids


@pytest.mark.parametrize("reveal_late", [False, True])
def test_a_game_lives_in_exactly_one_session_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reveal_late: bool
) -> None:
    import recorder.sessions as session_module

    monkeypatch.setattr(session_module, "MAX_ACTIONS", 4)
    feed = OwnFeed()
    ids = round_trips(feed, 5, reveal_late=reveal_late)
    feed.play(pipeline(tmp_path / "rec", session_write_interval=0.0))
    parts = sessions(tmp_path / "rec")
    assert [len(p.actions) for p in parts] == [4, 4, 2], "files close between games (2 actions a game)"
    trade_ids = [a.trade_id for p in parts for a in p.actions]
    assert len(trade_ids) == len(set(trade_ids)) == 10, "no action in two files"
    owners = [{a.game_id for a in p.actions} for p in parts]
    assert sorted(g for games in owners for g in games) == sorted(ids), "every game in exactly one file"
    for before, after in zip(parts, parts[1:], strict=False):
        assert after.meta.extra_fields["starting_balance"] == nano_str(before.actions[-1].balance_after)
        assert after.meta.session_start > before.meta.session_start
    assert parts[-1].actions[-1].balance_after == feed.ledger.cash


def test_the_server_balance_carries_over_a_split_and_is_not_guessed_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each game starts with the same presale buy (the same position and average cost), so after a split
    a guess of the balance from the next update would be ambiguous: the balance carried over must stay."""
    import recorder.sessions as session_module

    monkeypatch.setattr(session_module, "MAX_ACTIONS", 4)
    feed = OwnFeed()
    round_trips(feed, 6, reveal_late=True)
    feed.play(pipeline(tmp_path / "rec", session_write_interval=0.0))
    parts = sessions(tmp_path / "rec")
    assert len(parts) == 3
    for before, after in zip(parts, parts[1:], strict=False):
        assert after.meta.extra_fields["starting_balance"] == nano_str(before.actions[-1].balance_after)
        assert after.meta.extra_fields["balance_basis"] == "carried over"
    assert parts[0].meta.extra_fields["balance_basis"] == "server"
    checked = 0
    for part in parts:
        verification = part.meta.verification
        assert verification is not None and verification.drift_count == 0, part.meta.session_start
        checked += verification.player_updates_checked
    assert checked == 1 + 2 * 6, "every update checked once"
    assert parts[-1].actions[-1].balance_after == feed.ledger.cash


def test_updates_of_a_long_fast_game_are_matched_before_it_is_sealed(tmp_path: Path) -> None:
    """60 trades in one game, the session refreshed only when the game is sealed (a fast server: the
    periodic rewrite comes once for the whole game): every update still finds its ledger state."""
    feed = OwnFeed()
    seed, game_id, prices = make_game("burst", 45, 60)
    feed.ledger.open_game(game_id)
    trades: dict[int, list[dict[str, Any]]] = {}
    for tick in range(1, 31):
        feed.ledger.on_tick(tick, prices[tick])
        buy = feed.buy(game_id, tick, prices[tick], 1_000_000 * tick, f"b{tick}")
        sell = feed.sell_all(game_id, tick, prices[tick], f"s{tick}")
        trades[tick + 1] = [buy, sell]
    feed.game(seed, game_id, prices, 0.02, trades=trades)
    entry = history_entry(seed, game_id, prices, 0.02)
    feed.game(*make_game("burst-next"), 0.01, history=[entry], rug_message=False, post_rug=False)
    p = feed.play(pipeline(tmp_path / "rec", session_write_interval=3600.0))
    (part,) = sessions(tmp_path / "rec")
    assert len(part.actions) == 60
    verification = part.meta.verification
    assert verification is not None
    assert (verification.player_updates_checked, verification.drift_count) == (61, 0)
    assert p.sessions[PID].verifier is not None and p.sessions[PID].verifier.drift_count == 0


def test_state_history_keeps_a_whole_burst_and_stays_bounded() -> None:
    history = StateHistory(keep=4, cap=10)
    burst = [AccountState(i, 0, 0) for i in range(8)]
    history.add(burst)
    assert history.states == burst, "every state of the games sealed last"
    history.add([AccountState(100, 0, 0)])
    assert history.states == [*burst[-3:], AccountState(100, 0, 0)], "then the last few"
    history.add([AccountState(i, 1, 0) for i in range(25)])
    assert len(history.states) == 10 and history.states[-1] == AccountState(24, 1, 0), "never above the cap"


def test_a_rolled_verifier_judges_pending_updates_when_they_arrived() -> None:
    verifier = StateVerifier(patience=3)
    verifier.observe(AccountState(5, 0, 0), clock=10)
    fresh = verifier.successor()
    assert fresh.resolve([AccountState(4, 0, 0)], clock=12) == 0 and fresh.pending == 1, "not due yet"
    assert fresh.resolve([AccountState(5, 0, 0)], clock=13) == 0 and fresh.checked == 1
    assert verifier.checked == 0, "the closed file's tallies are its own"


@pytest.mark.parametrize("games", [1, 3])
def test_an_update_handled_before_the_trades_it_follows_still_gives_the_balance(
    tmp_path: Path, games: int
) -> None:
    """After an event-loop stall the recorder handles a burst from several connections in any order: the
    update sent on authenticate, which follows the player's presale buy, can be handled before the buy
    (delivered by another connection). The balance set from that update must still be the server's."""
    feed = OwnFeed()
    round_trips(feed, games, reveal_late=False)
    events = feed.events
    del events[1]  # no update before the first trade: the recorder authenticated after it
    buy = next(i for i, (_, event, _) in enumerate(events) if event == "standard/newTrade")
    assert events[buy + 1][1] == "playerUpdate"
    (t_buy, *buy_event), (t_update, *update_event) = events[buy], events[buy + 1]
    events[buy], events[buy + 1] = (t_buy, *update_event), (t_update, *buy_event)  # type: ignore[assignment]
    feed.play(pipeline(tmp_path / "rec", session_write_interval=0.0))
    (part,) = sessions(tmp_path / "rec")
    assert part.meta.extra_fields["balance_basis"] == "server"
    assert part.actions[0].balance_after == START - 10_000_000, "the balance after the first buy"
    assert part.actions[-1].balance_after == feed.ledger.cash
    verification = part.meta.verification
    assert verification is not None and verification.drift_count == 0, verification
    assert verification.player_updates_checked == 2 * games


def joined_feed(acted_before: bool) -> tuple[OwnFeed, str, str]:
    """The recorder authenticates while game A runs; the player's presale buy in A (if ``acted_before``)
    came before that, unseen. Later in A the player buys and sells everything; game B is seen whole."""
    feed = OwnFeed()
    feed.events.clear()  # no update before game A: the recorder connects during it
    seed_a, game_a, prices_a = make_game("joined-a", 20, 40)
    feed.ledger.open_game(game_a)
    if acted_before:
        feed.ledger.buy(30_000_000, tick=0, price=1.0)
    feed.ledger.on_tick(10, prices_a[10])
    feed.emit("usernameStatus", {"id": PID, "username": NAME})
    feed.emit("playerUpdate", feed.ledger.player_update(prices_a[10]))
    feed.ledger.on_tick(12, prices_a[12])
    buy = feed.buy(game_a, 12, prices_a[12], 20_000_000, "a-buy")
    feed.ledger.on_tick(15, prices_a[15])
    sell = feed.sell_all(game_a, 15, prices_a[15], "a-sell")
    feed.game(seed_a, game_a, prices_a, 0.01, trades={13: [buy], 16: [sell]}, cooldown=False, start_tick=10)
    feed.ledger.rug(len(prices_a), 0.01)
    history = [history_entry(seed_a, game_a, prices_a, 0.01)]
    seed_b, game_b, prices_b = make_game("joined-b", 12, 30)
    feed.ledger.open_game(game_b)
    buy = feed.buy(game_b, 0, 1.0, 10_000_000, "b-buy")
    feed.ledger.on_tick(5, prices_b[5])
    sell = feed.sell_all(game_b, 5, prices_b[5], "b-sell")
    feed.game(seed_b, game_b, prices_b, 0.01, history=history, trades={0: [buy], 6: [sell]})
    feed.ledger.rug(len(prices_b), 0.01)
    history = [history_entry(seed_b, game_b, prices_b, 0.01), *history]
    feed.game(*make_game("joined-end"), 0.01, history=history, rug_message=False, post_rug=False)
    return feed, game_a, game_b


@pytest.mark.parametrize("acted_before", [True, False])
def test_the_game_under_way_at_authentication_is_kept_only_if_seen_whole(
    tmp_path: Path, acted_before: bool
) -> None:
    """A game the player had acted in before the recorder authenticated cannot be replayed exactly: it is
    left out, and the session starts with the next game, its balance set by that game's updates. A game
    in which the player had done nothing yet is kept."""
    feed, game_a, game_b = joined_feed(acted_before)
    feed.play(pipeline(tmp_path / "rec", session_write_interval=0.0))
    (part,) = sessions(tmp_path / "rec")
    games = [a.game_id for a in part.actions]
    expected_games = [game_b] * 2 if acted_before else [game_a] * 2 + [game_b] * 2
    assert games == expected_games
    assert part.meta.extra_fields.get("games_left_out") == (1 if acted_before else None)
    assert part.meta.extra_fields["balance_basis"] == "server"
    assert part.actions[-1].balance_after == feed.ledger.cash
    verification = part.meta.verification
    assert verification is not None and verification.drift_count == 0, verification
    assert verification.player_updates_checked == (2 if acted_before else 5)


def test_an_update_of_a_trade_no_connection_delivered_waits_for_the_leaderboard(tmp_path: Path) -> None:
    """A buy whose broadcast every connection lost, but whose ``playerUpdate`` came: the leaderboard puts the
    buy back when the game is over, long after the verifier's patience. The update is no drift."""
    feed = OwnFeed()
    seed, game_id, prices = make_game("lost-buy", 45, 60)
    feed.ledger.open_game(game_id)
    feed.ledger.on_tick(3, prices[3])
    feed.buy(game_id, 3, prices[3], 20_000_000, "lost")  # its update is emitted, its trade is not
    feed.emit("playerUpdate", feed.updates.pop("lost"))
    rows: dict[int, dict[str, Any]] = {}
    for tick in range(4, 40):
        feed.ledger.on_tick(tick, prices[tick])
        rows[tick] = {
            "id": PID,
            "username": NAME,
            "positionQty": feed.ledger.position_qty / 1e9,
            "avgCost": round(feed.ledger.avg_price, 9),
            "totalInvested": feed.ledger.total_invested / 1e9,
            "pnl": 0,
            "regularPnl": feed.ledger.regular_pnl(prices[tick]) / 1e9,
        }
    feed.ledger.on_tick(40, prices[40])
    sell = feed.sell_all(game_id, 40, prices[40], "sell")
    first = len(feed.events)
    feed.game(seed, game_id, prices, 0.02, trades={41: [sell]})
    for _, event, args in feed.events[first:]:
        tick = args[0].get("tickCount") if event == "gameStateUpdate" else None
        if tick in rows and args[0].get("active"):
            args[0]["leaderboard"] = [rows[tick]]
    entry = history_entry(seed, game_id, prices, 0.02)
    feed.game(*make_game("lost-buy-next"), 0.01, history=[entry], rug_message=False, post_rug=False)
    feed.play(pipeline(tmp_path / "rec", session_write_interval=0.0))
    (part,) = sessions(tmp_path / "rec")
    assert [(a.action, a.tick) for a in part.actions] == [("BUY", 3), ("SELL", 40)]
    assert part.actions[0].model_extra.get("inferred") is True
    assert part.actions[-1].balance_after == feed.ledger.cash
    verification = part.meta.verification
    assert verification is not None and verification.drift_count == 0, verification


def test_a_session_rewritten_game_after_game_has_the_bytes_of_its_whole_encoding(tmp_path: Path) -> None:
    """Each rewrite encodes only the actions new since the last one (ActionTexts): the file still has the
    bytes of its recording encoded whole; and the actions share one set of field names (memory)."""
    feed = OwnFeed()
    round_trips(feed, 5, reveal_late=True)
    run = feed.play(pipeline(tmp_path / "rec", session_write_interval=0.0))
    [path] = RecordingsLayout(tmp_path / "rec").session_files()
    recording = run.sessions[PID].recording()
    assert len(recording.actions) == 10
    assert path.read_bytes() == recording.to_json_bytes()
    assert len({id(a.model_fields_set) for a in recording.actions}) == 1
