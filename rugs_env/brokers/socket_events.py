"""How the socket broker reads the server's events: connection and authentication, the player's own
trades and sidebets, ``playerUpdate`` (verification, fresh updates, reconciliation of unknown orders) and the
attribution of the player's sells (see :mod:`rugs_env.brokers.socket_broker`).

A mixin of :class:`~rugs_env.brokers.socket_broker.SocketBroker`, kept apart for size: every handler runs on
the session's event loop, with the broker's lock held.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from recorder.events import AccountUpdate, SidebetEvent, Trade
from recorder.verifier import AccountState
from rugs_env.brokers.base import OrderKind
from rugs_env.brokers.mirror import LedgerMirror
from rugs_env.brokers.orders import BrokerCounters, OrderRecord, Transport, server_state
from rugs_env.brokers.reconcile import reconcile
from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_types import Fill
from rugs_env.live.market import MarketTracker, Transition

log = logging.getLogger(__name__)


class EventHandlers:
    """The event side of the socket broker (attributes are the broker's)."""

    lock: threading.RLock
    market: MarketTracker
    transport: Transport
    mirror: LedgerMirror
    counters: BrokerCounters
    inflight: OrderRecord | None
    held: list[Trade]
    player_id: str | None
    authenticated: bool
    auth_error: str | None
    _window: AccountUpdate | None
    _window_payload: Any
    _window_open: bool
    _needs_sync: bool
    _sync_target: AccountState | None
    _fresh_next: bool
    _target: tuple[AccountUpdate, int, int] | None

    def halt(self, reason: str) -> None: ...
    def _finish(self, rec: OrderRecord, state: str, *, code: str | None = None, reason: str | None = None,
                resolution: str | None = None) -> None: ...  # fmt: skip
    def _lost(self, rec: OrderRecord, why: str) -> None: ...

    def on_connect(self) -> None:
        with self.lock:
            self.authenticated = False
            self._needs_sync, self._sync_target, self._fresh_next = True, None, False
            self._window_open, self._window = True, None

    def on_disconnect(self) -> None:
        with self.lock:
            self.authenticated = False
            self._needs_sync = True
            rec = self.inflight
        if rec is not None and rec.state == "sent":
            self._lost(rec, "disconnected before the acknowledgement")

    def begin_auth(self) -> None:
        """An authentication request is about to be sent: updates until its ack are fresh."""
        with self.lock:
            self._window_open, self._window = True, None

    def on_auth_ack(self, ack: Any) -> None:
        with self.lock:
            self._window_open = False
            if isinstance(ack, dict) and ack.get("success") is False:  # the real ack's form is unknown: only
                reason = ack.get("reason")  # an explicit refusal counts as one (rugs serve: invalid_token)
                self.auth_error = str(reason or "refused")[:100]
                self.authenticated = False
                return
            self.auth_error = None
            self.authenticated = True
            if isinstance(ack, dict) and isinstance(ack.get("id"), str):
                self.player_id = self.player_id or ack["id"]
            fresh, payload = self._window, self._window_payload
            self._window = None
            if fresh is not None:
                self._fresh(fresh, payload)
            else:
                self._fresh_next = True
            self._after_event()

    def on_identity(self, player_id: str) -> None:
        with self.lock:
            self.player_id = player_id

    def on_player_update(self, update: AccountUpdate, payload: Any) -> None:
        with self.lock:
            if (
                self.player_id is not None
                and update.player_id is not None
                and update.player_id != self.player_id
            ):
                return
            if self._window_open:
                self._window, self._window_payload = update, payload
            was_ready = self.mirror.ready
            self.mirror.on_update(update, payload)
            if not was_ready and self.mirror.ready:
                self.guard.set_start(self.mirror.ledger.net_worth())  # type: ignore[union-attr]
            rec = self.inflight
            if self._fresh_next:
                self._fresh_next = False
                self._fresh(update, payload)
            elif rec is not None and rec.state in ("unknown", "acked") and not self.held:
                self._try_reconcile(rec, update, fresh=False)
            self._after_event()

    def _fresh(self, update: AccountUpdate, payload: Any) -> None:
        """The server's account right after it handled everything we sent: resolve, or judge (lock held)."""
        rec = self.inflight
        if rec is not None and rec.state in ("unknown", "acked"):
            if self.held:
                self._settle_held_by_update(rec, update)
            if not rec.resolved:
                # The update may also reflect market events not received yet (a rug while we reconnected,
                # whose settlement went to the dead socket): it stays the target, tried again as the
                # ledger catches up, for ``patience`` ticks.
                self._target = (update, self.market.clock, -1)
                self._retry_target()
        self._sync_target = server_state(update)

    def _retry_target(self) -> None:
        """Reconcile the unresolved order with the last fresh update whenever the ledger has moved."""
        rec, target = self.inflight, self._target
        if target is None or rec is None or rec.resolved:
            self._target = None
            return
        update, since, tried = target
        history = self.mirror.history
        version = len(history.ops) if history is not None else -1
        if version != tried:
            self._target = (update, since, version)
            self._try_reconcile(rec, update, fresh=True)
            if rec.resolved:
                self._target = None
                return
        if self.market.clock - since > self.mirror.verifier.patience:
            self._target = None
            self.halt(f"order {rec.client_id} ({rec.order}): the server's account matches no history with or "
                      f"without it")  # fmt: skip

    def _check_sync(self) -> None:
        """Trading resumes once the ledger has been in the state the fresh update showed."""
        target = self._sync_target
        if not self._needs_sync or target is None or not self.mirror.ready:
            return
        tolerance = self.mirror.verifier.tolerance
        if any(state.distance(target) <= tolerance for state in self.mirror.recent):
            self._needs_sync, self._sync_target = False, None

    def _try_reconcile(self, rec: OrderRecord, update: AccountUpdate, *, fresh: bool) -> None:
        history = self.mirror.history
        if history is None:
            return
        server = server_state(update)
        found = reconcile(
            history,
            rec.order,
            rec.game_id,
            server,
            self.market.price_at,
            fresh=fresh and rec.state == "unknown",
            tolerance=self.mirror.verifier.tolerance,
        )
        if found is None:
            return
        if found.fill is None:
            self.counters.reconciled_not_filled += 1
            self._finish(rec, "not_filled", code="not_executed", reason="the server never executed it",
                         resolution="reconciled_not_filled")  # fmt: skip
            return
        self.mirror.replace(found.ledger, [found.fill])
        rec.fill = found.fill
        self.counters.reconciled_filled += 1
        self._inject_fill(rec, found.fill)
        self._finish(rec, "filled", resolution="reconciled")

    def _inject_fill(self, rec: OrderRecord, fill: Fill) -> None:
        """Tell the recorder about a fill whose event we never received (so the session file has it)."""
        pid = self.player_id or ""
        if rec.order.kind is OrderKind.SIDEBET:
            payload = {"playerId": pid, "gameId": fill.game_id, "betAmount": fill.amount_sol, "xPayout": 5,
                       "startTick": fill.tick, "endTick": fill.tick + 40, "tickIndex": fill.tick,
                       "price": fill.price, "type": "placed", "reconciled": True}  # fmt: skip
            self.transport.inject("currentSidebet", payload)
            return
        payload = {
            "id": f"reconciled-{rec.client_id}",
            "gameId": fill.game_id,
            "playerId": pid,
            "type": "buy" if rec.order.kind is OrderKind.BUY else "sell",
            "price": fill.price,
            "tickIndex": fill.tick,
            "amount": fill.amount_sol,
            "qty": fill.qty_tokens,
            "coin": "solana",
            "reconciled": True,
        }
        self.transport.inject("standard/newTrade", payload)

    def on_trade(self, trade: Trade) -> None:
        with self.lock:
            if self.player_id is None or trade.player_id != self.player_id or not self.mirror.ready:
                return
            rec = self.inflight
            pending = rec is not None and rec.state in ("sent", "acked", "unknown") and rec.fill is None
            if log.isEnabledFor(logging.DEBUG):
                log.debug("own %s at %s tick %d; order %s", trade.kind, trade.game_id, trade.tick,
                          rec.summary() if rec is not None else None)  # fmt: skip
            if trade.kind == "buy":
                fill = self.mirror.buy(trade)
                if pending and rec is not None and rec.order.kind is OrderKind.BUY:
                    rec.fill = fill
                    if rec.acked or rec.state == "unknown":
                        self._finish(rec, "filled", resolution="trade" if rec.acked else "late_trade")
                else:
                    self.counters.external_fills += 1
            elif trade.kind == "sell":
                if pending and rec is not None and rec.order.kind in (OrderKind.SELL, OrderKind.SELL_QTY):
                    if rec.state == "acked" and not self.held:
                        self._apply_held_as_ours(rec, trade)
                    else:
                        self.held.append(trade)
                else:
                    self.mirror.liquidation(trade)
            self._after_event()

    def on_sidebet(self, bet: SidebetEvent) -> None:
        with self.lock:
            if self.player_id is None or bet.player_id != self.player_id or not self.mirror.ready:
                return
            rec = self.inflight
            fill = self.mirror.sidebet(bet)
            if (
                rec is not None
                and rec.order.kind is OrderKind.SIDEBET
                and rec.fill is None
                and not rec.resolved
            ):
                rec.fill = fill
                if rec.acked or rec.state == "unknown":
                    self._finish(rec, "filled", resolution="trade")
            else:
                self.counters.external_fills += 1
            self._after_event()

    def on_sidebet_result(self, bet: SidebetEvent) -> None:
        with self.lock:
            if self.player_id is None or bet.player_id != self.player_id or not self.mirror.ready:
                return
            if self.held and bet.won and bet.tick_index is not None and bet.price is not None:
                # a win is the rug, and it comes before the forced sell and the rug message: a sale held
                # for its order's ack was made before the rug, so it goes into the ledger first
                self._settle_held_by_market(Transition("rug", bet.game_id, bet.tick_index, bet.price))
            self.mirror.sidebet_result(bet)
            self._after_event()

    def on_transition(self, tr: Transition) -> None:
        with self.lock:
            if self.held:
                self._settle_held_by_market(tr)
            self.mirror.on_transition(tr)
            self._after_event()

    def _after_event(self) -> None:
        self.mirror.verify()
        if self._target is not None:
            self._retry_target()
        self._check_sync()

    # -- held sells ----------------------------------------------------------------------------------------
    def _apply_held_as_ours(self, rec: OrderRecord, trade: Trade) -> None:
        rec.fill = self.mirror.sell(trade)
        if rec.acked or rec.state == "unknown":
            self._finish(rec, "filled", resolution="ack" if rec.acked else "trade")

    def _settle_held(self, *, ours: bool) -> None:
        """The sell order's ack decided: the first held sell was ours (success) or none was (failure)."""
        held, self.held = self.held, []
        rec = self.inflight
        for i, trade in enumerate(held):
            if i == 0 and ours and rec is not None:
                rec.fill = self.mirror.sell(trade)
            else:
                self.mirror.liquidation(trade)

    def _settle_held_by_market(self, tr: Transition) -> None:
        """A running tick after a held sale proves it ours; a rug at its tick and price proves it forced.
        A new game ends the held sales' game: the same test against its rug when known, else the first
        one is ours (a sell order is pending and nothing showed the game ending where it was sold)."""
        first = self.held[0]
        rec = self.inflight
        if rec is None:
            return
        if tr.game_id != first.game_id:
            if tr.kind == "game":
                rug = self.market.rug_of(first.game_id)
                if rug is not None:
                    self._settle_held_at_rug(rec, *rug)
                else:
                    self._settle_held_first_ours(rec)
            return
        if tr.kind == "tick" and tr.tick >= first.tick:
            self._settle_held_first_ours(rec)
        elif tr.kind == "rug":
            self._settle_held_at_rug(rec, tr.tick, tr.price)

    def _settle_held_first_ours(self, rec: OrderRecord) -> None:
        first, *rest = self.held
        self.held = []
        self._apply_held_as_ours(rec, first)
        for trade in rest:
            self.mirror.liquidation(trade)

    def _settle_held_at_rug(self, rec: OrderRecord, tick: int, price: float) -> None:
        held, self.held = self.held, []
        for trade in held:
            if (trade.tick, trade.price) == (tick, price) or rec.fill is not None:
                self.mirror.liquidation(trade)
            else:
                self._apply_held_as_ours(rec, trade)

    def _settle_held_by_update(self, rec: OrderRecord, update: AccountUpdate) -> None:
        """Held sales and a fresh update: try "first one ours" then "all forced" against the server."""
        server = server_state(update)
        base = self.mirror.ledger
        assert base is not None
        for ours in (True, False):
            trial = LedgerMirror(self.market, tolerance=self.mirror.verifier.tolerance)
            trial.ledger = Ledger.restore(base.snapshot())
            for i, trade in enumerate(self.held):
                if ours and i == 0:
                    trial.sell(trade)
                else:
                    trial.liquidation(trade)
            state = trial.state()
            if state is not None and state.distance(server) <= self.mirror.verifier.tolerance:
                self._settle_held(ours=ours)
                if ours and rec.fill is not None:
                    self._finish(rec, "filled", resolution="reconciled")
                return


__all__ = ["EventHandlers"]
