"""Immutable records of the ledger: the phase, the open sidebet, a fill, and a snapshot of the account.

Integers are lamports (SOL amounts) or nano-tokens (quantities); ``*_sol`` / ``*_tokens`` properties give
the float the server would send (``units / 1e9``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

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


__all__ = ["Fill", "FillKind", "LedgerState", "Phase", "Sidebet"]
