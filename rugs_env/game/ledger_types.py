"""Immutable records of the ledger: the phase, the open sidebet, a fill, and a snapshot of the account.

Integers are lamports (SOL amounts) or nano-tokens (quantities); ``*_sol`` / ``*_tokens`` properties give
the float the server would send (``units / 1e9``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from rugs_env.game.constants import (
    DEFAULT_MAX_BET_LAMPORTS,
    MIN_BET_LAMPORTS,
    SIDEBET_WINDOW_TICKS,
    SIDEBET_X_PAYOUT,
    SOL_MINT,
)
from rugs_env.game.money import from_nano


class Phase(StrEnum):
    """Where the ledger is in the game's life: no game yet, presale, active ticks, rugged."""

    IDLE = "idle"
    PRESALE = "presale"
    ACTIVE = "active"
    RUGGED = "rugged"


class FillKind(StrEnum):
    """What a :class:`Fill` records. The values are stable strings for files and logs."""

    BUY = "buy"
    SELL = "sell"
    SIDEBET_PLACE = "sidebet_place"
    SIDEBET_WIN = "sidebet_win"
    SIDEBET_LOSE = "sidebet_lose"
    LIQUIDATION = "liquidation"  # the forced sale of the whole position at the rug price


@dataclass(frozen=True, slots=True)
class Sidebet:
    """An open sidebet: it wins iff the rug tick ``R`` satisfies ``start_tick < R <= end_tick``."""

    game_id: str
    start_tick: int  # 0 when placed in presale
    stake: int  # lamports

    @property
    def end_tick(self) -> int:
        """Last tick of the window, ``start_tick + 40``."""
        return self.start_tick + SIDEBET_WINDOW_TICKS

    @property
    def payout(self) -> int:
        """Lamports paid on a win (5x the stake; profit 4x)."""
        return SIDEBET_X_PAYOUT * self.stake

    def wins(self, rug_tick: int) -> bool:
        """True iff a rug at ``rug_tick`` pays this sidebet."""
        return self.start_tick < rug_tick <= self.end_tick

    def wire(self) -> dict[str, object]:
        """The ``sideBet`` object of a leaderboard row / playerUpdate (real SOL: no bonus portion)."""
        bet = from_nano(self.stake)
        return {
            "startedAtTick": self.start_tick,
            "gameId": self.game_id,
            "end": self.end_tick,
            "betAmount": bet,
            "xPayout": SIDEBET_X_PAYOUT,
            "coinAddress": SOL_MINT,
            "bonusPortion": 0,
            "realPortion": bet,
        }


@dataclass(frozen=True, slots=True)
class Fill:
    """One executed operation and the account right after it.

    ``amount`` (lamports): SOL spent (buy), received (sell, liquidation), staked (sidebet_place, and the stake
    lost for sidebet_lose) or paid out (sidebet_win, 5x the stake). ``qty`` (nano-tokens): tokens bought or
    sold, 0 for sidebets. ``avg_cost_after`` is the wire's 9-decimal average cost (0 when flat);
    ``game_pnl_after`` is the game's PnL (regular + sidebet) marked at ``price``.
    """

    kind: FillKind
    game_id: str
    tick: int
    price: float
    amount: int
    qty: int
    cash_after: int
    position_qty_after: int
    avg_cost_after: float
    realised_pnl_after: int
    game_pnl_after: int

    @property
    def amount_sol(self) -> float:
        """``amount`` as the server's float."""
        return from_nano(self.amount)

    @property
    def qty_tokens(self) -> float:
        """``qty`` as the server's float."""
        return from_nano(self.qty)

    @property
    def cash_after_sol(self) -> float:
        """``cash_after`` as the server's float."""
        return from_nano(self.cash_after)

    @property
    def position_qty_after_tokens(self) -> float:
        """``position_qty_after`` as the server's float."""
        return from_nano(self.position_qty_after)

    @property
    def game_pnl_after_sol(self) -> float:
        """``game_pnl_after`` as the server's float."""
        return from_nano(self.game_pnl_after)


@dataclass(frozen=True, slots=True)
class LedgerState:
    """A complete, comparable snapshot of a :class:`~rugs_env.game.ledger.Ledger` (restore with ``restore``).

    ``avg_price`` is the unrounded weighted entry price (0.0 when flat); per-game figures
    (``realised_pnl``, ``total_invested``, ``sidebet_pnl``) are for ``game_id``.
    """

    cash: int
    phase: Phase = Phase.IDLE
    game_id: str | None = None
    tick: int = 0
    price: float = 1.0
    position_qty: int = 0
    cost_basis: int = 0
    avg_price: float = 0.0
    realised_pnl: int = 0
    total_invested: int = 0
    sidebet_pnl: int = 0
    sidebet: Sidebet | None = None
    min_bet: int = MIN_BET_LAMPORTS
    max_bet: int = DEFAULT_MAX_BET_LAMPORTS


# -- fast copies of a LedgerState (a hot path: the environments step the ledger ~10^5 times a second) --------
# ``dataclasses.replace`` costs several microseconds (it loops over the fields and builds a dict); ``evolve``
# does the same thing, field by field through the slots' descriptors, at about a third of the cost.
_KEEP: object = object()
_new = object.__new__
_set_cash = LedgerState.__dict__["cash"].__set__
_set_phase = LedgerState.__dict__["phase"].__set__
_set_game_id = LedgerState.__dict__["game_id"].__set__
_set_tick = LedgerState.__dict__["tick"].__set__
_set_price = LedgerState.__dict__["price"].__set__
_set_position_qty = LedgerState.__dict__["position_qty"].__set__
_set_cost_basis = LedgerState.__dict__["cost_basis"].__set__
_set_avg_price = LedgerState.__dict__["avg_price"].__set__
_set_realised_pnl = LedgerState.__dict__["realised_pnl"].__set__
_set_total_invested = LedgerState.__dict__["total_invested"].__set__
_set_sidebet_pnl = LedgerState.__dict__["sidebet_pnl"].__set__
_set_sidebet = LedgerState.__dict__["sidebet"].__set__
_set_min_bet = LedgerState.__dict__["min_bet"].__set__
_set_max_bet = LedgerState.__dict__["max_bet"].__set__


def evolve(
    s: LedgerState,
    *,
    cash: Any = _KEEP,
    phase: Any = _KEEP,
    game_id: Any = _KEEP,
    tick: Any = _KEEP,
    price: Any = _KEEP,
    position_qty: Any = _KEEP,
    cost_basis: Any = _KEEP,
    avg_price: Any = _KEEP,
    realised_pnl: Any = _KEEP,
    total_invested: Any = _KEEP,
    sidebet_pnl: Any = _KEEP,
    sidebet: Any = _KEEP,
    min_bet: Any = _KEEP,
    max_bet: Any = _KEEP,
) -> LedgerState:
    """``dataclasses.replace(s, **changes)`` for a :class:`LedgerState`, without its overhead (no validation
    is skipped: LedgerState has no ``__post_init__``)."""
    n = _new(LedgerState)
    _set_cash(n, s.cash if cash is _KEEP else cash)
    _set_phase(n, s.phase if phase is _KEEP else phase)
    _set_game_id(n, s.game_id if game_id is _KEEP else game_id)
    _set_tick(n, s.tick if tick is _KEEP else tick)
    _set_price(n, s.price if price is _KEEP else price)
    _set_position_qty(n, s.position_qty if position_qty is _KEEP else position_qty)
    _set_cost_basis(n, s.cost_basis if cost_basis is _KEEP else cost_basis)
    _set_avg_price(n, s.avg_price if avg_price is _KEEP else avg_price)
    _set_realised_pnl(n, s.realised_pnl if realised_pnl is _KEEP else realised_pnl)
    _set_total_invested(n, s.total_invested if total_invested is _KEEP else total_invested)
    _set_sidebet_pnl(n, s.sidebet_pnl if sidebet_pnl is _KEEP else sidebet_pnl)
    _set_sidebet(n, s.sidebet if sidebet is _KEEP else sidebet)
    _set_min_bet(n, s.min_bet if min_bet is _KEEP else min_bet)
    _set_max_bet(n, s.max_bet if max_bet is _KEEP else max_bet)
    return n


_fill_setters = tuple(Fill.__dict__[name].__set__ for name in Fill.__slots__)


def new_fill(
    kind: FillKind, game_id: str, tick: int, price: float, amount: int, qty: int, cash_after: int,
    position_qty_after: int, avg_cost_after: float, realised_pnl_after: int, game_pnl_after: int,
) -> Fill:  # fmt: skip
    """``Fill(...)`` (positional, in field order) at about a third of the frozen dataclass ``__init__``'s
    cost; the result is the very same value (Fill has no ``__post_init__``)."""
    f = _new(Fill)
    s0, s1, s2, s3, s4, s5, s6, s7, s8, s9, s10 = _fill_setters
    s0(f, kind)
    s1(f, game_id)
    s2(f, tick)
    s3(f, price)
    s4(f, amount)
    s5(f, qty)
    s6(f, cash_after)
    s7(f, position_qty_after)
    s8(f, avg_cost_after)
    s9(f, realised_pnl_after)
    s10(f, game_pnl_after)
    return f


class AccountFields:
    """The mutable working copy of a :class:`LedgerState` inside a :class:`~rugs_env.game.Ledger`.

    Same field names as LedgerState, so the pure helpers of :mod:`rugs_env.game.ledger_steps` that only read
    fields (``make_fill``, ``regular_pnl_of``, ``player_update_of``) accept it too. A Ledger mutates it in
    place only after an order has been fully validated and computed, which keeps "a rejected order changes
    nothing" while sparing the hot path a frozen-dataclass copy per operation; ``snapshot()`` freezes it.
    """

    __slots__ = LedgerState.__slots__

    def __init__(self, s: LedgerState) -> None:
        self.cash = s.cash
        self.phase = s.phase
        self.game_id = s.game_id
        self.tick = s.tick
        self.price = s.price
        self.position_qty = s.position_qty
        self.cost_basis = s.cost_basis
        self.avg_price = s.avg_price
        self.realised_pnl = s.realised_pnl
        self.total_invested = s.total_invested
        self.sidebet_pnl = s.sidebet_pnl
        self.sidebet = s.sidebet
        self.min_bet = s.min_bet
        self.max_bet = s.max_bet

    def freeze(self) -> LedgerState:
        """The fields as an immutable :class:`LedgerState`."""
        return LedgerState(
            self.cash,
            self.phase,
            self.game_id,
            self.tick,
            self.price,
            self.position_qty,
            self.cost_basis,
            self.avg_price,
            self.realised_pnl,
            self.total_invested,
            self.sidebet_pnl,
            self.sidebet,
            self.min_bet,
            self.max_bet,
        )


__all__ = ["AccountFields", "Fill", "FillKind", "LedgerState", "Phase", "Sidebet", "evolve", "new_fill"]
