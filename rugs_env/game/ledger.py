"""The player's account under the game's rules: cash, long position, cost basis, PnL, one sidebet.

Used by the local server, the recorder (rebuilding a player's account from their trades), the replay
environment's simulated broker and the live broker. Integers inside: SOL amounts in lamports, token
quantities in nano-tokens (see :mod:`rugs_env.game.money`); prices are floats. The server's rounding is in
:mod:`rugs_env.game.ledger_math` (what each rule rests on is documented there).

API (stable)
------------
``Ledger(cash=0, *, min_bet=MIN_BET_LAMPORTS, max_bet=DEFAULT_MAX_BET_LAMPORTS)``
  Cash in lamports; the limits apply to buys and sidebets alike (0.001 SOL and 5 SOL by default).

Game phases (``ledger.phase``: ``Phase.IDLE -> PRESALE -> ACTIVE -> RUGGED``, then ``open_game`` again):

* ``open_game(game_id) -> None``: presale of a new game at tick 0, price 1.0. Cash carries over; the
  per-game figures (``total_invested``, ``realised_pnl``, ``sidebet_pnl``) restart at 0. Raises
  ``GameInProgress`` unless no game was opened yet or the last one rugged.
* ``on_tick(tick, price) -> list[Fill]``: the game is active at ``tick`` (never backwards). Settles an open
  sidebet as lost once ``tick > start + 40`` and returns that ``sidebet_lose`` fill.
* ``rug(rug_tick, rug_price) -> list[Fill]``: settles the sidebet (``sidebet_win`` iff
  ``start < rug_tick <= start + 40``, else ``sidebet_lose``), then force-sells the whole position at the rug
  price (``liquidation``), in that order (as the server does). Everything but ``open_game`` then raises
  ``GameOver``.

Orders (each returns one :class:`Fill`; a rejected order raises a ``LedgerError`` and changes nothing; with
``record=False`` the order is applied the same way but no Fill is built and None is returned: building the
record is most of an order's cost, and a training loop that keeps no fills need not pay for it):

* ``buy(amount, *, tick=None, price=None)``: spend ``amount`` lamports. Presale buys execute at exactly 1.0.
* ``sell(fraction=1.0, *, tick=None, price=None)``: sell ``0 < fraction <= 1`` of the position
  (the wire's ``sellOrder {"percentage": 10|25|50|100}`` is ``fraction = percentage / 100``).
* ``sell_qty(qty, *, tick=None, price=None)``: sell exactly ``qty`` nano-tokens (the capture shows sells of
  a lot's exact quantity, so the real UI sells by quantity too).
* ``place_sidebet(amount, *, tick=None)``: stake ``amount`` lamports on a rug within the next 40 ticks
  (start tick = the current tick; 0 in presale). One at a time.

  Orders execute at the ledger's clock (the last ``on_tick``). ``tick``/``price`` let a caller replay a
  recorded trade that arrived late: the tick must not be ahead of the clock; the clock does not move.

* ``buy_error(amount)``, ``sell_error(fraction)``, ``sell_qty_error(qty)``, ``sidebet_error(amount)`` return
  the ``LedgerError`` the order would raise now, or ``None`` (for action masks).

Reading the account (all integers; ``price=None`` means the clock's price):

* properties ``cash, phase, game_id, tick, price, position_qty, cost_basis, avg_price, avg_cost,
  realised_pnl, total_invested, sidebet_pnl, sidebet, min_bet, max_bet``; ``fields``, the same figures as
  the live AccountFields (read only: one property for hot read paths such as the environments' step).
* ``regular_pnl(price)`` = realised + ``trunc(qty * price - cost_basis)``; ``pnl(price)`` = regular +
  sidebet PnL (the server's mark-to-market figures).
* ``position_value(price)``: lamports a full sale would get now (the sell rounding).
  ``net_worth(price)`` = cash + position_value + the open sidebet's stake. Placing a sidebet is therefore
  neutral and a full sale leaves net worth unchanged; after the rug (flat, sidebet settled) net worth is the
  cash exactly, so per-step changes of net worth over a game sum exactly to the change of cash, which is
  the game's ``pnl()``.
* ``avg_cost`` is the quantity-weighted mean entry price shown to 9 decimals, not ``cost_basis / qty``.
* ``snapshot() -> LedgerState`` (immutable, comparable) and ``Ledger.restore(state)``.
* ``player_update(price) -> dict``: the numbers of a playerUpdate / leaderboard row as the server sends them
  (floats): ``cash, positionQty, avgCost, totalInvested, cumulativePnL, pnl, regularPnl, sidebetPnl,
  shortPnl, pnlPercent, hasActiveTrades, sidebetActive, sideBet``.

Implementation note: the account lives in a mutable :class:`~rugs_env.game.ledger_types.AccountFields`
that an order changes only once it has been validated and fully computed (so a rejected order still changes
nothing); ``snapshot()`` freezes it into a ``LedgerState``. This spares the environments' hot path a frozen
copy per tick and per order.

A :class:`Fill` maps onto a session action of the recording format: ``balance_after = cash_after``,
``position_qty_after``, ``entry_price = avg_cost_after``, ``pnl = game_pnl_after``. Errors and their codes:
:mod:`rugs_env.game.ledger_errors`.
"""

from __future__ import annotations

from math import floor, inf

from rugs_env.game.constants import (
    DEFAULT_MAX_BET_LAMPORTS,
    MIN_BET_LAMPORTS,
    PRESALE_PRICE,
    SIDEBET_WINDOW_TICKS,
)
from rugs_env.game.ledger_checks import (
    check_fraction,
    check_game_id,
    check_lamports,
    check_price,
    check_stake,
    check_tick,
    error_of,
)
from rugs_env.game.ledger_errors import (
    GameInProgress,
    GameOver,
    InsufficientPosition,
    InvalidAmount,
    InvalidPrice,
    InvalidTick,
    LedgerError,
    NoGame,
    NoPosition,
    PresaleSell,
    SidebetActive,
)
from rugs_env.game.ledger_math import (
    SELL_REFLOOR_PASSES,
    blend_avg_price,
    buy_qty,
    fraction_qty,
    sell_proceeds,
)
from rugs_env.game.ledger_steps import guarded, make_fill
from rugs_env.game.ledger_types import AccountFields, Fill, FillKind, LedgerState, Phase, Sidebet
from rugs_env.game.ledger_view import LedgerView
from rugs_env.game.money import NANO, from_nano

_OPEN = (Phase.PRESALE, Phase.ACTIVE)
# enum members as module globals: ``Phase.ACTIVE`` is a class-attribute lookup (~100 ns on 3.11), a global ~10
_PRESALE, _ACTIVE, _BUY, _SELL = Phase.PRESALE, Phase.ACTIVE, FillKind.BUY, FillKind.SELL


class Ledger(LedgerView):
    """One player's account; see the module docstring for the whole API."""

    __slots__ = ("_a",)

    def __init__(
        self, cash: int = 0, *, min_bet: int = MIN_BET_LAMPORTS, max_bet: int = DEFAULT_MAX_BET_LAMPORTS
    ) -> None:
        cash = check_lamports(cash, "cash", allow_zero=True)
        min_bet = check_lamports(min_bet, "min_bet")
        max_bet = check_lamports(max_bet, "max_bet")
        if max_bet < min_bet:
            raise InvalidAmount(f"max_bet {max_bet} is below min_bet {min_bet}")
        self._a = AccountFields(LedgerState(cash=cash, min_bet=min_bet, max_bet=max_bet))

    # -- snapshots ----------------------------------------------------------------------------------------
    def snapshot(self) -> LedgerState:
        """The whole account as an immutable, comparable value."""
        return self._a.freeze()

    @classmethod
    def restore(cls, state: LedgerState) -> Ledger:
        """A ledger in exactly the given state (e.g. from :meth:`snapshot`)."""
        ledger = cls.__new__(cls)
        ledger._a = AccountFields(state)
        return ledger

    def __repr__(self) -> str:
        return f"Ledger({self.snapshot()!r})"

    # -- game phases --------------------------------------------------------------------------------------
    def open_game(self, game_id: str) -> None:
        """Start the presale of a new game (cash carries over, per-game figures restart at 0)."""
        game_id = check_game_id(game_id)
        a = self._a
        if a.phase in _OPEN:
            raise GameInProgress(f"game {a.game_id} has not rugged yet; cannot open {game_id}")
        self._a = AccountFields(
            LedgerState(
                cash=a.cash, phase=Phase.PRESALE, game_id=game_id, min_bet=a.min_bet, max_bet=a.max_bet
            )
        )

    def on_tick(self, tick: int, price: float) -> list[Fill]:
        """Advance the clock to an active ``tick`` at ``price``; returns the fill of an expired sidebet."""
        a = self._a
        phase = a.phase
        if (
            type(tick) is int and type(price) is float and a.tick <= tick and 0.0 < price < inf
            and (phase is _ACTIVE or phase is _PRESALE)
        ):  # fmt: skip
            # fast path: every check below passes (an open game, a valid tick not before the clock's, a price)
            a.phase = _ACTIVE
            a.tick = tick
            a.price = price
            bet = a.sidebet
            # bet.end_tick inline (a property call less per tick while a bet is open)
            expired = bet is not None and tick > bet.start_tick + SIDEBET_WINDOW_TICKS
            return [self._settle_sidebet(won=False)] if expired else []
        a = self._open_state()
        tick, price = check_tick(tick), check_price(price)
        if tick < a.tick:
            raise InvalidTick(f"tick {tick} is before the ledger's tick {a.tick}")
        a.phase, a.tick, a.price = Phase.ACTIVE, tick, price
        if a.sidebet is not None and tick > a.sidebet.end_tick:
            return [self._settle_sidebet(won=False)]
        return []

    def rug(self, rug_tick: int, rug_price: float) -> list[Fill]:
        """The game rugs: settle the sidebet, then liquidate the position at ``rug_price``; returns fills."""
        a = self._open_state()
        rug_tick, rug_price = check_tick(rug_tick), check_price(rug_price)
        if rug_tick < max(1, a.tick):
            raise InvalidTick(f"rug tick {rug_tick} must be >= 1 and >= the ledger's tick {a.tick}")
        # everything that can fail is computed before the account changes
        proceeds = guarded(sell_proceeds, a.position_qty, rug_price) if a.position_qty else 0
        a.tick, a.price = rug_tick, rug_price
        fills: list[Fill] = []
        if a.sidebet is not None:
            fills.append(self._settle_sidebet(won=a.sidebet.wins(rug_tick)))
        if a.position_qty:
            qty = a.position_qty
            fills.append(self._apply_sell(qty, proceeds, rug_tick, rug_price, FillKind.LIQUIDATION))
        a.phase = Phase.RUGGED
        return fills

    # -- orders -------------------------------------------------------------------------------------------
    def buy(
        self, amount: int, *, tick: int | None = None, price: float | None = None, record: bool = True
    ) -> Fill | None:
        """Spend ``amount`` lamports on tokens at the clock's price (1.0 in presale)."""
        a = self._a
        if (
            tick is None and price is None and type(amount) is int and a.phase is _ACTIVE
            and a.min_bet <= amount <= a.max_bet and amount <= a.cash
        ):  # fmt: skip
            # fast path: the checks of _plan_buy all pass here, so only its arithmetic remains
            units, t, p = amount, a.tick, a.price
            v = units / NANO / p  # buy_qty inline: floor9(from_nano(units) / p); odd values take the call
            qty = floor(v * 1e9) if v < 1e290 else guarded(buy_qty, units, p)
            if qty <= 0:
                raise InvalidAmount(f"{from_nano(units)} SOL buys no token at price {p!r}")
            held = a.position_qty
            if held:  # blend_avg_price inline (the same double operations)
                old, new = held / NANO, qty / NANO
                avg = (a.avg_price * old + p * new) / (old + new)
            else:
                avg = float(p)
        else:
            units, qty, t, p = self._plan_buy(amount, tick, price)
            avg = blend_avg_price(a.avg_price, a.position_qty, p, qty)
        a.avg_price = avg
        a.cash -= units
        a.position_qty += qty
        a.cost_basis += units
        a.total_invested += units
        return make_fill(a, _BUY, t, p, units, qty) if record else None

    def sell(
        self,
        fraction: float = 1.0,
        *,
        tick: int | None = None,
        price: float | None = None,
        record: bool = True,
    ) -> Fill | None:
        """Sell ``fraction`` (0 < f <= 1) of the position; 1.0 closes it exactly."""
        a = self._a
        if (
            tick is None and price is None and type(fraction) is float and 0.0 < fraction <= 1.0
            and a.phase is _ACTIVE and a.position_qty
        ):  # fmt: skip
            # fast path: the checks of _plan_sell all pass here but the rounding to no token. fraction_qty and
            # sell_proceeds inline (the same integer and double operations; odd values take the calls)
            held = a.position_qty
            if fraction >= 1.0:
                units = held
            else:
                num, den = fraction.as_integer_ratio()
                units = held * num >> (den.bit_length() - 1)  # // den: a float's den is a power of two
                if units == 0:
                    raise InvalidAmount(f"{fraction!r} of {held} nano-tokens rounds to no token")
            t, p = a.tick, a.price
            v = units / NANO * p
            if v < 1e290 and SELL_REFLOOR_PASSES == 2:
                proceeds = floor(floor(floor(v * 1e9) / NANO * 1e9) / NANO * 1e9)
            else:
                proceeds = guarded(sell_proceeds, units, p)
            return self._apply_sell(units, proceeds, t, p, _SELL, record)
        units, proceeds, t, p = self._plan_sell(fraction, None, tick, price)
        return self._apply_sell(units, proceeds, t, p, FillKind.SELL, record)

    def sell_qty(
        self, qty: int, *, tick: int | None = None, price: float | None = None, record: bool = True
    ) -> Fill | None:
        """Sell exactly ``qty`` nano-tokens of the position."""
        units, proceeds, t, p = self._plan_sell(None, qty, tick, price)
        return self._apply_sell(units, proceeds, t, p, FillKind.SELL, record)

    def place_sidebet(self, amount: int, *, tick: int | None = None, record: bool = True) -> Fill | None:
        """Stake ``amount`` lamports on a rug in ``(start, start + 40]``, start = the clock's tick."""
        units, t, p = self._plan_sidebet(amount, tick)
        a = self._a
        a.cash -= units
        a.total_invested += units
        a.sidebet = Sidebet(game_id=a.game_id or "", start_tick=t, stake=units)
        return make_fill(a, FillKind.SIDEBET_PLACE, t, p, units, 0) if record else None

    def buy_error(self, amount: int) -> LedgerError | None:
        """The error :meth:`buy` would raise now, or None."""
        return error_of(lambda: self._plan_buy(amount, None, None))

    def sell_error(self, fraction: float = 1.0) -> LedgerError | None:
        """The error :meth:`sell` would raise now, or None."""
        return error_of(lambda: self._plan_sell(fraction, None, None, None))

    def sell_qty_error(self, qty: int) -> LedgerError | None:
        """The error :meth:`sell_qty` would raise now, or None."""
        return error_of(lambda: self._plan_sell(None, qty, None, None))

    def sidebet_error(self, amount: int) -> LedgerError | None:
        """The error :meth:`place_sidebet` would raise now, or None."""
        return error_of(lambda: self._plan_sidebet(amount, None))

    # -- internals: plans validate and compute without changing anything; the callers then apply them ------
    def _apply_sell(
        self, qty: int, proceeds: int, tick: int, price: float, kind: FillKind, record: bool = True
    ) -> Fill | None:
        a = self._a
        held, basis = a.position_qty, a.cost_basis  # cost_of_sold inline: pro rata half up, all when closing
        cost = basis if qty >= held else (2 * basis * qty + held) // (2 * held)
        rest = held - qty
        a.cash += proceeds
        a.position_qty = rest
        a.cost_basis -= cost
        if not rest:
            a.avg_price = 0.0
        a.realised_pnl += proceeds - cost
        return make_fill(a, kind, tick, price, proceeds, qty) if record else None

    def _settle_sidebet(self, *, won: bool) -> Fill:
        """Settle the open sidebet at the clock's (tick, price): a win pays 5x the stake, a loss nothing."""
        a = self._a
        bet = a.sidebet
        a.sidebet = None
        if won:
            a.cash += bet.payout
            a.sidebet_pnl += bet.payout - bet.stake
            return make_fill(a, FillKind.SIDEBET_WIN, a.tick, a.price, bet.payout, 0)
        a.sidebet_pnl -= bet.stake
        return make_fill(a, FillKind.SIDEBET_LOSE, a.tick, a.price, bet.stake, 0)

    def _open_state(self) -> AccountFields:
        a = self._a
        phase = a.phase
        if phase is Phase.IDLE:
            raise NoGame("no game is open: call open_game first")
        if phase is Phase.RUGGED:
            raise GameOver(f"game {a.game_id} has rugged; open the next game first")
        return a

    def _execution(self, a: AccountFields, tick: int | None, price: float | None) -> tuple[int, float]:
        """The (tick, price) an order executes at: the clock's, or a late trade's own (never ahead)."""
        if tick is None and price is None and a.phase is Phase.ACTIVE:
            return a.tick, a.price  # the clock: what the checks below would return (fast path)
        t = a.tick if tick is None else check_tick(tick)
        p = a.price if price is None else check_price(price)
        if a.phase is Phase.PRESALE:
            if t != 0:
                raise InvalidTick(f"presale orders execute at tick 0, got {t}")
            if p != PRESALE_PRICE:
                raise InvalidPrice(f"presale orders execute at exactly {PRESALE_PRICE}, got {p!r}")
        elif t > a.tick:
            raise InvalidTick(f"tick {t} is ahead of the ledger's tick {a.tick}: call on_tick first")
        return t, p

    def _plan_buy(self, amount: object, tick: int | None, price: float | None) -> tuple[int, int, int, float]:
        a = self._open_state()
        units = check_lamports(amount)
        t, p = self._execution(a, tick, price)
        check_stake(units, a.min_bet, a.max_bet, a.cash, "buy")
        qty = guarded(buy_qty, units, p)
        if qty <= 0:
            raise InvalidAmount(f"{from_nano(units)} SOL buys no token at price {p!r}")
        return units, qty, t, p

    def _plan_sell(
        self, fraction: object, qty: object, tick: int | None, price: float | None
    ) -> tuple[int, int, int, float]:
        a = self._open_state()
        if a.phase is Phase.PRESALE:
            raise PresaleSell("no sells in presale: presale buys are irrevocable")
        if qty is None:
            frac = check_fraction(fraction)
        else:
            units = check_lamports(qty, "qty")
        t, p = self._execution(a, tick, price)
        if a.position_qty == 0:
            raise NoPosition("no tokens to sell")
        if qty is None:
            units = fraction_qty(a.position_qty, frac)
            if units == 0:
                raise InvalidAmount(f"{frac!r} of {a.position_qty} nano-tokens rounds to no token")
        elif units > a.position_qty:
            raise InsufficientPosition(f"cannot sell {units} nano-tokens, only {a.position_qty} held")
        return units, guarded(sell_proceeds, units, p), t, p

    def _plan_sidebet(self, amount: object, tick: int | None) -> tuple[int, int, float]:
        a = self._open_state()
        units = check_lamports(amount)
        t, p = self._execution(a, tick, None)
        if a.sidebet is not None:
            raise SidebetActive(f"a sidebet is open until tick {a.sidebet.end_tick}")
        check_stake(units, a.min_bet, a.max_bet, a.cash, "sidebet")
        return units, t, p


__all__ = ["Fill", "FillKind", "Ledger", "LedgerState", "Phase", "Sidebet"]
