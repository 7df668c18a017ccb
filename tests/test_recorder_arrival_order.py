"""Trades of one tick in the server's order although the connections deliver them in different orders.

Each connection's stream is in the server's order, but a connection that has just reconnected is ahead of one
still reading its backlog. Seen on a loaded machine: the server executed a buy of 0.01 and then one of 0.005
in the same presale; connection 0 (reconnected in between) delivered only the 0.005, first; connection 2,
lagging, delivered both in order, later. First arrival alone put the 0.005 first and every balance after it
was off by 0.01 SOL.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from recorder_helpers import T0, Feed, history_entry, make_game, pipeline, trade

from recorder.arrival_order import in_server_order
from recorder.files import RecordingsLayout, read_session
from recorder.session_inputs import Input
from rugs_env.game.ledger import Ledger

PID, NAME = "did:privy:cmorder00000000000000000", "orderly"


def _input(name: str, tick: int, seq: int, seen: dict[int, int]) -> Input:
    return Input("buy", "g", tick, 1.0, 1, 1, T0, (0, seq), name, seen)


def test_within_a_tick_every_connection_s_order_is_kept() -> None:
    late = _input("0.005", 0, 1, {0: 1, 2: 3})  # first arrival (conn 0), then conn 2 after the other one
    early = _input("0.01", 0, 2, {2: 2})
    assert [i.trade_id for i in in_server_order([late, early])] == ["0.01", "0.005"]
    # without conn 2's copy nothing says otherwise: first arrival
    alone = _input("0.005", 0, 1, {0: 1})
    assert [i.trade_id for i in in_server_order([alone, early])] == ["0.005", "0.01"]


def test_ticks_come_first_and_unrelated_inputs_keep_their_arrival_order() -> None:
    a, b, c = _input("a", 3, 5, {0: 5}), _input("b", 1, 9, {1: 9}), _input("c", 3, 6, {1: 6})
    assert [i.trade_id for i in in_server_order([a, b, c])] == ["b", "a", "c"]


@pytest.mark.parametrize("copies", ["duplicate", "feed"])
def test_a_session_takes_the_order_of_the_connection_that_saw_both(tmp_path: Path, copies: str) -> None:
    """``duplicate``: the live recorder hands copies to ``pipeline.duplicate``; ``feed``: ingest feeds every
    copy and the pipeline drops it."""
    seed, game_id, prices = make_game("order", 20, 30)
    first = trade(game_id, PID, NAME, "buy", 0, 1.0, 0.01, 0.01, "t-first")
    second = trade(game_id, PID, NAME, "buy", 0, 1.0, 0.005, 0.005, "t-second")
    feed = Feed()
    feed.game(seed, game_id, prices, 0.01)
    feed.game(*make_game("order-next"), 0.01, history=[history_entry(seed, game_id, prices, 0.01)])
    # the presale: conn 0 delivers only the second buy; conn 1, lagging, both in order, later
    presale = next(
        k
        for k, (_, event, args) in enumerate(feed.events)
        if event == "gameStateUpdate" and args[0].get("active")
    )
    at = feed.events[presale][0] - timedelta(seconds=0.05)
    deliveries = [(0, second), (1, first), (1, second)]
    rec = pipeline(tmp_path / "rec", follow=(NAME,))
    seen: set[str] = set()
    for k, (when, event, args) in enumerate(feed.events):
        if k == presale:
            for step, (conn, payload) in enumerate(deliveries):
                moment = at + timedelta(milliseconds=step)
                if copies == "duplicate" and payload["id"] in seen:
                    rec.duplicate(moment, "standard/newTrade", [payload], conn)
                else:
                    rec.feed(moment, "standard/newTrade", [payload], conn)
                seen.add(payload["id"])
        rec.feed(when, event, args)
    rec.finish()
    (path,) = RecordingsLayout(tmp_path / "rec").session_files()
    actions = [a for a in read_session(path).actions if a.game_id == game_id]
    assert [a.trade_id for a in actions[:2]] == ["t-first", "t-second"]
    assert actions[0].balance_after - actions[1].balance_after == 5_000_000
    assert actions[1].position_qty_after == 15_000_000


def test_a_lagging_connection_s_game_takes_its_place_in_time(tmp_path: Path) -> None:
    """Connection 0 reconnects while game B runs and never shows it; connection 1, lagging, shows B only
    after connection 0 has shown the next game, C. B still goes between A and C (each connection's stream
    is in the server's order), so a followed player's balances run A, B, C as on the server."""
    games = [make_game(f"lag-{name}", 12, 20) for name in "abc"]
    feeds: list[Feed] = []
    history: list[dict] = []
    ledger, expected = Ledger(10**9, min_bet=1, max_bet=10**18), []
    for i, (seed, game_id, prices) in enumerate(games):
        buy = trade(game_id, PID, NAME, "buy", 0, 1.0, 0.01 * (i + 1), 0.01 * (i + 1), f"b{i}")
        feed = Feed(T0 + timedelta(seconds=30 * i))
        feed.game(seed, game_id, prices, 0.01, history=history, trades={0: [buy]})
        feeds.append(feed)
        ledger.open_game(game_id)
        fills = [ledger.buy(10_000_000 * (i + 1), tick=0, price=1.0), *ledger.rug(len(prices), 0.01)]
        expected += [(game_id, f.cash_after) for f in fills]
        history = [history_entry(seed, game_id, prices, 0.01), *history]
    end = Feed(T0 + timedelta(seconds=100))
    end.game(*make_game("lag-end"), 0.01, history=history, rug_message=False, post_rug=False)
    p = pipeline(tmp_path / "rec", follow=(NAME,), start_balance=10**9)
    a, b, c = (f.events for f in feeds)
    for at, event, args in a:  # both connections show game A
        p.feed(at, event, args, 0)
        p.feed(at, event, args, 1)
    p.feed(c[0][0], "disconnect", ["transport error"], 0)
    p.feed(c[0][0], "connect", [], 0)
    half = len(c) // 2
    for at, event, args in c[:half]:  # connection 0 is on game C already
        p.feed(at, event, args, 0)
    for _at, event, args in b:  # connection 1 catches up with game B
        p.feed(c[half][0], event, args, 1)
    for at, event, args in [*c[half:], *end.events]:
        p.feed(at, event, args, 0)
    p.finish()
    ranks = [p.games.rank(game_id) for _, game_id, _ in games]
    assert ranks == sorted(ranks), ranks
    (path,) = RecordingsLayout(tmp_path / "rec").session_files()
    actions = read_session(path).actions
    assert [(a.game_id, a.balance_after) for a in actions] == expected


def test_a_reconnected_connection_s_first_game_is_the_latest(tmp_path: Path) -> None:
    """A packet read after its connection's disconnect (the stream's last, handled late) must not make the
    next connection on that slot look like one lagging behind: its first game is the current one."""
    (seed_a, game_a, prices_a), (seed_b, game_b, prices_b), (seed_c, game_c, prices_c) = (
        make_game(f"re-{n}", 12, 20) for n in "abc"
    )
    a, b, c = Feed(T0), Feed(T0 + timedelta(seconds=30)), Feed(T0 + timedelta(seconds=60))
    a.game(seed_a, game_a, prices_a, 0.01)
    b.game(seed_b, game_b, prices_b, 0.01)
    c.game(seed_c, game_c, prices_c, 0.01)
    p = pipeline(tmp_path / "rec")
    first, *rest = a.events
    p.feed(first[0], first[1], first[2], 1)
    p.feed(first[0], "disconnect", ["transport error"], 1)
    p.feed(first[0], rest[0][1], rest[0][2], 1)  # read after the disconnect
    for at, event, args in [*a.events, *b.events]:
        p.feed(at, event, args, 0)
    p.feed(c.events[0][0], "connect", [], 1)
    for at, event, args in c.events[:3]:
        p.feed(at, event, args, 1)
    ranks = [p.games.rank(g) for g in (game_a, game_b, game_c)]
    assert ranks == sorted(ranks), ranks
