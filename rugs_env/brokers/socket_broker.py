"""The socket broker: live orders on an authenticated Socket.IO connection, behind the Broker interface.

Orders: :meth:`SocketBroker.submit` (from any thread but the event loop's) checks, in this order, that
trading is not halted, that the account is synced and the socket authenticated, that no earlier order is
still unresolved, that the market is open, the risk limits and the rate limit
(:class:`~rugs_env.brokers.risk.RiskGuard`), and that the rulebook's ledger would accept the order. Only
then does it send ``buyOrder {"amount"}``, ``sellOrder {"percentage"}`` or ``requestSidebet {"amount",
"coinAddress", "xPayout"}`` (a trace object first, like the web client) and wait for the acknowledgement
(``ack_timeout`` seconds).

Never twice: each order gets a client-side id and is emitted exactly once; there is no retry path. Its fate:

* ``{"success": true}`` and its fill (the server sends the trade before the ack): ``FILLED``;
* ``{"success": false, "reason": ...}``: ``REJECTED`` with the server's reason (the account unchanged);
* no ack in time, or the connection dropped before it: *unknown*. The order blocks every further order
  until it is resolved, from the server's own state: its trade arriving late, its ack arriving late, or a
  ``playerUpdate`` explained by exactly one history (:mod:`rugs_env.brokers.reconcile`). The broker asks
  for a fresh one by re-authenticating (and reconnects if that fails). An order the server's account shows
  was never executed is ``not filled``; one that nothing explains halts trading.

Fills are applied to the rulebook's ledger from the server's events (:class:`~rugs_env.brokers.mirror.
LedgerMirror`), never from the order itself, and every ``playerUpdate`` is checked against it: drift
beyond the tolerance halts trading at once, with the reason in :attr:`SocketBroker.halted`.

Attribution of the player's own sells: a sell without a pending sell order is the forced sale at the rug.
While a sell order awaits its ack, the player's sell trades are held: the ack says which one was the order
(success: the first; failure: none), and when the ack is lost the market decides (a sale at the rug's tick
and price was the forced one; the game still running after it: ours). The broker assumes it is the only
one trading on the account.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import secrets
import threading
import time
from typing import Any

from recorder.events import AccountUpdate, Trade
from recorder.verifier import AccountState
from rugs_env.brokers.base import Broker, Order, OrderKind, OrderResult, OrderStatus
from rugs_env.brokers.mirror import LedgerMirror
from rugs_env.brokers.orders import (
    BrokerCounters,
    NotConnected,
    OrderRecord,
    Transport,
    percentage_of,
    trace,
    trading_refusal,
    wire_order,
)
from rugs_env.brokers.risk import RiskGuard
from rugs_env.brokers.socket_events import EventHandlers
from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_types import Fill
from rugs_env.live.market import MarketTracker

log = logging.getLogger(__name__)
_ids = itertools.count(1)


class SocketBroker(EventHandlers, Broker):
    """Live orders (see the module docstring). Event handlers run on the session's loop; ``submit`` from
    any other thread. ``lock`` guards the state both sides read."""

    def __init__(
        self,
        market: MarketTracker,
        transport: Transport,
        guard: RiskGuard | None = None,
        *,
        ack_timeout: float = 5.0,
        reconcile_grace: float = 0.5,
        tolerance: int = 0,
        patience: int = 8,
    ) -> None:
        self.market = market
        self.transport = transport
        self.guard = guard or RiskGuard()
        self.ack_timeout = ack_timeout
        self.reconcile_grace = reconcile_grace
        self.lock = threading.RLock()
        self.mirror = LedgerMirror(market, tolerance=tolerance, patience=patience, on_halt=self.halt)
        self.counters = BrokerCounters()
        self.orders: list[OrderRecord] = []
        self.inflight: OrderRecord | None = None
        self.held: list[Trade] = []  # own sells held while a sell order awaits its fate
        self.halted: str | None = None
        self.player_id: str | None = None
        self.authenticated = False
        self.auth_error: str | None = None
        self._window: AccountUpdate | None = None  # the last update since an auth request
        self._window_payload: Any = None
        self._window_open = False
        self._needs_sync = True  # after (re)connecting: the fresh update must match before trading
        self._sync_target: AccountState | None = None
        self._fresh_next = False  # the auth ack came before any update: the next one is fresh
        self._target: tuple[AccountUpdate, int, int] | None = None  # (fresh update, clock, ops tried)
        self._empty = Ledger(0)

    # -- Broker API --------------------------------------------------------------------------------------
    @property
    def account(self) -> Ledger:
        """The ledger as the server last confirmed it (an empty one until the account is synced)."""
        return self.mirror.ledger if self.mirror.ledger is not None else self._empty

    def submit(self, order: Order) -> OrderResult:
        loop = self.transport.loop
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("SocketBroker.submit called on the event loop: await submit_async instead")
        fut = asyncio.run_coroutine_threadsafe(self.submit_async(order), loop)
        return fut.result(self.ack_timeout + 30.0)

    def poll_fills(self) -> list[Fill]:
        with self.lock:
            fills, self.mirror.fills = self.mirror.fills, []
            return fills

    def check(self, order: Order) -> str | None:
        with self.lock:
            found = self._refusal(order, take_token=False)
            return None if found is None else found[1]

    @property
    def ready(self) -> bool:
        """Synced, authenticated, not halted, and no order unresolved."""
        with self.lock:
            return (self.halted is None and self.mirror.ready and self.authenticated and not self._needs_sync
                    and self.inflight is None)  # fmt: skip

    def halt(self, reason: str) -> None:
        """Stop trading at once (drift, an order nothing explains...): every later order is refused."""
        with self.lock:
            if self.halted is None:
                self.halted = reason
                log.error("trading halted: %s", reason)
                self.transport.note("halt", {"reason": reason})

    # -- orders --------------------------------------------------------------------------------------------
    def _refusal(self, order: Order, *, take_token: bool = True) -> tuple[str, str] | None:
        if self.halted is not None:
            return "halted", f"trading is halted: {self.halted}"
        if self.auth_error is not None:
            return "not_authenticated", f"authentication refused: {self.auth_error}"
        if not self.mirror.ready or not self.authenticated or self._needs_sync:
            return "not_ready", "the account is not synced with the server yet"
        if self.inflight is not None:
            return "order_pending", f"order {self.inflight.client_id} is not resolved yet"
        if wire_order(order) is None:
            return "unsupported", f"{order} has no wire form"
        return trading_refusal(self.account, self.market, self.guard, order, take_token=take_token)

    async def submit_async(self, order: Order) -> OrderResult:
        """Send ``order`` (on the session's loop) and wait for its acknowledgement."""
        loop = asyncio.get_running_loop()
        with self.lock:
            found = self._refusal(order)
            if found is not None:
                code, message = found
                self.counters.refuse(code)
                return OrderResult(order, OrderStatus.REJECTED, None, message, code)
            event, payload = wire_order(order)  # type: ignore[misc]
            ledger = self.account
            rec = OrderRecord(
                f"o{next(_ids):06d}-{secrets.token_hex(3)}", order, event, ledger.game_id or "",
                ledger.tick if ledger.phase.value == "active" else -1, sent_at=time.monotonic(),
                done=loop.create_future(),
            )  # fmt: skip
            self.inflight = rec
            self.orders.append(rec)
            self.mirror.start_recording()
            self.counters.sent += 1
        self.transport.note("order", {**rec.summary(), "payload": payload})
        try:
            await self.transport.emit(event, (trace(), payload), lambda *args: self._on_ack(rec, args))
        except NotConnected:
            with self.lock:  # never left: as if refused
                self.counters.sent -= 1
                self._finish(rec, "rejected", code="not_connected", reason="no authenticated connection")
                self.orders.remove(rec)
            self.counters.refuse("not_connected")
            return OrderResult(
                order, OrderStatus.REJECTED, None, "no authenticated connection", "not_connected"
            )
        except Exception as exc:  # it may have left: its fate is unknown
            log.warning("sending %s failed: %s", rec.client_id, type(exc).__name__)
            self._lost(rec, f"send failed ({type(exc).__name__})")
        assert rec.done is not None
        try:
            await asyncio.wait_for(asyncio.shield(rec.done), self.ack_timeout)
        except TimeoutError:
            self._lost(rec, f"no acknowledgement within {self.ack_timeout:g} s")
        return self._result(rec)

    def _result(self, rec: OrderRecord) -> OrderResult:
        with self.lock:
            if rec.state == "filled":
                return OrderResult(rec.order, OrderStatus.FILLED, rec.fill)
            if rec.state in ("rejected", "not_filled"):
                return OrderResult(rec.order, OrderStatus.REJECTED, None, rec.reason, rec.code)
            if rec.state == "acked":
                return OrderResult(rec.order, OrderStatus.ACCEPTED, None, "acknowledged; fill pending")
            return OrderResult(rec.order, OrderStatus.ACCEPTED, None, rec.reason, "unknown")

    def _finish(self, rec: OrderRecord, state: str, *, code: str | None = None, reason: str | None = None,
                resolution: str | None = None) -> None:  # fmt: skip
        """The order's fate is known: release the slot (lock held)."""
        log.debug("order %s: %s (%s)", rec.client_id, state, resolution or code)
        rec.state = state
        rec.code = code or rec.code
        rec.reason = reason or rec.reason
        rec.resolution = resolution or rec.resolution
        if self.inflight is rec:
            self.inflight = None
            self.mirror.stop_recording()
        if state == "filled":
            self.counters.filled += 1
        elif state == "rejected" and code != "not_connected":
            self.counters.rejected += 1
        if rec.done is not None and not rec.done.done():
            rec.done.set_result(None)
        self.transport.note("order_result", rec.summary())

    def _on_ack(self, rec: OrderRecord, args: tuple[Any, ...]) -> None:
        ack = args[-1] if args else None
        success = isinstance(ack, dict) and ack.get("success") is True
        with self.lock:
            if rec.lost:
                self.counters.late_acks += 1
                self.transport.note("late_ack", {"id": rec.client_id, "success": success})
            if rec.resolved:
                # a late ack must agree with how the order was resolved; if not, nothing can be trusted
                if rec.lost and success != (rec.state == "filled"):
                    verdict = "success" if success else "failure"
                    self.halt(
                        f"order {rec.client_id}: the late acknowledgement ({verdict}) contradicts its "
                        f"reconciliation ({rec.state})"
                    )
                return
            late = rec.state == "unknown"
            rec.acked = True
            if success:
                if rec.order.kind is not OrderKind.BUY and rec.order.kind is not OrderKind.SIDEBET:
                    self._settle_held(ours=True)
                if rec.fill is not None:
                    self._finish(rec, "filled", resolution="late_ack" if late else "ack")
                else:
                    rec.state = "acked"  # the fill must still come (or be reconciled)
                    if rec.done is not None and not rec.done.done():
                        rec.done.set_result(None)
                    if not late:
                        self._resolver(rec)
            else:
                reason = ack.get("reason") if isinstance(ack, dict) else None
                message = ack.get("message") if isinstance(ack, dict) else None
                code = reason if isinstance(reason, str) and reason else "refused"
                self._settle_held(ours=False)
                self._finish(rec, "rejected", code=code, reason=str(message or code)[:200],
                             resolution="late_ack" if late else "ack")  # fmt: skip
            self._after_event()

    def _lost(self, rec: OrderRecord, why: str) -> None:
        """The ack will not come (in time): the order's fate is unknown until reconciled."""
        with self.lock:
            if rec.state != "sent":
                return
            rec.state, rec.reason, rec.lost = "unknown", why, True
            self.counters.unknown += 1
            if rec.done is not None and not rec.done.done():
                rec.done.set_result(None)
            self.transport.note("order_unknown", {"id": rec.client_id, "why": why})
            log.warning(
                "order %s (%s): %s; reconciling from the server's state", rec.client_id, rec.order, why
            )
            if rec.fill is not None:  # its own event came before the ack was lost: it did fill
                self._finish(rec, "filled", resolution="trade")
                return
            self._resolver(rec)

    def _resolver(self, rec: OrderRecord) -> None:
        self.transport.loop.create_task(self._resolve(rec), name=f"resolve-{rec.client_id}")

    async def _resolve(self, rec: OrderRecord) -> None:
        """Ask the server for its account until the order is resolved (never sending the order again)."""
        await asyncio.sleep(self.reconcile_grace)  # its trade or ack may still be on the way
        wait = self.ack_timeout
        while not rec.resolved and self.halted is None:
            with self.lock:
                can_ask = self.authenticated
            if can_ask:
                self.counters.reauths += 1
                if not await self.transport.reauthenticate():
                    can_ask = False
            deadline = time.monotonic() + wait
            while not rec.resolved and time.monotonic() < deadline and self.halted is None:
                await asyncio.sleep(0.02)
            if not rec.resolved and self.halted is None and not can_ask:
                self.counters.reconnects_forced += 1
                self.transport.force_reconnect()
            wait = min(wait * 2, 60.0)

    # -- reporting -----------------------------------------------------------------------------------------
    def summary(self) -> dict[str, Any]:
        with self.lock:
            v = self.mirror.verifier
            return {
                "orders": self.counters.as_json(),
                "verification": {
                    "player_updates_checked": v.checked,
                    "drift_count": v.drift_count,
                    "max_drift_lamports": v.max_drift,
                    "pending": v.pending,
                },  # fmt: skip
                "ledger": {
                    "wire_mismatches": self.mirror.counters.wire_mismatches,
                    "ledger_rejects": self.mirror.counters.ledger_rejects,
                    "liquidations": self.mirror.counters.liquidations,
                    "synthetic_closes": self.mirror.counters.synthetic_closes,
                },  # fmt: skip
                "halted": self.halted,
            }

    def close(self) -> None:
        """A last check of the server's updates (those still waiting for their events stay ``pending``)."""
        with self.lock:
            self.mirror.verify()

    def __repr__(self) -> str:
        return f"SocketBroker(player={self.player_id!r}, halted={self.halted!r}, orders={len(self.orders)})"


__all__ = ["NotConnected", "OrderRecord", "SocketBroker", "percentage_of", "wire_order"]
