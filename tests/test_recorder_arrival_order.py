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
