"""The Socket.IO application: one small async handler per event, python-socketio style.

Client -> server events (PROTOCOL.md §4), payload always the *last* argument (a trace object may come first):

- ``authenticate`` ``{"token": "<token>"}`` -> ``usernameStatus``, ``playerUpdate``, then the ack
  ``{"success": true, "id": "did:privy:...", "username": ...}`` or ``{"success": false, "reason": ...}``.
  (The real payload is hidden in captures; a token in the Socket.IO ``auth`` of the connection works too.)
- ``buyOrder`` ``{"amount"}``, ``sellOrder`` ``{"percentage"}``, ``requestSidebet``
  ``{"amount", "coinAddress", "xPayout"}`` -> executed by the trading desk, ack ``{"success": true, ...}``
  or ``{"success": false, "reason": ...}``. Unauthenticated sockets get ``reason: "not_authenticated"``.
  Every order event is recorded in the ground truth as received (:mod:`rugs_env.server.order_log`) before it
  is handled, and its outcome when it has been; the lost-ack fault then withholds the ack of some (the
  handler returns python-socketio's ``not_handled``, which sends no ack packet at all).
- ``ping`` -> empty ack; anything else is ignored (acked empty when an ack is asked for).

A newly connected socket first gets a full ``gameStateUpdate`` with every price of the game so far.
No handler lets an exception escape: bad input is logged, counted and answered with ``success: false``.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import socketio
from aiohttp import web

from rugs_env.server.engine import GameEngine
from rugs_env.server.hub import Hub
from rugs_env.server.wire import TraceIds

log = logging.getLogger(__name__)
ORDER_EVENTS = ("buyOrder", "sellOrder", "requestSidebet")
NOT_AUTHENTICATED = {"success": False, "reason": "not_authenticated", "message": "authenticate first"}
DISCONNECTED = {"success": False, "reason": "disconnected", "message": "the connection is closed"}
INTERNAL_ERROR = {
    "success": False,
    "reason": "internal_error",
    "message": "the server failed on this request",
}


def now_ms() -> int:
    return int(time.time() * 1000)


def _payload(args: tuple[Any, ...]) -> Any:
    """The payload is the last argument (the trace object, when present, comes first)."""
    return args[-1] if args else None


class SocketApp:
    """Wires python-socketio events to the engine and the hub."""

    def __init__(self, engine: GameEngine, traces: TraceIds) -> None:
        # always_connect: the CONNECT reply goes out before our connect handler queues the snapshot
        self.sio = socketio.AsyncServer(
            async_mode="aiohttp",
            cors_allowed_origins="*",
            always_connect=True,
            logger=False,
            engineio_logger=False,
        )
        self.engine = engine
        self.hub = Hub(self.sio, engine.config, traces)
        self.errors = 0
        self.sio.on("connect", self.connect)
        self.sio.on("disconnect", self.disconnect)
        self.sio.on("authenticate", self.authenticate)
        self.sio.on("buyOrder", self.buy_order)
        self.sio.on("sellOrder", self.sell_order)
        self.sio.on("requestSidebet", self.request_sidebet)
        self.sio.on("ping", self.ping)
        self.sio.on("*", self.any_event)

    @web.middleware
    async def track_upgrades(self, request: web.Request, handler: Any) -> web.StreamResponse:
        """Remember the TCP transport of each websocket upgrade of a polling connection (by its ``sid``), so
        a disconnect fault can cut it like a network failure would."""
        if request.headers.get("Upgrade", "").lower() == "websocket" and "sid" in request.query:
            self.hub.upgrades[request.query["sid"]] = request.transport
        return await handler(request)

    # -- connection ----------------------------------------------------------------------------------------
    async def connect(self, sid: str, environ: dict, auth: Any = None) -> None:
        """Register the socket and send it the full snapshot (with ``prices``)."""
        self.hub.add(sid, self.engine.game_time, environ)
        self.engine.sockets_connected = len(self.hub.connections)
        snapshot = self.engine.snapshot()
        if snapshot:
            await self.hub.to_socket(sid, "gameStateUpdate", snapshot)
        if isinstance(auth, dict) and "token" in auth:
            await self._login(sid, auth.get("token"))

    async def disconnect(self, sid: str, reason: Any = None) -> None:
        self.hub.remove(sid)
        self.engine.sockets_connected = len(self.hub.connections)

    # -- authentication ------------------------------------------------------------------------------------
    async def authenticate(self, sid: str, *args: Any) -> dict[str, Any]:
        """``authenticate`` with ``{"token": ...}`` (a bare token string is accepted too)."""
        payload = _payload(args)
        token = payload.get("token") if isinstance(payload, dict) else payload
        try:
            return await self._login(sid, token)
        except Exception:
            self.errors += 1
            log.exception("authenticate failed for %s", sid)
            return INTERNAL_ERROR

    async def _login(self, sid: str, token: Any) -> dict[str, Any]:
        desk = self.engine.desk
        account = desk.authenticate(token) if isinstance(token, str) else None
        if account is None:
            return {"success": False, "reason": "invalid_token", "message": "unknown token"}
        self.hub.bind_player(sid, account.player_id)
        await self.hub.to_socket(sid, "usernameStatus", desk.username_status(account.player_id))
        await self.hub.to_socket(sid, "playerUpdate", desk.player_update(account.player_id))
        return {"success": True, "id": account.player_id, "username": account.username}

    # -- orders --------------------------------------------------------------------------------------------
    async def buy_order(self, sid: str, *args: Any) -> Any:
        return await self._receive(sid, "buyOrder", _payload(args))

    async def sell_order(self, sid: str, *args: Any) -> Any:
        return await self._receive(sid, "sellOrder", _payload(args))

    async def request_sidebet(self, sid: str, *args: Any) -> Any:
        return await self._receive(sid, "requestSidebet", _payload(args))

    async def _receive(self, sid: str, event: str, payload: Any) -> Any:
        """Record the order in the ground truth, handle it, record its outcome; returns the ack to send, or
        ``not_handled`` (no ack at all) when the lost-ack fault strikes."""
        hub = self.hub
        conn = hub.connections.get(sid) or hub.closed.get(sid)  # read before a cut, handled after it
        record = self.engine.receive_order(
            conn.player_id if conn is not None else None,
            event,
            payload,
            now_ms(),
            conn.ordinal if conn is not None else None,
        )
        try:
            ack = await self._order(sid, event, payload)
        except Exception:
            self.errors += 1
            log.exception("%s from %s failed", event, sid)
            ack = INTERNAL_ERROR
        conn = hub.connections.get(sid)  # still open: its faults apply (a closed one's ack goes nowhere)
        lost = conn is not None and conn.faults is not None and conn.faults.lose_ack()
        record.settle(ack, ack_lost=lost)
        return self.sio.not_handled if lost else ack

    async def _order(self, sid: str, event: str, payload: Any) -> dict[str, Any]:
        """Execute at the current tick; events go out (trade, player updates) before the ack."""
        conn = self.hub.connections.get(sid)
        if conn is None and sid in self.hub.closed:
            return DISCONNECTED
        if conn is None or conn.player_id is None:
            return NOT_AUTHENTICATED
        try:
            outcome = self.engine.submit(conn.player_id, event, payload, now_ms())
        except Exception:
            self.errors += 1
            log.exception("%s from %s failed", event, sid)
            return INTERNAL_ERROR
        try:
            await self.hub.deliver(outcome.emissions)
        except Exception:  # executed all the same: the ack must say so, whatever became of the events
            self.errors += 1
            log.exception("%s from %s: sending its events failed", event, sid)
        return outcome.ack

    # -- everything else -----------------------------------------------------------------------------------
    async def ping(self, sid: str, *args: Any) -> None:
        """The web client's app-level ``ping {"lastPing"}``: acknowledged, nothing else."""
        return None

    async def any_event(self, event: str, sid: str, *args: Any) -> None:
        """Events we do not implement (chat, leaderboards...) are ignored, never fatal."""
        return None
