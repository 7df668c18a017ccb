"""A finished game's replay against the player's leaderboard rows: a trade no connection delivered, put back.

When the server drops a connection, what it had not yet delivered on it is lost; with every connection down
or lagging at that moment, a trade of a followed player is never seen, and every balance after it would be
off. The leaderboard says otherwise: each active tick's row gives the player's ``positionQty``,
``totalInvested`` and ``regularPnl`` as the server's ledger has them. So once a game is over (every input
that will come has come), its replay is checked row by row (:func:`first_missed_trade`):

* a row agrees when the replayed position and amount invested at its tick (after the inputs of earlier ticks:
  a tick's trades execute after its message), at the tick before (the real leaderboard can lag one tick), or
  between the tick's own inputs (a presale row shows the presale so far) are the row's;
* at the first row that does not, one missed trade since the last agreeing row is looked for: a buy of
  exactly the extra amount invested whose ``floor9(amount / price)`` at some tick is the extra quantity, or
  a sale of the missing quantity at the tick whose proceeds make the row's ``regularPnl`` (within
  :data:`TOLERANCE`); the earliest best tick wins. The replay then runs again with it (an *inferred* action),
  and the next row is checked;
* a difference no single trade explains is left as it is and counted (``board_mismatches`` in the session
  meta).

Rows of the rug tick and later are not used (they show the liquidation); the caller leaves them out.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from recorder.session_inputs import BoardRow, GameInputs, GameOracle, Input
from rugs_env.game.ledger_math import buy_qty, cost_of_sold, sell_proceeds, unrealised_pnl
from rugs_env.game.ledger_types import LedgerState
from rugs_env.game.money import NANO, MoneyFormatError, floor_nano

TOLERANCE = 3  # lamports: the row's figures are 9-decimal floats, and trunc() of the mark depends on order
Timeline = Sequence[tuple[int, LedgerState]]  # (first tick the state holds for, the replayed state)
PriceAt = Callable[[str, int], float | None]
TimeAt = Callable[[str, int], datetime | None]


class Unexplained(Exception):
    """A row no single missed trade explains."""


def first_missed_trade(
    game_id: str, rows: Sequence[BoardRow], timeline: Timeline, price_at: PriceAt, time_at: TimeAt
) -> Input | None:
    """The trade the first disagreeing row shows missing (None when every row agrees); raises
    :class:`Unexplained` when one trade cannot explain that row."""
    starts = [t for t, _ in timeline]
    agreed = 0
    for tick, qty, invested, regular in rows:
        if any(
            s.position_qty == qty and s.total_invested == invested
            for s in _states_near(timeline, starts, tick)
        ):
            agreed = tick
            continue
        now = timeline[bisect_right(starts, tick) - 1][1]
        candidates = range(max(0, agreed - 1), max(tick, 1))
        found = _one_trade(game_id, now, (tick, qty, invested, regular), candidates, price_at)
        if found is None:
            raise Unexplained(f"{game_id} tick {tick}: position {qty}, invested {invested}")
        kind, at_tick, price, amount, moved = found
        at = time_at(game_id, at_tick) or datetime.fromtimestamp(0, UTC)
        order = (int(at.timestamp() * 1000), 0)
        return Input(kind, game_id, at_tick, price, amount, moved, at, order, inferred=True)
    return None


def _states_near(timeline: Timeline, starts: list[int], tick: int) -> list[LedgerState]:
    """The replayed states a row of ``tick`` may show: before the tick's trades or the previous tick's (the
    row may lag), or between them (a presale row, a row built after some of the tick's trades)."""
    first = max(0, bisect_right(starts, tick - 1) - 1)
    last = bisect_right(starts, tick + 1)
    return [state for _, state in timeline[first:last]]


def _one_trade(
    game_id: str, now: LedgerState, row: BoardRow, candidates: range, price_at: PriceAt
) -> tuple[str, int, float, int, int] | None:
    """(kind, tick, price, amount, qty) of the one trade that takes ``now`` to ``row``, or None."""
    tick, qty, invested, regular = row
    extra_qty, extra_invested = qty - now.position_qty, invested - now.total_invested
    if extra_qty > 0 and extra_invested > 0:  # a buy: the amount is known, the tick is where the qty fits
        for t in candidates:
            price = price_at(game_id, t)
            if price is not None and _exact(buy_qty, extra_invested, price) == extra_qty:
                return "buy", t, price, extra_invested, extra_qty
        return None
    if extra_qty >= 0 or extra_invested != 0 or regular is None:
        return None
    # a sale: the quantity is known, the tick is the one whose proceeds give the row's regularPnl
    sold = -extra_qty
    cost = cost_of_sold(now.cost_basis, now.position_qty, sold)
    marks = [p for p in (price_at(game_id, tick), price_at(game_id, tick - 1)) if p is not None]
    best: tuple[int, int, float, int] | None = None
    for t in candidates:
        price = price_at(game_id, t)
        if price is None:
            continue
        proceeds = _exact(sell_proceeds, sold, price)
        if proceeds is None:
            continue
        realised = now.realised_pnl + proceeds - cost
        for mark in marks:
            error = abs(realised + unrealised_pnl(qty, mark, now.cost_basis - cost) - regular)
            if error <= TOLERANCE and (best is None or error < best[0]):
                best = (error, t, price, proceeds)
    if best is None:
        return None
    return "sell", best[1], best[2], best[3], sold


def _exact(compute: Callable[..., int], *args: int | float) -> int | None:
    """``compute(*args)``, an amount from a price, or None where the price is one no trade executes at (0,
    or so small or large that the amount overflows): such a tick explains no trade."""
    try:
        return compute(*args)
    except (MoneyFormatError, OverflowError, ZeroDivisionError):
        return None


def entry_guess(game: GameInputs, oracle: GameOracle) -> tuple[int, float]:
    """The (tick, price) of tokens held but never seen bought: from the first leaderboard row with a position
    when there is one (the tick whose price matches its average cost), else the oracle's guess."""
    if game.board is not None:
        row_tick, avg, _qty = game.board
        if avg == NANO:
            return 0, 1.0
        for tick in range(row_tick + 1):
            price = oracle.price_at(game.game_id, tick)
            if price is not None and _exact(floor_nano, price) == avg:
                return tick, price
    return oracle.entry_guess(game.game_id)
