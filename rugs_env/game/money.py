"""Exact money: integer lamports inside, decimal strings in files, IEEE doubles on the wire.

The server computes in doubles and rounds token quantities and SOL amounts to 9 decimals. We keep every
amount as an integer count of lamports (1e-9 SOL) and every token quantity as an integer count of
1e-9 tokens ("nano-tokens"), so sums never drift; conversions to and from the wire's doubles are exact
where they can be and reproduce the server's arithmetic where they cannot.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from rugs_env.game.constants import LAMPORTS_PER_SOL

NANO: int = LAMPORTS_PER_SOL  # the 9-decimal unit, for SOL (lamports) and tokens (nano-tokens) alike


class MoneyFormatError(ValueError):
    """A value that is not a finite decimal amount."""


def to_nano(value: float | int | str | Decimal) -> int:
    """Exact count of 1e-9 units for a decimal amount; rejects non-finite values and sub-unit digits.

    A float is read through its shortest repr, so ``to_nano(0.123) == 123_000_000`` exactly.
    """
    dec = _as_decimal(value)
    scaled = dec * NANO
    if scaled != scaled.to_integral_value():
        raise MoneyFormatError(f"{value!r} has more than 9 decimals")
    return int(scaled)


def to_nano_rounded(value: float | int | str | Decimal) -> int:
    """Nearest count of 1e-9 units (half away from zero), for amounts with stray float digits."""
    dec = _as_decimal(value) * NANO
    return int(dec.to_integral_value(rounding="ROUND_HALF_UP"))


def floor_nano(value: float) -> int:
    """The server's floor to 9 decimals, ``Math.floor(x * 1e9)``, evaluated in IEEE doubles like JS."""
    scaled = value * 1e9
    if not math.isfinite(scaled):  # inf or nan in, or a finite value too large to count in 1e-9 units
        raise MoneyFormatError(f"amount {value!r} is not finite in 1e-9 units")
    return math.floor(scaled)


def from_nano(units: int) -> float:
    """The double the server sends for an amount of ``units`` 1e-9 units (correctly rounded division)."""
    return units / NANO


def nano_str(units: int) -> str:
    """Decimal string with exactly 9 decimals, e.g. ``95035250 -> "0.095035250"`` (for files)."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), NANO)
    return f"{sign}{whole}.{frac:09d}"


def parse_nano_str(text: str) -> int:
    """Inverse of :func:`nano_str`; accepts any decimal string with at most 9 decimals."""
    if not isinstance(text, str):
        raise MoneyFormatError(f"expected a decimal string, got {type(text).__name__}")
    return to_nano(text)


def price_str(price: float) -> str:
    """A price as the shortest decimal string that parses back to the very same double."""
    if not math.isfinite(price):
        raise MoneyFormatError(f"non-finite price {price!r}")
    return repr(float(price))


def parse_price_str(text: str) -> float:
    """Inverse of :func:`price_str`: a finite, non-negative double."""
    if not isinstance(text, str):
        raise MoneyFormatError(f"expected a price string, got {type(text).__name__}")
    try:
        value = float(text)
    except ValueError as exc:
        raise MoneyFormatError(f"not a number: {text!r}") from exc
    if not math.isfinite(value) or value < 0:
        raise MoneyFormatError(f"price must be finite and >= 0, got {text!r}")
    return value


def _as_decimal(value: float | int | str | Decimal) -> Decimal:
    if isinstance(value, bool):
        raise MoneyFormatError("a boolean is not an amount")
    if isinstance(value, float):
        if not math.isfinite(value):
            raise MoneyFormatError(f"non-finite amount {value!r}")
        text = repr(value)
    else:
        text = str(value)
    try:
        dec = Decimal(text)
    except InvalidOperation as exc:
        raise MoneyFormatError(f"not a decimal amount: {value!r}") from exc
    if not dec.is_finite():
        raise MoneyFormatError(f"non-finite amount {value!r}")
    return dec
