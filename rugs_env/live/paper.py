"""Paper trading: the live feed, simulated fills (``rugs play --paper``, the default).

:class:`PaperBroker` is the replay environment's :class:`~rugs_env.brokers.simulated.SimulatedBroker` (the
rulebook's ledger) with the live market driving it: a new game opens its presale, each running tick moves
its clock, the rug settles the sidebet and liquidates. Orders fill at once at the ledger's clock (the newest
tick seen), after the same checks as live orders (market open, risk limits, rate limit, the ledger's rules).
Nothing is sent to the server. It has the socket broker's event handlers as no-ops, so the live session
drives either the same way.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

from rugs_env.brokers.base import Broker, Order, OrderResult, OrderStatus
from rugs_env.brokers.orders import BrokerCounters, trading_refusal
from rugs_env.brokers.risk import RiskGuard
from rugs_env.brokers.simulated import SimulatedBroker
from rugs_env.game.constants import RUG_PRICE_FACTOR_MAX
from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_errors import LedgerError
from rugs_env.game.ledger_types import Fill, Phase
from rugs_env.live.market import MarketTracker, Transition

_OPEN = (Phase.PRESALE, Phase.ACTIVE)


class PaperBroker(Broker):
    """Simulated fills on the live market (see the module docstring)."""

    def __init__(self, market: MarketTracker, guard: RiskGuard | None, cash: int) -> None:
        self.market = market
        self.guard = guard or RiskGuard()
        self.sim = SimulatedBroker(cash)
        self.lock = threading.RLock()
        self.counters = BrokerCounters()
        self.halted: str | None = None
        self.player_id: str | None = None
        self.auth_error: str | None = None
        self.fills_log: list[tuple[Fill, datetime]] = []  # every fill, for the paper session file
        self.guessed_rugs = 0  # games whose rug was never seen (closed at the largest rug factor)
        self.guard.set_start(cash)

    # -- Broker API --------------------------------------------------------------------------------------
    @property
    def account(self) -> Ledger:
        return self.sim.account

    @property
    def ready(self) -> bool:
        with self.lock:
            ledger = self.sim.account
            return ledger.game_id == self.market.game_id and ledger.phase in _OPEN

    def _refusal(self, order: Order, take_token: bool = True) -> tuple[str, str] | None:
        return trading_refusal(self.sim.account, self.market, self.guard, order, take_token=take_token)

    def submit(self, order: Order) -> OrderResult:
        with self.lock:
            found = self._refusal(order)
            if found is not None:
                self.counters.refuse(found[0])
                return OrderResult(order, OrderStatus.REJECTED, None, found[1], found[0])
            result = self.sim.submit(order)
            if result.fill is not None:
                self.counters.sent += 1
                self.counters.filled += 1
                self._log([result.fill])
            return result

    def check(self, order: Order) -> str | None:
        with self.lock:
            found = self._refusal(order, take_token=False)
            return None if found is None else found[1]

    def poll_fills(self) -> list[Fill]:
        with self.lock:
            return self.sim.poll_fills()

    def _log(self, fills: list[Fill]) -> None:
        now = datetime.now(UTC)
        self.fills_log.extend((fill, now) for fill in fills)

    # -- the market --------------------------------------------------------------------------------------
    def on_transition(self, tr: Transition) -> None:
        with self.lock:
            ledger = self.sim.account
            try:
                if tr.kind == "rug":
                    if ledger.game_id == tr.game_id and ledger.phase in _OPEN:
                        self._log(self.sim.rug(max(tr.tick, ledger.tick, 1), tr.price))
                elif tr.kind in ("game", "tick"):
                    if ledger.game_id != tr.game_id:
                        self._enter(tr.game_id)
                    ledger = self.sim.account
                    if tr.kind == "tick" and ledger.game_id == tr.game_id:
                        if ledger.phase is Phase.PRESALE or (
                            ledger.phase is Phase.ACTIVE and tr.tick > ledger.tick
                        ):
                            self._log(self.sim.advance(tr.tick, tr.price))
            except LedgerError:
                self.counters.refuse("ledger_error")

    def _enter(self, game_id: str) -> None:
        ledger = self.sim.account
        if ledger.phase in _OPEN:
            rug = self.market.rug_of(ledger.game_id or "")
            if rug is None:  # never seen: the worst case of the rug law, so paper results are not flattered
                self.guessed_rugs += 1
                rug = (max(1, ledger.tick), min(ledger.price, 1.0) * RUG_PRICE_FACTOR_MAX)
            self._log(self.sim.rug(max(rug[0], ledger.tick, 1), rug[1]))
        self.sim.open_game(game_id)

    # -- the socket broker's handlers: nothing to do on paper ---------------------------------------------
    def on_connect(self) -> None: ...
    def on_disconnect(self) -> None: ...
    def begin_auth(self) -> None: ...
    def on_auth_ack(self, ack: Any) -> None: ...
    def on_identity(self, player_id: str) -> None: ...
    def on_player_update(self, update: Any, payload: Any) -> None: ...
    def on_trade(self, trade: Any) -> None: ...
    def on_sidebet(self, bet: Any) -> None: ...
    def on_sidebet_result(self, bet: Any) -> None: ...

    def summary(self) -> dict[str, Any]:
        with self.lock:
            return {"orders": self.counters.as_json(), "guessed_rugs": self.guessed_rugs, "halted": None}

    def __repr__(self) -> str:
        return f"PaperBroker(cash={self.sim.account.cash}, fills={len(self.fills_log)})"


__all__ = ["PaperBroker"]
