"""Argument checks of the ledger: turn anything a caller may pass into a clean value or a typed error.

Bad input never crashes with a TypeError/ValueError/OverflowError: it raises the matching
:class:`~rugs_env.game.ledger_errors.LedgerError`. Integer-like numpy scalars are accepted for lamports,
nano-tokens and ticks; booleans never are. Also the stake limits of buys and sidebets (:func:`check_stake`)
and :func:`error_of`, the error a planned order would raise (the ledger's ``*_error`` probes).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable

from rugs_env.game.ledger_errors import (
    AboveMaximum,
    BelowMinimum,
    InsufficientCash,
    InvalidAmount,
    InvalidGameId,
    InvalidPrice,
    InvalidTick,
    LedgerError,
)
from rugs_env.game.money import from_nano


def _describe(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_lamports(value: object, what: str = "amount", *, allow_zero: bool = False) -> int:
    """An int count of lamports (or nano-tokens) > 0 (>= 0 with ``allow_zero``), else InvalidAmount."""
    if type(value) is int and (value > 0 or (allow_zero and value == 0)):
        return value  # fast path for the common case (same result; the ABC checks below are slow)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise InvalidAmount(
            f"{what} must be an int count of 1e-9 units (lamports / nano-tokens), got {_describe(value)}"
        )
    units = int(value)
    if units < 0 or (units == 0 and not allow_zero):
        raise InvalidAmount(f"{what} must be {'>= 0' if allow_zero else '> 0'}, got {units}")
    return units


def check_fraction(value: object) -> float:
    """A fraction of the position, ``0 < f <= 1``, as a float; else InvalidAmount."""
    if type(value) is float and 0.0 < value <= 1.0:
        return value  # fast path (same result)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidAmount(f"fraction must be a number in (0, 1], got {_describe(value)}")
    try:
        frac = float(value)
    except (OverflowError, ValueError) as exc:
        raise InvalidAmount(f"fraction must be a number in (0, 1], got {_describe(value)}") from exc
    if not (0.0 < frac <= 1.0):  # also rejects NaN
        raise InvalidAmount(f"fraction must be in (0, 1], got {_describe(value)}")
    return frac


def check_price(value: object) -> float:
    """A finite price > 0 as a float; else InvalidPrice."""
    if type(value) is float and 0.0 < value < math.inf:
        return value  # fast path (same result; NaN fails the comparison and takes the slow path)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidPrice(f"price must be a finite number > 0, got {_describe(value)}")
    try:
        price = float(value)
    except (OverflowError, ValueError) as exc:
        raise InvalidPrice(f"price must be a finite number > 0, got {_describe(value)}") from exc
    if not (math.isfinite(price) and price > 0.0):
        raise InvalidPrice(f"price must be a finite number > 0, got {_describe(value)}")
    return price


def check_tick(value: object) -> int:
    """A tick: an int >= 0; else InvalidTick."""
    if type(value) is int and value >= 0:
        return value  # fast path (same result)
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 0:
        raise InvalidTick(f"tick must be an int >= 0, got {_describe(value)}")
    return int(value)


def check_game_id(value: object) -> str:
    """A non-empty string; else InvalidGameId."""
    if not isinstance(value, str) or not value:
        raise InvalidGameId(f"game id must be a non-empty string, got {_describe(value)}")
    return value


def check_stake(amount: int, min_bet: int, max_bet: int, cash: int, what: str) -> None:
    """A buy's or sidebet's ``amount`` lamports within ``[min_bet, max_bet]`` and the cash; else the error."""
    sol = from_nano(amount)
    if amount < min_bet:
        raise BelowMinimum(f"{what} of {sol} SOL is below the minimum {from_nano(min_bet)}")
    if amount > max_bet:
        raise AboveMaximum(f"{what} of {sol} SOL is above the maximum {from_nano(max_bet)}")
    if amount > cash:
        raise InsufficientCash(f"{what} of {sol} SOL exceeds the cash {from_nano(cash)}")


def error_of(plan: Callable[[], object]) -> LedgerError | None:
    """The LedgerError ``plan()`` raises, or None (the ledger's ``*_error`` checks for action masks)."""
    try:
        plan()
    except LedgerError as err:
        return err
    return None


__all__ = [
    "check_fraction",
    "check_game_id",
    "check_lamports",
    "check_price",
    "check_stake",
    "check_tick",
    "error_of",
]
