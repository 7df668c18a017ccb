"""Pure state transitions of the ledger: ``(LedgerState, order) -> (new LedgerState, Fill)``.

They assume the order was validated (phase, limits, cash, position) by :class:`~rugs_env.game.ledger.Ledger`;
the only errors they raise are the arithmetic's own (an order that buys no token, an absurd price).
Nothing here mutates anything, which is what makes a rejected order leave the account unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from math import floor
from typing import Any

from rugs_env.game.ledger_errors import InvalidAmount, InvalidPrice
from rugs_env.game.ledger_math import (
    avg_cost_nano,
    blend_avg_price,
    buy_qty,
    cost_of_sold,
    sell_proceeds,
    unrealised_pnl,
)
from rugs_env.game.ledger_types import Fill, FillKind, LedgerState, Sidebet, evolve, new_fill
from rugs_env.game.money import NANO, MoneyFormatError, from_nano

Step = tuple[LedgerState, Fill]


def buy_step(s: LedgerState, amount: int, tick: int, price: float) -> Step:
    """Spend ``amount`` lamports at ``price``: tokens ``floor9(amount / price)``, cost basis += amount."""
    qty = guarded(buy_qty, amount, price)
    if qty <= 0:
        raise InvalidAmount(f"{from_nano(amount)} SOL buys no token at price {price!r}")
    new = evolve(
        s,
        cash=s.cash - amount,
        position_qty=s.position_qty + qty,
        cost_basis=s.cost_basis + amount,
        avg_price=blend_avg_price(s.avg_price, s.position_qty, price, qty),
        total_invested=s.total_invested + amount,
    )
    return new, make_fill(new, FillKind.BUY, tick, price, amount, qty)


def sell_step(s: LedgerState, qty: int, tick: int, price: float, kind: FillKind = FillKind.SELL) -> Step:
    """Sell ``qty`` (0 < qty <= held) nano-tokens at ``price``; realised PnL += proceeds - their cost."""
    proceeds = guarded(sell_proceeds, qty, price)
    cost = cost_of_sold(s.cost_basis, s.position_qty, qty)
    rest = s.position_qty - qty
    new = evolve(
        s,
        cash=s.cash + proceeds,
        position_qty=rest,
        cost_basis=s.cost_basis - cost,
        avg_price=s.avg_price if rest else 0.0,
        realised_pnl=s.realised_pnl + proceeds - cost,
    )
    return new, make_fill(new, kind, tick, price, proceeds, qty)


def sidebet_step(s: LedgerState, stake: int, tick: int, price: float) -> Step:
    """Open a sidebet of ``stake`` lamports starting at ``tick``; the stake counts in total invested."""
    bet = Sidebet(game_id=s.game_id or "", start_tick=tick, stake=stake)
    new = evolve(s, cash=s.cash - stake, total_invested=s.total_invested + stake, sidebet=bet)
    return new, make_fill(new, FillKind.SIDEBET_PLACE, tick, price, stake, 0)


def settle_sidebet(s: LedgerState, *, won: bool) -> Step:
    """Settle the open sidebet at the state's (tick, price): a win pays 5x the stake, a loss nothing."""
    bet = s.sidebet
    if bet is None:
        raise ValueError("no open sidebet to settle")  # internal misuse, never a caller's input
    if won:
        profit = bet.payout - bet.stake
        new = evolve(s, cash=s.cash + bet.payout, sidebet_pnl=s.sidebet_pnl + profit, sidebet=None)
        return new, make_fill(new, FillKind.SIDEBET_WIN, s.tick, s.price, bet.payout, 0)
    new = evolve(s, sidebet_pnl=s.sidebet_pnl - bet.stake, sidebet=None)
    return new, make_fill(new, FillKind.SIDEBET_LOSE, s.tick, s.price, bet.stake, 0)


def regular_pnl_of(s: LedgerState, price: float) -> int:
    """Realised PnL + ``trunc(qty * price - cost_basis)``, lamports."""
    return s.realised_pnl + unrealised_pnl(s.position_qty, price, s.cost_basis)


def player_update_of(s: LedgerState, price: float) -> dict[str, Any]:
    """The numbers of a playerUpdate / leaderboard row for ``s`` marked at ``price`` (floats, SOL)."""
    regular = regular_pnl_of(s, price)
    pnl = regular + s.sidebet_pnl
    bet = s.sidebet
    return {
        "cash": from_nano(s.cash),
        "positionQty": from_nano(s.position_qty),
        "avgCost": from_nano(avg_cost_nano(s.avg_price)),
        "totalInvested": from_nano(s.total_invested),
        "cumulativePnL": from_nano(pnl),
        "pnl": from_nano(pnl),
        "regularPnl": from_nano(regular),
        "sidebetPnl": from_nano(s.sidebet_pnl),
        "shortPnl": 0,
        "pnlPercent": from_nano(pnl) / from_nano(s.total_invested) * 100 if s.total_invested else 0,
        "hasActiveTrades": s.total_invested > 0,
        "sidebetActive": True if bet else None,
        "sideBet": bet.wire() if bet else None,
    }


def make_fill(s: LedgerState, kind: FillKind, tick: int, price: float, amount: int, qty: int) -> Fill:
    """The fill of an operation, with the account ``s`` after it (game PnL marked at ``price``).

    ``s`` may be any object with LedgerState's fields (the ledger passes its working copy).
    """
    # Hot path: the average cost and the unrealised PnL are computed inline for ordinary values, exactly as
    # avg_cost_nano / unrealised_pnl do (same double and integer operations); the rest go through them.
    avg, held, cost = s.avg_price, s.position_qty, s.cost_basis
    if 0.0 < avg < 1e290:
        avg_cost = floor(avg * 1e9) / NANO
    else:
        avg_cost = from_nano(avg_cost_nano(avg))
    if held or cost:
        num, den = price.as_integer_ratio()
        diff = held * num - cost * den
        unrealised = diff // den if diff >= 0 else -(-diff // den)
    else:
        unrealised = 0
    return new_fill(
        kind,
        s.game_id or "",
        tick,
        price,
        amount,
        qty,
        s.cash,
        s.position_qty,
        avg_cost,
        s.realised_pnl,
        s.realised_pnl + unrealised + s.sidebet_pnl,  # regular_pnl_of(s, price) + the sidebet PnL
    )


def guarded(fn: Callable[[int, float], int], units: int, price: float) -> int:
    """Run a rounding function; an IEEE overflow (absurd price or size) becomes InvalidPrice."""
    try:
        return int(fn(units, price))
    except (MoneyFormatError, OverflowError) as exc:
        raise InvalidPrice(f"price {price!r} is out of range for {units} units: {exc}") from exc


__all__ = [
    "Step",
    "buy_step",
    "guarded",
    "make_fill",
    "player_update_of",
    "regular_pnl_of",
    "sell_step",
    "settle_sidebet",
    "sidebet_step",
]
