"""The server's order of one player's inputs within a tick, from what several connections delivered.

Each connection's stream is in the server's order (one TCP stream), but the connections lag differently: a
connection that has just reconnected is ahead of one still reading its backlog, so the order of *first
arrival* over all connections can invert two trades of the same tick (a buy of 0.01 first delivered after a
buy of 0.005 that the server executed later). Which one came first changes every ``balance_after`` in
between. So every input remembers where it stood in each connection's stream that delivered it
(:attr:`~recorder.session_replay.Input.seen`: connection -> arrival sequence), and within a tick the inputs
are put in an order that every connection agrees with; ties (no connection saw both) go by first arrival.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import groupby
from typing import TYPE_CHECKING, Any

from recorder.session_inputs import Input

if TYPE_CHECKING:
    from recorder.events import SidebetEvent, Trade

SightingKey = tuple[Any, ...]


def sighting(trade_id: str | None, kind: str, tick: int, amount: int, qty: int) -> SightingKey:
    """How an input, and every copy of it another connection delivers, is recognised."""
    return (trade_id,) if trade_id else (kind, tick, amount, qty)


def sighting_key(inp: Input) -> SightingKey:
    return sighting(inp.trade_id, inp.kind, inp.tick, inp.amount, inp.qty)


def trade_sighting(trade: Trade) -> SightingKey:
    """The key of the input a trade becomes."""
    return sighting(trade.trade_id, trade.kind, trade.tick, trade.amount, trade.qty)


def bet_sighting(bet: SidebetEvent) -> SightingKey:
    """The key of the input a sidebet placement becomes (no id: kind, start tick, stake)."""
    return sighting(None, "sidebet", bet.start_tick, bet.bet, 0)


def note_sighting(inputs: Iterable[Input], key: SightingKey, conn: int, seq: int) -> bool:
    """Connection ``conn`` delivered the input ``key`` (again) at arrival sequence ``seq``; True if that
    is news (the input is known and this connection had not delivered it before)."""
    for inp in inputs:
        if sighting_key(inp) == key:
            if conn in inp.seen:
                return False
            inp.seen[conn] = seq
            return True
    return False


def in_server_order(inputs: Iterable[Input]) -> list[Input]:
    """The inputs by tick, and within a tick in an order every connection agrees with (see the module
    docstring); the synthetic inputs (no connection) keep their place by ``order``."""
    ordered = sorted(inputs, key=lambda i: (i.tick, i.order))
    out: list[Input] = []
    for _tick, same_tick in groupby(ordered, key=lambda i: i.tick):
        group = list(same_tick)
        out.extend(_agreed(group) if len(group) > 1 else group)
    return out


def _before(a: Input, b: Input) -> bool:
    """Some connection delivered ``a`` before ``b``."""
    return any(conn in b.seen and seq < b.seen[conn] for conn, seq in a.seen.items())


def _agreed(group: list[Input]) -> list[Input]:
    """A topological order of ``group`` under :func:`_before`, earliest first arrival first."""
    pending = list(group)  # already in first-arrival order
    out: list[Input] = []
    while pending:
        pick = next(
            (
                k
                for k, cand in enumerate(pending)
                if not any(_before(o, cand) for o in pending if o is not cand)
            ),
            0,  # the connections disagree (in-order streams cannot): first arrival
        )
        out.append(pending.pop(pick))
    return out
