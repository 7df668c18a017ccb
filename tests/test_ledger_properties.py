"""Property tests of the ledger (hypothesis): money is never created, failures change nothing, round trips
cost at most rounding, the rug leaves no position and the game's PnL is its change of cash, sidebets pay
5x exactly inside their window.

"Wealth" below is the exact rational ``W(p) = cash + qty * p + open stake`` in lamports (a nano-token at
price p is worth p lamports). Precisely, at the execution price p of each successful order:

* buy of A lamports:  ``0 <= W_before - W_after < p``   (tokens are floored to the nano-token)
* sell (any size):    ``0 <= W_before - W_after < 3``   (floor to the lamport + at most 2 re-floor passes)
* sidebet placement:  ``W_after == W_before``           (the stake moves from cash to the open bet)

each up to a slack of ``2**-50`` of the value traded (``amount + qty * p``): the JS-style arithmetic rounds in
IEEE doubles before flooring (relative error < 2**-51), which matters only for huge values (a 5e15-lamport
position is off by ~1 lamport); at realistic sizes the slack is below 1e-5 lamport.
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from rugs_env.game import FillKind, Ledger, LedgerError, Phase
from rugs_env.game.constants import DEFAULT_MAX_BET_LAMPORTS, MIN_BET_LAMPORTS

SOL = 1_000_000_000
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

amounts = st.integers(MIN_BET_LAMPORTS, DEFAULT_MAX_BET_LAMPORTS)
prices = st.one_of(
    st.floats(min_value=0.001, max_value=1000.0, allow_nan=False, allow_infinity=False),
    st.sampled_from([1.0, 0.8317710102714284, 0.48945183535715886, 1.4444769765026393, 0.009250309566210552]),
)
fractions = st.one_of(
    st.sampled_from([0.1, 0.25, 0.5, 1.0]),
    st.floats(min_value=1e-9, max_value=1.0, exclude_min=True, allow_nan=False),
)
junk = st.one_of(
    st.booleans(),
    st.none(),
    st.text(max_size=3),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True),
)

# One step of an episode: (operation, integer parameter, price or fraction parameter).
steps = st.lists(
    st.tuples(
        st.sampled_from(["tick", "buy", "sell", "sell_qty", "sidebet", "junk"]), amounts, prices | fractions
    ),
    max_size=25,
)


def wealth(ledger: Ledger, price: float) -> Fraction:
    bet = ledger.sidebet
    return ledger.cash + ledger.position_qty * Fraction(price) + (bet.stake if bet else 0)


def check_invariants(ledger: Ledger) -> None:
    assert ledger.cash >= 0 and ledger.position_qty >= 0 and ledger.cost_basis >= 0
    if ledger.position_qty == 0:
        assert ledger.cost_basis == 0 and ledger.avg_price == 0.0 and ledger.avg_cost == 0.0
    assert ledger.pnl() == ledger.regular_pnl() + ledger.sidebet_pnl


def apply_step(ledger: Ledger, op: str, units: int, real: float, spent: list[int]) -> None:
    """Apply one step, checking the wealth bounds of a success and the no-change rule of a failure."""
    before, price = ledger.snapshot(), ledger.price
    w_before = wealth(ledger, price)
    try:
        if op == "tick":
            ledger.on_tick(ledger.tick + 1 + units % 30, real if real > 0.001 else 0.001)
            return
        if op == "buy":
            fill = ledger.buy(units)
        elif op == "sell":
            fill = ledger.sell(real if 0 < real <= 1 else 1.0)
        elif op == "sell_qty":
            fill = ledger.sell_qty(1 + units % max(1, ledger.position_qty))
        elif op == "sidebet":
            fill = ledger.place_sidebet(units)
        else:
            ledger.buy(real)  # type: ignore[arg-type]  # a float amount: always rejected
            raise AssertionError("a float amount was accepted")
    except LedgerError:
        assert ledger.snapshot() == before
        return
    loss = w_before - wealth(ledger, price)
    slack = Fraction(fill.amount + fill.qty * Fraction(price), 2**50)
    assert loss >= -slack
    if fill.kind is FillKind.BUY:
        assert loss < price + slack
        spent.append(fill.amount)
    elif fill.kind is FillKind.SELL:
        assert loss < 3 + slack
    else:
        assert fill.kind is FillKind.SIDEBET_PLACE and loss == 0
        spent.append(fill.amount)
    check_invariants(ledger)


@FAST
@given(cash=st.integers(0, 20 * SOL), presale=steps, game=steps, rug_gap=st.integers(1, 60), rug_price=prices)
def test_episodes_conserve_money(
    cash: int, presale: list, game: list, rug_gap: int, rug_price: float
) -> None:
    """A random game: every order obeys the wealth bounds, every failure changes nothing, the per-game
    figures add up, and after the rug the account is flat with net worth = cash and PnL = change of cash."""
    ledger = Ledger(cash)
    for round_ in range(2):
        ledger.open_game(f"game-{round_}")
        start_cash, spent = ledger.cash, []
        net_worths = [ledger.net_worth()]
        for op, units, real in presale:
            if op != "tick":
                apply_step(ledger, op, units, real, spent)
                assert ledger.phase is Phase.PRESALE and ledger.price == 1.0
            net_worths.append(ledger.net_worth())
        ledger.on_tick(0, 1.0)
        for op, units, real in game:
            apply_step(ledger, op, units, real, spent)
            net_worths.append(ledger.net_worth())
        assert ledger.total_invested == sum(spent)
        ledger.rug(ledger.tick + rug_gap, rug_price)
        net_worths.append(ledger.net_worth())
        assert ledger.phase is Phase.RUGGED and ledger.sidebet is None
        assert (ledger.position_qty, ledger.cost_basis, ledger.avg_cost) == (0, 0, 0.0)
        assert ledger.net_worth() == ledger.net_worth(123.0) == ledger.cash
        assert ledger.pnl() == ledger.cash - start_cash == ledger.realised_pnl + ledger.sidebet_pnl
        rewards = [b - a for a, b in zip(net_worths, net_worths[1:], strict=False)]
        assert sum(rewards) == ledger.cash - start_cash


@FAST
@given(amount=amounts, price=prices, extra=st.integers(0, 5 * SOL))
def test_buy_then_sell_all_returns_the_cash_less_rounding(amount: int, price: float, extra: int) -> None:
    """Buying A and selling everything at the same price loses ``0 <= loss < price + 4`` lamports.

    The buy floors the quantity (< 1 nano-token, worth < price lamports) and, as JS does, takes the floor of
    the double ``A / p * 1e9``, which can sit just below an exact integer (one more nano-token, e.g.
    A = 0.127033189 SOL at p = 1.0); the sell floors the proceeds and passes them through the floor twice
    more (ledger_math.SELL_REFLOOR_PASSES), at most one lamport each: < 1 + 2.
    """
    ledger = Ledger(amount + extra)
    ledger.open_game("g")
    ledger.on_tick(5, price)
    ledger.buy(amount)
    fill = ledger.sell(1.0)
    loss = amount - fill.amount
    assert -amount / 2**50 <= loss < price + 4
    assert ledger.cash == amount + extra - loss and ledger.realised_pnl == -loss
    assert (ledger.position_qty, ledger.cost_basis) == (0, 0)


@FAST
@given(
    steps_=steps,
    op=st.sampled_from(["buy", "sell", "sell_qty", "place_sidebet", "on_tick", "rug"]),
    bad=junk,
    presale=st.booleans(),
)
def test_a_failed_order_changes_nothing(steps_: list, op: str, bad: object, presale: bool) -> None:
    ledger = Ledger(10 * SOL)
    ledger.open_game("g")
    if not presale:
        ledger.on_tick(0, 1.0)
        for step in steps_:
            apply_step(ledger, *step, spent=[])
    before = ledger.snapshot()
    call = getattr(ledger, op)
    try:
        call(bad, 1.0) if op in ("on_tick", "rug") else call(bad)
    except LedgerError:
        assert ledger.snapshot() == before
    else:  # only a valid value may succeed (e.g. a junk int that happens to be a fine amount or tick)
        assert isinstance(bad, int | float) and not isinstance(bad, bool)


@FAST
@given(
    start=st.integers(0, 300),
    offset=st.integers(-5, 90),
    stake=amounts,
    ticks=st.lists(st.integers(0, 90)),
    presale=st.booleans(),
)
def test_sidebets_pay_five_times_exactly_inside_the_window(
    start: int, offset: int, stake: int, ticks: list[int], presale: bool
) -> None:
    if presale:
        start = 0
    rug_tick = start + offset
    assume(rug_tick >= max(1, start))
    ledger = Ledger(10 * SOL)
    ledger.open_game("g")
    if not presale:
        ledger.on_tick(start, 1.0)
    ledger.place_sidebet(stake)
    cash = ledger.cash
    fills = []
    for tick in sorted(t for t in {start + t for t in ticks} if start <= t < rug_tick):
        fills += ledger.on_tick(tick, 1.0)
    fills += ledger.rug(rug_tick, 0.01)
    wins = start < rug_tick <= start + 40
    (settled,) = fills
    assert settled.kind is (FillKind.SIDEBET_WIN if wins else FillKind.SIDEBET_LOSE)
    assert ledger.cash - cash == (5 * stake if wins else 0)
    assert ledger.sidebet_pnl == (4 * stake if wins else -stake) and ledger.sidebet is None
    if not wins and settled.tick < rug_tick:
        assert settled.tick > start + 40  # an expired bet is settled at the first tick past its window


@FAST
@given(
    trades=st.lists(
        st.tuples(st.sampled_from(["buy", "sell"]), amounts, prices, fractions), min_size=1, max_size=20
    )
)
def test_the_fast_paths_fill_as_the_checked_path_does(trades: list[tuple[str, int, float, float]]) -> None:
    """``buy(amount)`` / ``sell(fraction)`` at the clock take the ledger's inline fast paths; the same order
    with its tick and price given takes the checked path (``_plan_*`` and ledger_math). Same fills, same
    errors, same account, always: the inline arithmetic is ledger_math's."""
    fast, checked = Ledger(50 * SOL), Ledger(50 * SOL)
    for ledger in (fast, checked):
        ledger.open_game("g")
    for tick, (op, amount, price, fraction) in enumerate(trades, start=1):
        for ledger in (fast, checked):
            ledger.on_tick(tick, price)
        outcomes = []
        for ledger, at in ((fast, {}), (checked, {"tick": tick, "price": price})):
            try:
                fill = ledger.buy(amount, **at) if op == "buy" else ledger.sell(fraction, **at)
                outcomes.append(fill)
            except LedgerError as err:
                outcomes.append(type(err))
        assert outcomes[0] == outcomes[1]
        assert fast.snapshot() == checked.snapshot()
