"""The reading side of the :class:`~rugs_env.game.Ledger`: the account's figures, its PnL and net worth.

Split from :mod:`rugs_env.game.ledger` for size; see that module's docstring for the API.
"""

from __future__ import annotations

from typing import Any

from rugs_env.game.ledger_checks import check_price
from rugs_env.game.ledger_math import avg_cost_nano, sell_proceeds
from rugs_env.game.ledger_steps import guarded, player_update_of, regular_pnl_of
from rugs_env.game.ledger_types import AccountFields, Phase, Sidebet
from rugs_env.game.money import from_nano


class LedgerView:
    """Read-only views of a ledger's account (``self._a``); all integers are lamports or nano-tokens."""

    __slots__ = ()
    _a: AccountFields

    @property
    def fields(self) -> AccountFields:
        """The account's live fields, to read several figures at the cost of one property (hot read paths:
        the environments' observation). Read only: the ledger alone changes them."""
        return self._a

    @property
    def cash(self) -> int:
        """Cash, lamports."""
        return self._a.cash

    @property
    def phase(self) -> Phase:
        """The game phase."""
        return self._a.phase

    @property
    def game_id(self) -> str | None:
        """The current game's id (None before the first game)."""
        return self._a.game_id

    @property
    def tick(self) -> int:
        """The clock's tick (0 in presale)."""
        return self._a.tick

    @property
    def price(self) -> float:
        """The clock's price (1.0 in presale)."""
        return self._a.price

    @property
    def position_qty(self) -> int:
        """Tokens held, nano-tokens."""
        return self._a.position_qty

    @property
    def cost_basis(self) -> int:
        """SOL cost of the tokens held, lamports (0 when flat)."""
        return self._a.cost_basis

    @property
    def avg_price(self) -> float:
        """The unrounded quantity-weighted entry price (0.0 when flat)."""
        return self._a.avg_price

    @property
    def avg_cost(self) -> float:
        """The average cost as the wire shows it (9 decimals, truncated; 0.0 when flat)."""
        return from_nano(avg_cost_nano(self._a.avg_price))

    @property
    def realised_pnl(self) -> int:
        """This game's realised PnL of sells and liquidation, lamports."""
        return self._a.realised_pnl

    @property
    def total_invested(self) -> int:
        """This game's buys + sidebet stakes, lamports."""
        return self._a.total_invested

    @property
    def sidebet_pnl(self) -> int:
        """This game's settled sidebet PnL (+4x stake per win, -stake per loss), lamports."""
        return self._a.sidebet_pnl

    @property
    def sidebet(self) -> Sidebet | None:
        """The open sidebet, or None."""
        return self._a.sidebet

    @property
    def min_bet(self) -> int:
        """Minimum buy / sidebet, lamports."""
        return self._a.min_bet

    @property
    def max_bet(self) -> int:
        """Maximum buy / sidebet, lamports."""
        return self._a.max_bet

    def regular_pnl(self, price: float | None = None) -> int:
        """Realised PnL + mark-to-market of the position at ``price`` (default: the clock's), lamports."""
        return regular_pnl_of(self._a, self._price_or_clock(price))

    def pnl(self, price: float | None = None) -> int:
        """The game's PnL at ``price``: regular PnL + settled sidebet PnL, lamports."""
        return self.regular_pnl(price) + self._a.sidebet_pnl

    def position_value(self, price: float | None = None) -> int:
        """Lamports a full sale at ``price`` would return (0 when flat)."""
        return guarded(sell_proceeds, self._a.position_qty, self._price_or_clock(price))

    def net_worth(self, price: float | None = None) -> int:
        """Cash + position value at ``price`` + the open sidebet's stake, lamports."""
        a = self._a
        bet = a.sidebet
        return a.cash + self.position_value(price) + (bet.stake if bet else 0)

    def player_update(self, price: float | None = None) -> dict[str, Any]:
        """The account's numbers as a playerUpdate / leaderboard row carries them (floats, SOL)."""
        return player_update_of(self._a, self._price_or_clock(price))

    def _price_or_clock(self, price: float | None) -> float:
        return self._a.price if price is None else check_price(price)


__all__ = ["LedgerView"]
