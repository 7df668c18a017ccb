"""The socket broker's vocabulary: order records, counters, the wire form of orders, small helpers.

Split from :mod:`rugs_env.brokers.socket_broker` (which documents the order lifecycle).
"""

from __future__ import annotations

import asyncio
import math
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from recorder.events import AccountUpdate
from recorder.verifier import AccountState
from rugs_env.brokers.base import Order, OrderKind, order_error
from rugs_env.brokers.risk import RiskGuard
from rugs_env.game.constants import SIDEBET_X_PAYOUT, SOL_MINT
from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_types import Fill
from rugs_env.game.money import from_nano
from rugs_env.live.market import MarketPhase, MarketTracker

_TRADING = (MarketPhase.PRESALE, MarketPhase.ACTIVE)


class NotConnected(Exception):
    """No authenticated socket to send on: the order was not sent."""


class Transport(Protocol):
    """What the broker needs from the live session (:class:`rugs_env.live.session.LiveSession`)."""

    loop: asyncio.AbstractEventLoop

    async def emit(self, event: str, payload: Any, callback: Callable[..., None]) -> None: ...
    async def reauthenticate(self) -> bool: ...
    def force_reconnect(self) -> None: ...
    def note(self, kind: str, data: dict[str, Any]) -> None: ...
    def inject(self, event: str, payload: dict[str, Any]) -> None: ...


@dataclass(slots=True)
class OrderRecord:
    """One order's life (see the module docstring)."""

    client_id: str
    order: Order
    event: str
    game_id: str
    tick: int  # the ledger's tick when it left (-1: presale)
    state: str = "sent"  # sent | acked | unknown | filled | rejected | not_filled
    sent_at: float = 0.0
    fill: Fill | None = None
    reason: str | None = None
    code: str | None = None
    resolution: str | None = None  # ack | trade | late_ack | late_trade | reconciled | reconciled_not_filled
    acked: bool = False
    lost: bool = False  # its ack was given up on (timeout, disconnect) at some point
    done: asyncio.Future | None = field(default=None, repr=False)

    @property
    def resolved(self) -> bool:
        return self.state in ("filled", "rejected", "not_filled")

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.client_id, "order": str(self.order), "game_id": self.game_id,
                               "tick": self.tick, "state": self.state}  # fmt: skip
        for key in ("reason", "code", "resolution"):
            if getattr(self, key):
                out[key] = getattr(self, key)
        if self.fill is not None:
            out["fill"] = {"tick": self.fill.tick, "price": self.fill.price, "amount": self.fill.amount,
                           "qty": self.fill.qty}  # fmt: skip
        return out


@dataclass(slots=True)
class BrokerCounters:
    sent: int = 0
    filled: int = 0
    rejected: int = 0  # refused by the server (success: false)
    refused: dict[str, int] = field(default_factory=dict)  # never sent, by code
    unknown: int = 0  # acks lost (timeout or disconnect)
    late_acks: int = 0
    reconciled_filled: int = 0
    reconciled_not_filled: int = 0
    reauths: int = 0
    reconnects_forced: int = 0
    external_fills: int = 0  # own fills without an order of ours (someone else trading on the account)

    def refuse(self, code: str) -> None:
        self.refused[code] = self.refused.get(code, 0) + 1

    def as_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


def percentage_of(fraction: float) -> float:
    """The ``sellOrder`` percentage whose ``/ 100`` is exactly ``fraction`` (10 for 0.1, not 10.000...02): the
    shortest decimal if one works, else the nearest double that does (the server divides by 100)."""
    for digits in range(0, 16):
        pct = round(fraction * 100, digits)
        if pct / 100 == fraction:
            return int(pct) if pct == int(pct) else pct
    pct = fraction * 100
    for _ in range(8):
        for candidate in (math.nextafter(pct, math.inf), math.nextafter(pct, -math.inf)):
            if candidate / 100 == fraction:
                return candidate
        pct = math.nextafter(pct, math.inf if pct / 100 < fraction else -math.inf)
    return fraction * 100


def wire_order(order: Order) -> tuple[str, dict[str, Any]] | None:
    """The event and payload of an order (None: the wire has no such order)."""
    if order.kind is OrderKind.BUY:
        return "buyOrder", {"amount": from_nano(order.amount)}
    if order.kind is OrderKind.SELL:
        return "sellOrder", {"percentage": percentage_of(order.fraction)}
    if order.kind is OrderKind.SIDEBET:
        return "requestSidebet", {"amount": from_nano(order.amount), "coinAddress": SOL_MINT,
                                  "xPayout": SIDEBET_X_PAYOUT}  # fmt: skip
    return None


def server_state(update: AccountUpdate) -> AccountState:
    """The numbers of a ``playerUpdate`` the ledger is compared on."""
    return AccountState(update.cash, update.position_qty or 0, update.avg_cost or 0)


def trading_refusal(
    ledger: Ledger, market: MarketTracker, guard: RiskGuard, order: Order, *, take_token: bool = True
) -> tuple[str, str] | None:
    """``(code, message)`` if ``order`` must not leave now, else None: the market must be open on the
    ledger's game, the ledger must accept the order, then the risk limits and (``take_token``) the rate.

    Shared by the live brokers (socket and paper); each checks its own connection state first.
    """
    if market.phase not in _TRADING or ledger.game_id != market.game_id:
        return "market_closed", f"no trading now ({market.phase.value})"
    err = order_error(ledger, order)
    if err is not None:
        return err.code, str(err)
    return guard.refusal(order, ledger.cash) if take_token else guard.limit_refusal(order, ledger.cash)


def trace() -> dict[str, Any]:
    return {"__trace": True, "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"}


__all__ = [
    "BrokerCounters",
    "NotConnected",
    "OrderRecord",
    "Transport",
    "trading_refusal",
    "percentage_of",
    "server_state",
    "trace",
    "wire_order",
]
