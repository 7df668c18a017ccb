"""Every rejection raises its typed LedgerError with its code and leaves the account exactly unchanged."""

from __future__ import annotations

import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest

from rugs_env.game import Ledger, LedgerError
from rugs_env.game import ledger_errors as E

SOL = 1_000_000_000
MILLI = 1_000_000

BAD_AMOUNTS = [
    True,
    False,
    0,
    -1,
    -MILLI,
    1.5,
    1e6,
    math.nan,
    math.inf,
    -math.inf,
    "1000000",
    None,
    b"x",
    Decimal("1000000"),
    Fraction(1, 2),
    [MILLI],
]
BAD_FRACTIONS = [True, False, 0, 0.0, -0.5, 1.0000001, 2, math.nan, math.inf, -math.inf, "0.5", None, 10, 100]
BAD_PRICES = [True, 0, 0.0, -1.0, math.nan, math.inf, -math.inf, "1.0", 10**400]  # None = "the clock's"
BAD_TICKS = [True, -1, 1.0, math.nan, "3"]


def holding() -> Ledger:
    """An active game at tick 10 holding a position and an open sidebet, with some cash left."""
    ledger = Ledger(SOL)
    ledger.open_game("g")
    ledger.buy(100 * MILLI)
    ledger.on_tick(10, 1.25)
    ledger.buy(50 * MILLI)
    ledger.place_sidebet(10 * MILLI)
    return ledger


def presale() -> Ledger:
    ledger = Ledger(SOL)
    ledger.open_game("g")
    return ledger


def rugged() -> Ledger:
    ledger = holding()
    ledger.rug(20, 0.01)
    return ledger


def flat_active() -> Ledger:
    ledger = Ledger(SOL)
    ledger.open_game("g")
    ledger.on_tick(3, 1.1)
    return ledger


def assert_rejected(ledger: Ledger, call: Callable[[Ledger], object], error: type[LedgerError]) -> None:
    before = ledger.snapshot()
    with pytest.raises(error) as info:
        call(ledger)
    assert ledger.snapshot() == before
    assert info.value.code == error.code and str(info.value) and info.value.message == str(info.value)
    assert isinstance(info.value, LedgerError)


CASES: list[tuple[str, Callable[[], Ledger], Callable[[Ledger], object], type[LedgerError]]] = [
    ("buy below minimum", holding, lambda lg: lg.buy(MILLI - 1), E.BelowMinimum),
    ("buy insufficient cash", holding, lambda lg: lg.buy(SOL), E.InsufficientCash),
    ("sidebet below minimum", flat_active, lambda lg: lg.place_sidebet(999_999), E.BelowMinimum),
    ("second sidebet", holding, lambda lg: lg.place_sidebet(MILLI), E.SidebetActive),
    ("sell nothing", flat_active, lambda lg: lg.sell(1.0), E.NoPosition),
    ("sell qty nothing", flat_active, lambda lg: lg.sell_qty(1), E.NoPosition),
    ("sell too many", holding, lambda lg: lg.sell_qty(lg.position_qty + 1), E.InsufficientPosition),
    ("sell rounds to nothing", None, lambda lg: lg.sell(0.5), E.InvalidAmount),  # type: ignore[list-item]
    ("presale sell", presale, lambda lg: lg.sell(1.0), E.PresaleSell),
    ("presale sell qty", presale, lambda lg: lg.sell_qty(1), E.PresaleSell),
    ("presale buy at another price", presale, lambda lg: lg.buy(MILLI, price=1.01), E.InvalidPrice),
    ("presale buy at another tick", presale, lambda lg: lg.buy(MILLI, tick=3), E.InvalidTick),
    ("order ahead of the clock", holding, lambda lg: lg.buy(MILLI, tick=11), E.InvalidTick),
    ("buy after rug", rugged, lambda lg: lg.buy(MILLI), E.GameOver),
    ("sell after rug", rugged, lambda lg: lg.sell(1.0), E.GameOver),
    ("sidebet after rug", rugged, lambda lg: lg.place_sidebet(MILLI), E.GameOver),
    ("tick after rug", rugged, lambda lg: lg.on_tick(30, 1.0), E.GameOver),
    ("rug after rug", rugged, lambda lg: lg.rug(30, 0.01), E.GameOver),
    ("buy before any game", lambda: Ledger(SOL), lambda lg: lg.buy(MILLI), E.NoGame),
    ("tick before any game", lambda: Ledger(SOL), lambda lg: lg.on_tick(1, 1.0), E.NoGame),
    ("open over a live game", holding, lambda lg: lg.open_game("g2"), E.GameInProgress),
    ("open over a presale", presale, lambda lg: lg.open_game("g2"), E.GameInProgress),
    ("empty game id", lambda: Ledger(SOL), lambda lg: lg.open_game(""), E.InvalidGameId),
    ("non-str game id", rugged, lambda lg: lg.open_game(7), E.InvalidGameId),
    ("tick backwards", holding, lambda lg: lg.on_tick(9, 1.0), E.InvalidTick),
    ("rug before the clock", holding, lambda lg: lg.rug(9, 0.01), E.InvalidTick),
    ("rug at tick 0", presale, lambda lg: lg.rug(0, 0.01), E.InvalidTick),
    ("absurd price overflows", flat_active, lambda lg: lg.buy(MILLI, price=5e-324), E.InvalidPrice),
]


def _tiny_position() -> Ledger:
    ledger = Ledger(SOL)
    ledger.open_game("g")
    ledger.on_tick(1, 1.0)
    ledger.buy(MILLI)
    ledger.sell_qty(MILLI - 1)  # 1 nano-token left: half of it is nothing
    return ledger


@pytest.mark.parametrize(("name", "make", "call", "error"), CASES, ids=[c[0] for c in CASES])
def test_rejections(
    name: str, make: Callable[[], Ledger] | None, call: Callable[[Ledger], object], error: type[LedgerError]
) -> None:
    assert_rejected((make or _tiny_position)(), call, error)


def test_limits_with_a_game_open() -> None:
    ledger = Ledger(100 * SOL)
    ledger.open_game("g")
    assert_rejected(ledger, lambda lg: lg.buy(5 * SOL + 1), E.AboveMaximum)
    assert_rejected(ledger, lambda lg: lg.place_sidebet(5 * SOL + 1), E.AboveMaximum)
    assert ledger.buy(5 * SOL).amount == 5 * SOL  # the maximum itself is allowed
    assert ledger.place_sidebet(MILLI).amount == MILLI  # and the minimum
    poor = Ledger(MILLI - 1)
    poor.open_game("g")
    assert_rejected(poor, lambda lg: lg.buy(MILLI), E.InsufficientCash)
    assert_rejected(poor, lambda lg: lg.place_sidebet(MILLI), E.InsufficientCash)


@pytest.mark.parametrize("bad", BAD_AMOUNTS, ids=repr)
def test_bad_amounts_are_invalid_amount(bad: object) -> None:
    ledger = holding()
    ledger.on_tick(60, 1.3)  # the sidebet expires, so place_sidebet reaches the amount check
    for call in (lambda lg: lg.buy(bad), lambda lg: lg.place_sidebet(bad), lambda lg: lg.sell_qty(bad)):
        assert_rejected(ledger, call, E.InvalidAmount)
    assert isinstance(ledger.buy_error(bad), E.InvalidAmount)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", BAD_FRACTIONS, ids=repr)
def test_bad_fractions_are_invalid_amount(bad: object) -> None:
    assert_rejected(holding(), lambda lg: lg.sell(bad), E.InvalidAmount)


@pytest.mark.parametrize("bad", BAD_PRICES, ids=repr)
def test_bad_prices_are_invalid_price(bad: object) -> None:
    ledger = holding()
    for call in (
        lambda lg: lg.on_tick(11, bad),
        lambda lg: lg.rug(11, bad),
        lambda lg: lg.buy(MILLI, price=bad),
        lambda lg: lg.sell(price=bad),
        lambda lg: lg.pnl(bad),
        lambda lg: lg.net_worth(bad),
    ):
        assert_rejected(ledger, call, E.InvalidPrice)


@pytest.mark.parametrize("bad", BAD_TICKS, ids=repr)
def test_bad_ticks_are_invalid_tick(bad: object) -> None:
    ledger = holding()
    for call in (
        lambda lg: lg.on_tick(bad, 1.0),
        lambda lg: lg.rug(bad, 0.01),
        lambda lg: lg.buy(MILLI, tick=bad),
        lambda lg: lg.place_sidebet(MILLI, tick=bad),
    ):
        assert_rejected(ledger, call, E.InvalidTick)


def test_on_tick_and_rug_need_a_tick_and_a_price() -> None:
    ledger = holding()
    assert_rejected(ledger, lambda lg: lg.on_tick(None, 1.0), E.InvalidTick)
    assert_rejected(ledger, lambda lg: lg.on_tick(11, None), E.InvalidPrice)
    assert_rejected(ledger, lambda lg: lg.rug(None, 0.01), E.InvalidTick)
    assert_rejected(ledger, lambda lg: lg.rug(11, None), E.InvalidPrice)


def test_constructor_rejects_bad_cash_and_limits() -> None:
    for bad in (-1, 1.0, True, "1", math.nan):
        with pytest.raises(E.InvalidAmount):
            Ledger(bad)  # type: ignore[arg-type]
    with pytest.raises(E.InvalidAmount):
        Ledger(SOL, min_bet=10 * MILLI, max_bet=MILLI)
    with pytest.raises(E.InvalidAmount):
        Ledger(SOL, max_bet=0)


def test_numpy_scalars_are_accepted() -> None:
    ledger = Ledger(np.int64(SOL))
    ledger.open_game("g")
    ledger.on_tick(np.int64(2), np.float64(0.5))
    assert ledger.buy(np.int64(MILLI)).qty == 2 * MILLI
    assert ledger.sell(np.float64(0.5)).qty == MILLI and type(ledger.cash) is int


def test_error_probes_report_without_acting() -> None:
    ledger = holding()
    before = ledger.snapshot()
    assert ledger.buy_error(MILLI) is None and ledger.sell_error(0.25) is None
    assert ledger.sell_qty_error(ledger.position_qty) is None
    assert isinstance(ledger.sidebet_error(MILLI), E.SidebetActive)
    assert isinstance(ledger.sell_qty_error(ledger.position_qty + 1), E.InsufficientPosition)
    assert isinstance(presale().sell_error(), E.PresaleSell)
    assert ledger.snapshot() == before


def test_codes_are_distinct_and_documented() -> None:
    classes = [getattr(E, name) for name in E.__all__ if name != "LedgerError"]
    codes = [cls.code for cls in classes]
    assert len(set(codes)) == len(codes)
    assert {
        "below_minimum",
        "above_maximum",
        "insufficient_cash",
        "no_position",
        "sidebet_active",
        "game_over",
        "presale_sell",
        "invalid_amount",
    } <= set(codes)
    for code in codes:
        assert f"``{code}``" in (E.__doc__ or "")
