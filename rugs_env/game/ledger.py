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

Orders (each returns one :class:`Fill`; a rejected order raises a ``LedgerError`` and changes nothing):

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
  realised_pnl, total_invested, sidebet_pnl, sidebet, min_bet, max_bet``.
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

A :class:`Fill` maps onto a session action of the recording format: ``balance_after = cash_after``,
``position_qty_after``, ``entry_price = avg_cost_after``, ``pnl = game_pnl_after``. Errors and their codes:
:mod:`rugs_env.game.ledger_errors`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from rugs_env.game.constants import DEFAULT_MAX_BET_LAMPORTS, MIN_BET_LAMPORTS, PRESALE_PRICE
from rugs_env.game.ledger_checks import (
    check_fraction,
    check_game_id,
    check_lamports,
    check_price,
    check_tick,
)
from rugs_env.game.ledger_errors import (
    AboveMaximum,
    BelowMinimum,
    GameInProgress,
    GameOver,
    InsufficientCash,
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
from rugs_env.game.ledger_math import avg_cost_nano, fraction_qty, sell_proceeds
from rugs_env.game.ledger_steps import (
    Step,
    buy_step,
    guarded,
    player_update_of,
    regular_pnl_of,
    sell_step,
    settle_sidebet,
    sidebet_step,
)
from rugs_env.game.ledger_types import Fill, FillKind, LedgerState, Phase, Sidebet
from rugs_env.game.money import from_nano


class Ledger:
    """One player's account; see the module docstring for the whole API."""

    __slots__ = ("_s",)

    def __init__(
        self, cash: int = 0, *, min_bet: int = MIN_BET_LAMPORTS, max_bet: int = DEFAULT_MAX_BET_LAMPORTS
    ) -> None:
        cash = check_lamports(cash, "cash", allow_zero=True)
        min_bet = check_lamports(min_bet, "min_bet")
        max_bet = check_lamports(max_bet, "max_bet")
        if max_bet < min_bet:
            raise InvalidAmount(f"max_bet {max_bet} is below min_bet {min_bet}")
        self._s = LedgerState(cash=cash, min_bet=min_bet, max_bet=max_bet)

    # -- snapshots ----------------------------------------------------------------------------------------
    def snapshot(self) -> LedgerState:
        """The whole account as an immutable, comparable value."""
        return self._s

    @classmethod
    def restore(cls, state: LedgerState) -> Ledger:
        """A ledger in exactly the given state (e.g. from :meth:`snapshot`)."""
        ledger = cls.__new__(cls)
        ledger._s = state
        return ledger

    def __repr__(self) -> str:
        return f"Ledger({self._s!r})"

    # -- read-only views (lamports / nano-tokens) ---------------------------------------------------------
    @property
    def cash(self) -> int:
        """Cash, lamports."""
        return self._s.cash

    @property
    def phase(self) -> Phase:
        """The game phase."""
        return self._s.phase

    @property
    def game_id(self) -> str | None:
        """The current game's id (None before the first game)."""
        return self._s.game_id

    @property
    def tick(self) -> int:
        """The clock's tick (0 in presale)."""
        return self._s.tick

    @property
    def price(self) -> float:
        """The clock's price (1.0 in presale)."""
        return self._s.price

    @property
    def position_qty(self) -> int:
        """Tokens held, nano-tokens."""
        return self._s.position_qty

    @property
    def cost_basis(self) -> int:
        """SOL cost of the tokens held, lamports (0 when flat)."""
        return self._s.cost_basis

    @property
    def avg_price(self) -> float:
        """The unrounded quantity-weighted entry price (0.0 when flat)."""
        return self._s.avg_price

    @property
    def avg_cost(self) -> float:
        """The average cost as the wire shows it (9 decimals, truncated; 0.0 when flat)."""
        return from_nano(avg_cost_nano(self._s.avg_price))

    @property
    def realised_pnl(self) -> int:
        """This game's realised PnL of sells and liquidation, lamports."""
        return self._s.realised_pnl

    @property
    def total_invested(self) -> int:
        """This game's buys + sidebet stakes, lamports."""
        return self._s.total_invested

    @property
    def sidebet_pnl(self) -> int:
        """This game's settled sidebet PnL (+4x stake per win, -stake per loss), lamports."""
        return self._s.sidebet_pnl

    @property
    def sidebet(self) -> Sidebet | None:
        """The open sidebet, or None."""
        return self._s.sidebet

    @property
    def min_bet(self) -> int:
        """Minimum buy / sidebet, lamports."""
        return self._s.min_bet

    @property
    def max_bet(self) -> int:
        """Maximum buy / sidebet, lamports."""
        return self._s.max_bet

    def regular_pnl(self, price: float | None = None) -> int:
        """Realised PnL + mark-to-market of the position at ``price`` (default: the clock's), lamports."""
        return regular_pnl_of(self._s, self._price_or_clock(price))

    def pnl(self, price: float | None = None) -> int:
        """The game's PnL at ``price``: regular PnL + settled sidebet PnL, lamports."""
        return self.regular_pnl(price) + self._s.sidebet_pnl

    def position_value(self, price: float | None = None) -> int:
        """Lamports a full sale at ``price`` would return (0 when flat)."""
        return guarded(sell_proceeds, self._s.position_qty, self._price_or_clock(price))

    def net_worth(self, price: float | None = None) -> int:
        """Cash + position value at ``price`` + the open sidebet's stake, lamports."""
        bet = self._s.sidebet
        return self._s.cash + self.position_value(price) + (bet.stake if bet else 0)

    def player_update(self, price: float | None = None) -> dict[str, Any]:
        """The account's numbers as a playerUpdate / leaderboard row carries them (floats, SOL)."""
        return player_update_of(self._s, self._price_or_clock(price))

    # -- game phases --------------------------------------------------------------------------------------
    def open_game(self, game_id: str) -> None:
        """Start the presale of a new game (cash carries over, per-game figures restart at 0)."""
        game_id = check_game_id(game_id)
        s = self._s
        if s.phase in (Phase.PRESALE, Phase.ACTIVE):
            raise GameInProgress(f"game {s.game_id} has not rugged yet; cannot open {game_id}")
        self._s = LedgerState(
            cash=s.cash, phase=Phase.PRESALE, game_id=game_id, min_bet=s.min_bet, max_bet=s.max_bet
        )

    def on_tick(self, tick: int, price: float) -> list[Fill]:
        """Advance the clock to an active ``tick`` at ``price``; returns the fill of an expired sidebet."""
        s = self._open_state()
        tick, price = check_tick(tick), check_price(price)
        if tick < s.tick:
            raise InvalidTick(f"tick {tick} is before the ledger's tick {s.tick}")
        s = replace(s, phase=Phase.ACTIVE, tick=tick, price=price)
        fills: list[Fill] = []
        if s.sidebet is not None and tick > s.sidebet.end_tick:
            s, fill = settle_sidebet(s, won=False)
            fills.append(fill)
        self._s = s
        return fills

    def rug(self, rug_tick: int, rug_price: float) -> list[Fill]:
        """The game rugs: settle the sidebet, then liquidate the position at ``rug_price``; returns fills."""
        s = self._open_state()
        rug_tick, rug_price = check_tick(rug_tick), check_price(rug_price)
        if rug_tick < max(1, s.tick):
            raise InvalidTick(f"rug tick {rug_tick} must be >= 1 and >= the ledger's tick {s.tick}")
        s = replace(s, tick=rug_tick, price=rug_price)
        fills: list[Fill] = []
        if s.sidebet is not None:
            s, fill = settle_sidebet(s, won=s.sidebet.wins(rug_tick))
            fills.append(fill)
        if s.position_qty:
            s, fill = sell_step(s, s.position_qty, rug_tick, rug_price, FillKind.LIQUIDATION)
            fills.append(fill)
        self._s = replace(s, phase=Phase.RUGGED)
        return fills

    # -- orders -------------------------------------------------------------------------------------------
    def buy(self, amount: int, *, tick: int | None = None, price: float | None = None) -> Fill:
        """Spend ``amount`` lamports on tokens at the clock's price (1.0 in presale)."""
        return self._commit(self._plan_buy(amount, tick, price))

    def sell(self, fraction: float = 1.0, *, tick: int | None = None, price: float | None = None) -> Fill:
        """Sell ``fraction`` (0 < f <= 1) of the position; 1.0 closes it exactly."""
        return self._commit(self._plan_sell(fraction, None, tick, price))

    def sell_qty(self, qty: int, *, tick: int | None = None, price: float | None = None) -> Fill:
        """Sell exactly ``qty`` nano-tokens of the position."""
        return self._commit(self._plan_sell(None, qty, tick, price))

    def place_sidebet(self, amount: int, *, tick: int | None = None) -> Fill:
        """Stake ``amount`` lamports on a rug in ``(start, start + 40]``, start = the clock's tick."""
        return self._commit(self._plan_sidebet(amount, tick))

    def buy_error(self, amount: int) -> LedgerError | None:
        """The error :meth:`buy` would raise now, or None."""
        return _error_of(lambda: self._plan_buy(amount, None, None))

    def sell_error(self, fraction: float = 1.0) -> LedgerError | None:
        """The error :meth:`sell` would raise now, or None."""
        return _error_of(lambda: self._plan_sell(fraction, None, None, None))

    def sell_qty_error(self, qty: int) -> LedgerError | None:
        """The error :meth:`sell_qty` would raise now, or None."""
        return _error_of(lambda: self._plan_sell(None, qty, None, None))

    def sidebet_error(self, amount: int) -> LedgerError | None:
        """The error :meth:`place_sidebet` would raise now, or None."""
        return _error_of(lambda: self._plan_sidebet(amount, None))

    # -- internals: plans validate everything and are pure; only _commit assigns the new state ------------
    def _commit(self, step: Step) -> Fill:
        self._s, fill = step
        return fill

    def _open_state(self) -> LedgerState:
        s = self._s
        if s.phase is Phase.IDLE:
            raise NoGame("no game is open: call open_game first")
        if s.phase is Phase.RUGGED:
            raise GameOver(f"game {s.game_id} has rugged; open the next game first")
        return s

    def _price_or_clock(self, price: float | None) -> float:
        return self._s.price if price is None else check_price(price)

    def _execution(self, s: LedgerState, tick: int | None, price: float | None) -> tuple[int, float]:
        """The (tick, price) an order executes at: the clock's, or a late trade's own (never ahead)."""
        t = s.tick if tick is None else check_tick(tick)
        p = s.price if price is None else check_price(price)
        if s.phase is Phase.PRESALE:
            if t != 0:
                raise InvalidTick(f"presale orders execute at tick 0, got {t}")
            if p != PRESALE_PRICE:
                raise InvalidPrice(f"presale orders execute at exactly {PRESALE_PRICE}, got {p!r}")
        elif t > s.tick:
            raise InvalidTick(f"tick {t} is ahead of the ledger's tick {s.tick}: call on_tick first")
        return t, p

    @staticmethod
    def _check_stake(s: LedgerState, amount: int, what: str) -> None:
        sol = from_nano(amount)
        if amount < s.min_bet:
            raise BelowMinimum(f"{what} of {sol} SOL is below the minimum {from_nano(s.min_bet)}")
        if amount > s.max_bet:
            raise AboveMaximum(f"{what} of {sol} SOL is above the maximum {from_nano(s.max_bet)}")
        if amount > s.cash:
            raise InsufficientCash(f"{what} of {sol} SOL exceeds the cash {from_nano(s.cash)}")

    def _plan_buy(self, amount: object, tick: int | None, price: float | None) -> Step:
        s = self._open_state()
        units = check_lamports(amount)
        t, p = self._execution(s, tick, price)
        self._check_stake(s, units, "buy")
        return buy_step(s, units, t, p)

    def _plan_sell(self, fraction: object, qty: object, tick: int | None, price: float | None) -> Step:
        s = self._open_state()
        if s.phase is Phase.PRESALE:
            raise PresaleSell("no sells in presale: presale buys are irrevocable")
        if qty is None:
            frac = check_fraction(fraction)
        else:
            units = check_lamports(qty, "qty")
        t, p = self._execution(s, tick, price)
        if s.position_qty == 0:
            raise NoPosition("no tokens to sell")
        if qty is None:
            units = fraction_qty(s.position_qty, frac)
            if units == 0:
                raise InvalidAmount(f"{frac!r} of {s.position_qty} nano-tokens rounds to no token")
        elif units > s.position_qty:
            raise InsufficientPosition(f"cannot sell {units} nano-tokens, only {s.position_qty} held")
        return sell_step(s, units, t, p)

    def _plan_sidebet(self, amount: object, tick: int | None) -> Step:
        s = self._open_state()
        units = check_lamports(amount)
        t, p = self._execution(s, tick, None)
        if s.sidebet is not None:
            raise SidebetActive(f"a sidebet is open until tick {s.sidebet.end_tick}")
        self._check_stake(s, units, "sidebet")
        return sidebet_step(s, units, t, p)


def _error_of(plan: Callable[[], Step]) -> LedgerError | None:
    try:
        plan()
    except LedgerError as err:
        return err
    return None


__all__ = ["Fill", "FillKind", "Ledger", "LedgerState", "Phase", "Sidebet"]
