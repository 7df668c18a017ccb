"""The simulated broker: every order filled (or refused) at once by the rulebook's ledger.

The environment that owns it drives the market: :meth:`SimulatedBroker.open_game` (presale),
:meth:`SimulatedBroker.advance` (each tick: an expired sidebet is settled) and :meth:`SimulatedBroker.rug`
(sidebet settled, position liquidated at the rug price). Orders execute at the ledger's clock: 1.0 in
presale, else the price of the last tick the market advanced to. Fills (own orders and market events alike)
are queued for :meth:`poll_fills` when ``keep_fills`` is true (the default); a tight training loop may turn
that off, and its orders' results then carry no fill (the ledger skips building the records).
"""

from __future__ import annotations

from rugs_env.brokers.base import (
    Broker,
    Order,
    OrderKind,
    OrderResult,
    OrderStatus,
    execute_order,
    order_error,
)
from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_errors import LedgerError
from rugs_env.game.ledger_types import Fill

_FILLED, _REJECTED = OrderStatus.FILLED, OrderStatus.REJECTED
_BUY, _SELL = OrderKind.BUY, OrderKind.SELL  # globals: an enum class attribute costs ~100 ns a lookup


class SimulatedBroker(Broker):
    """Ledger fills for replay, simulation; ``ledger`` defaults to a fresh one holding ``cash`` lamports."""

    def __init__(self, cash: int = 0, *, ledger: Ledger | None = None, keep_fills: bool = True) -> None:
        self._ledger = ledger if ledger is not None else Ledger(cash)
        self._fills: list[Fill] = []
        self.keep_fills = keep_fills

    @property
    def account(self) -> Ledger:
        """The ledger itself (read it, but trade through :meth:`submit`)."""
        return self._ledger

    # -- the market, driven by the environment ------------------------------------------------------------
    def reset(self, cash: int) -> None:
        """A fresh account holding ``cash`` lamports; queued fills are dropped."""
        self._ledger = Ledger(cash, min_bet=self._ledger.min_bet, max_bet=self._ledger.max_bet)
        self._fills.clear()

    def open_game(self, game_id: str) -> None:
        """Presale of ``game_id``: orders now execute at 1.0 (sidebet start tick 0)."""
        self._ledger.open_game(game_id)

    def advance(self, tick: int, price: float) -> list[Fill]:
        """The market shows ``tick`` at ``price``; returns the fill of a sidebet that expired."""
        fills = self._ledger.on_tick(tick, price)
        if fills and self.keep_fills:
            self._fills.extend(fills)
        return fills

    def rug(self, tick: int, price: float) -> list[Fill]:
        """The game rugs at ``tick``: sidebet settled, position liquidated at ``price``; returns the fills."""
        fills = self._ledger.rug(tick, price)
        if fills and self.keep_fills:
            self._fills.extend(fills)
        return fills

    # -- orders -------------------------------------------------------------------------------------------
    def submit(self, order: Order) -> OrderResult:
        """Fill ``order`` through the ledger now: ``FILLED`` with the fill, or ``REJECTED`` and why."""
        keep = self.keep_fills
        try:
            fill = execute_order(self._ledger, order, record=keep)
        except LedgerError as err:
            return OrderResult(order, _REJECTED, None, str(err), type(err).__name__)
        if keep:
            self._fills.append(fill)
        return OrderResult(order, _FILLED, fill)

    def execute(self, order: Order) -> bool:
        """:meth:`submit` without building an :class:`OrderResult` (the environments' hot path)."""
        if self.keep_fills:
            return self.submit(order).status is _FILLED
        kind = order.kind
        try:  # execute_order's dispatch inline for the two common kinds (a call less per order)
            if kind is _BUY:
                self._ledger.buy(order.amount, record=False)
            elif kind is _SELL:
                self._ledger.sell(order.fraction, record=False)
            else:
                execute_order(self._ledger, order, record=False)
        except LedgerError:
            return False
        return True

    def check(self, order: Order) -> str | None:
        """Why the ledger would refuse ``order`` now, or None."""
        err = order_error(self._ledger, order)
        return None if err is None else str(err)

    def poll_fills(self) -> list[Fill]:
        """Fills since the last call (orders, expiries, rug settlement and liquidation), oldest first."""
        fills, self._fills = self._fills, []
        return fills


__all__ = ["SimulatedBroker"]
