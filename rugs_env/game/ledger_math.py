"""The server's arithmetic, as pure functions on integer lamports / nano-tokens and float prices.

The rugs.fun server computes in IEEE doubles and truncates to 9 decimals with ``Math.floor(x * 1e9) / 1e9``
(:func:`rugs_env.game.money.floor_nano`). These functions reproduce it; each rule says what it rests on
(the Dec-12-2025 capture in ``tests/fixtures/realdata``, PROTOCOL.md §3.3 and §5).

Units: amounts and cost bases in lamports (int), quantities in nano-tokens (int), prices as floats.
A nano-token times a price is a lamport, so ``qty * price`` is directly in lamports.

Rules
-----
* **Buy quantity** ``q = floor9(amount / price)`` in doubles (:func:`buy_qty`). Reproduces every real buy
  (17/17 of the Dec-12 capture and the Feb-2026 sample).
* **Sell proceeds** ``floor9(qty * price)`` in doubles, then re-floored twice more through its own double
  (:func:`sell_proceeds`): ``n -> Math.floor((n / 1e9) * 1e9)``. A 9-decimal value whose nearest double lies
  just below it (e.g. ``4.158855049 * 1e9 == 4158855048.9999995``) loses a lamport at each pass, which is
  exactly what the server's amounts show: with the passes, all 11 single-lot sells of the capture (and the
  Feb-2026 sample) are reproduced to the lamport; the trade's ``bonusPortion``/``realPortion`` is one more
  pass (``floor9(amount)``). Three multi-lot sells remain 1-2 lamports *below* this rule, unexplained (see
  ``tests/test_ledger_realdata.py``). A pass never gains: the proceeds are within 2 lamports below
  ``floor9(qty * price)``.
* **Average cost** is the quantity-weighted mean of the execution prices, kept unrounded (like the server's
  double) and shown truncated to 9 decimals (:func:`blend_avg_price`, :func:`avg_cost_nano`). It is *not*
  ``costBasis / qty``: the capture's leaderboard rows show ``avgCost == floor9(price)`` after a single buy
  (10/10; ``floor9(amount / qty)`` would miss 8), and the weighted mean for multi-lot positions (HotAir 3 and
  4 lots, Mikeyspliff3 presale + buy). Sells leave it unchanged; a full close zeroes it. PROTOCOL §3.3's
  example (``1.181828845``, a Dec-28 doc figure) is the one known disagreement: we give ``1.181829054``.
* **Cost basis** (SOL, drives PnL): a buy adds its amount; a sell removes the share of the tokens sold,
  rounded half up, and all of it when the position is closed (:func:`cost_of_sold`).
* **Unrealised PnL** ``qty * price - costBasis`` computed exactly, truncated toward zero
  (:func:`unrealised_pnl`). This reproduces PROTOCOL §3.3 (``0.000888953``) and §5 (``-0.001978972``, where
  flooring would give ``...973``).
* **Fraction sells** sell ``floor(qty * fraction)`` nano-tokens (exact rational product of the float
  fraction), and everything when the fraction is 1 (:func:`fraction_qty`).
"""

from __future__ import annotations

from typing import Final

from rugs_env.game.money import floor_nano, from_nano

# Extra floor9 passes on the sell proceeds (3 floors in all): fitted on, and checked against, 12 real sells.
SELL_REFLOOR_PASSES: Final = 2


def buy_qty(amount: int, price: float) -> int:
    """Nano-tokens bought with ``amount`` lamports at ``price``: ``Math.floor(amount / price * 1e9)``."""
    return floor_nano(from_nano(amount) / price)


def sell_proceeds(qty: int, price: float) -> int:
    """Lamports received for ``qty`` nano-tokens at ``price`` (the server's triple ``floor9``)."""
    units = floor_nano(from_nano(qty) * price)
    for _ in range(SELL_REFLOOR_PASSES):
        units = floor_nano(from_nano(units))
    return units


def fraction_qty(qty: int, fraction: float) -> int:
    """Nano-tokens sold for a fraction ``0 < fraction <= 1`` of ``qty``: floored, all of it for 1."""
    if fraction >= 1:
        return qty
    num, den = float(fraction).as_integer_ratio()
    return qty * num // den


def cost_of_sold(cost_basis: int, qty: int, sold: int) -> int:
    """Cost basis carried by ``sold`` of ``qty`` tokens: pro rata, half up; all of it when closing."""
    if sold >= qty:
        return cost_basis
    return (2 * cost_basis * sold + qty) // (2 * qty)


def blend_avg_price(avg_price: float, qty: int, price: float, added: int) -> float:
    """Quantity-weighted mean entry price after adding ``added`` nano-tokens bought at ``price``.

    Evaluated in doubles on token units like the server; the first lot's average is its price exactly.
    """
    if qty == 0:
        return float(price)
    old, new = from_nano(qty), from_nano(added)
    return (avg_price * old + price * new) / (old + new)


def avg_cost_nano(avg_price: float) -> int:
    """The average cost as sent on the wire, in 1e-9 units: ``floor9(avg_price)``, 0 when flat."""
    return floor_nano(avg_price) if avg_price > 0 else 0


def exact_value_parts(qty: int, price: float) -> tuple[int, int]:
    """``qty * price`` in lamports as an exact fraction ``(numerator, denominator)``."""
    num, den = float(price).as_integer_ratio()
    return qty * num, den


def unrealised_pnl(qty: int, price: float, cost_basis: int) -> int:
    """Mark-to-market of the open position in lamports: ``qty * price - cost_basis``, truncated toward 0."""
    num, den = exact_value_parts(qty, price)
    diff = num - cost_basis * den
    magnitude = abs(diff) // den
    return magnitude if diff >= 0 else -magnitude


__all__ = [
    "SELL_REFLOOR_PASSES",
    "avg_cost_nano",
    "blend_avg_price",
    "buy_qty",
    "cost_of_sold",
    "exact_value_parts",
    "fraction_qty",
    "sell_proceeds",
    "unrealised_pnl",
]
