"""The ledger's arithmetic on numpy arrays: int64 lamports / nano-tokens, float64 prices.

Each function evaluates exactly the double-precision expressions of :mod:`rugs_env.game.ledger_math` (the
server's ``floor9``), element by element, so its results equal the ledger's to the lamport (a test compares
them on thousands of random values and fill by fill through the environments).
"""

from __future__ import annotations

import numpy as np

from rugs_env.game.ledger_math import SELL_REFLOOR_PASSES

NANO = 1e9


def floor9(x: np.ndarray) -> np.ndarray:
    """``Math.floor(x * 1e9)`` in doubles, as int64 (:func:`rugs_env.game.money.floor_nano`)."""
    return np.floor(x * NANO).astype(np.int64)


def buy_qty(amount: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Nano-tokens bought: ``floor9(amount / 1e9 / price)`` (:func:`ledger_math.buy_qty`)."""
    return floor9((amount / NANO) / price)


def sell_proceeds(qty: np.ndarray, price: np.ndarray) -> np.ndarray:
    """Lamports of a sale: ``floor9(qty / 1e9 * price)``, then two re-floors (``ledger_math.sell_proceeds``).

    The intermediate floors stay float64 (integers below 2**53, exact); one conversion at the end.
    """
    floor = np.floor
    units = floor((qty / NANO) * price * NANO)
    for _ in range(SELL_REFLOOR_PASSES):
        units = floor(units / NANO * NANO)
    return units.astype(np.int64)


def fraction_qty(qty: np.ndarray, num: np.ndarray, den: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """``floor(qty * num / den)`` exactly (``den`` a power of two <= 2**61, ``qty`` < 2**53), ``qty`` where
    ``whole``.

    The float64 product is within one of the true value, so its floor ``c`` is off by at most one; the exact
    remainder ``qty * num - c * den`` (wrapping int64 arithmetic: the true remainder is within ``2 den`` of 0,
    so it is recovered exactly) says which way.
    """
    c = np.floor(qty * (num / den)).astype(np.int64)
    with np.errstate(over="ignore"):
        r = qty * num - c * den
    c = c - (r < 0) + (r >= den)
    return np.where(whole, qty, c)


__all__ = ["buy_qty", "floor9", "fraction_qty", "sell_proceeds"]
