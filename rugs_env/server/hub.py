"""Delivery: who is connected, and getting each event to the right sockets cheaply and safely.

- Encode once: a broadcast is JSON-encoded once into one Engine.IO packet object (whose encoding is cached),
  and that object is queued on every recipient's socket. python-socketio's own ``emit`` also encodes once,
  but spawns a task per recipient; we queue directly (``eio.send_packet`` never blocks: the per-socket queue
  is unbounded), which keeps a broadcast to N sockets at N queue puts.
- Slow clients: a socket whose queue already holds ``client_backlog_limit`` packets is not sent
  ``gameStateUpdate`` messages (counted as skipped; the next ones carry ``partialPrices`` to catch up); past
  four times the limit it is disconnected. Memory per client is therefore bounded whatever the speed.
- Faults: per-connection (see :mod:`rugs_env.server.faults`): on ``gameStateUpdate`` broadcasts, and late
  personal updates (:meth:`Hub.to_player` holds them; :meth:`Hub.on_step`, called by the clock every step,
  sends them when due). Lost acks are decided by the socket app.
"""

from __future__ import annotations

import logging
import math
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

import socketio
from engineio import packet as eio_packet
from socketio import packet as sio_packet

from rugs_env.server.config import ServerConfig
from rugs_env.server.faults import ConnectionFaults
from rugs_env.server.wire import Emission, StateEncoder, TraceIds, args_for

log = logging.getLogger(__name__)
STATE_EVENT = "gameStateUpdate"
_STATE_PREFIX = f'{sio_packet.EVENT}["{STATE_EVENT}",'
HARD_LIMIT_FACTOR = 4
CLOSED_KEPT = 1024  # closed connections remembered (an order read before a cut is handled after it)


@dataclass(slots=True)
class Connection:
    """One connected socket."""

    sid: str
    eio_sid: str
    ordinal: int
    player_id: str | None = None
    faults: ConnectionFaults | None = None
    skipped: int = 0  # gameStateUpdates not sent because the client was too far behind
    transport: Any = None  # the TCP transport of a websocket-from-the-start connection (to drop it)


@dataclass(slots=True)
class HubCounters:
    connections_total: int = 0
    slow_disconnects: int = 0
    fault_disconnects: int = 0
    skipped_slow: int = 0
    packets_queued: int = 0
    faults: dict[str, int] = field(default_factory=dict)  # totals over closed connections


class Hub:
    """The registry of connections and the send path (all sends go through here)."""

    def __init__(self, sio: socketio.AsyncServer, config: ServerConfig, traces: TraceIds) -> None:
        self.sio = sio
        self.config = config
        self.traces = traces
        self.connections: dict[str, Connection] = {}
        self.closed: OrderedDict[str, Connection] = OrderedDict()  # the last CLOSED_KEPT removed, by sid
        self.by_player: dict[str, set[str]] = {}
        self.counters = HubCounters()
        # eio sid -> TCP transport of a polling connection's websocket upgrade (see SocketApp.track_upgrades)
        self.upgrades: dict[str, Any] = {}
        self._seed = config.seed
        self._limit = config.client_backlog_limit
        self._states = StateEncoder()
        self.clock = 0.0  # game time of the last step (late personal updates are due relative to it)
        self._late: set[str] = set()  # sids holding late personal updates

    # -- registry ----------------------------------------------------------------------------------------
    def add(self, sid: str, game_time: float, environ: dict[str, Any] | None = None) -> Connection:
        eio_sid = self.sio.manager.eio_sid_from_sid(sid, "/")
        ordinal = self.counters.connections_total
        self.counters.connections_total += 1
        conn = Connection(sid, eio_sid, ordinal)
        environ = environ or {}
        if environ.get("HTTP_UPGRADE", "").lower() == "websocket":  # the request *is* the websocket
            request = environ.get("aiohttp.request")
            conn.transport = getattr(request, "transport", None)
        if self.config.faults.per_connection:
            conn.faults = ConnectionFaults.seeded(self.config.faults, self._seed, ordinal, game_time)
        self.connections[sid] = conn
        return conn

    def remove(self, sid: str) -> None:
        conn = self.connections.pop(sid, None)
        if conn is None:
            return
        self.upgrades.pop(conn.eio_sid, None)
        self.closed[sid] = conn
        if len(self.closed) > CLOSED_KEPT:
            self.closed.popitem(last=False)
        self._late.discard(sid)
        if conn.faults is not None:
            conn.faults.late.clear()  # what it held goes with it, like a dead network connection's data
            totals = self.counters.faults
            for name, count in conn.faults.counts().items():
                totals[name] = totals.get(name, 0) + count
        if conn.player_id is not None:
            sids = self.by_player.get(conn.player_id)
            if sids is not None:
                sids.discard(sid)
                if not sids:
                    del self.by_player[conn.player_id]

    def bind_player(self, sid: str, player_id: str) -> None:
        conn = self.connections.get(sid)
        if conn is None:
            return
        if conn.player_id is not None and conn.player_id != player_id:
            self.by_player.get(conn.player_id, set()).discard(sid)
        conn.player_id = player_id
        self.by_player.setdefault(player_id, set()).add(sid)

    def players_online(self) -> list[str]:
        return list(self.by_player)

    def fault_counts(self) -> dict[str, int]:
        """Faults injected so far, over every connection (closed and open)."""
        totals = dict(self.counters.faults)
        for conn in self.connections.values():
            if conn.faults is not None:
                for name, count in conn.faults.counts().items():
                    totals[name] = totals.get(name, 0) + count
        return totals

    # -- encoding ----------------------------------------------------------------------------------------
    def packet(self, event: str, payload: Any) -> eio_packet.Packet:
        """One Engine.IO packet for an event (trace object first where the real server puts one)."""
        if event == STATE_EVENT and isinstance(payload, dict):
            # the hot path: '2["gameStateUpdate",{...}]' with the shared parts' JSON reused
            return eio_packet.Packet(eio_packet.MESSAGE, _STATE_PREFIX + self._states.dumps(payload) + "]")
        return self.packet_args(event, args_for(event, payload, self.traces))

    def packet_args(self, event: str, args: list[Any]) -> eio_packet.Packet:
        text = self.sio.packet_class(
            sio_packet.EVENT, data=[event, *args], namespace="/", binary=False
        ).encode()
        return eio_packet.Packet(eio_packet.MESSAGE, text)

    # -- sending -----------------------------------------------------------------------------------------
    async def _queue(self, conn: Connection, pkt: eio_packet.Packet, droppable: bool) -> None:
        sock = self.sio.eio.sockets.get(conn.eio_sid)
        if sock is None or sock.closed:
            return
        backlog = sock.queue.qsize()
        if backlog >= self._limit:
            if backlog >= self._limit * HARD_LIMIT_FACTOR:
                self.counters.slow_disconnects += 1
                log.warning("dropping %s: %d packets behind", conn.sid, backlog)
                await self.drop(conn.sid)
                return
            if droppable:
                conn.skipped += 1
                self.counters.skipped_slow += 1
                return
        self.counters.packets_queued += 1
        await self.sio.eio.send_packet(conn.eio_sid, pkt)

    async def _send_state(self, conn: Connection, pkt: eio_packet.Packet, payload: Any) -> None:
        if conn.faults is None:
            await self._queue(conn, pkt, True)
            return
        for out in conn.faults.route(pkt, payload, lambda bad: self.packet(STATE_EVENT, bad)):
            await self._queue(conn, out, True)

    async def broadcast(self, event: str, payload: Any) -> None:
        if not self.connections:
            return  # nobody to encode for
        pkt = self.packet(event, payload)
        if event == STATE_EVENT:
            for conn in list(self.connections.values()):
                await self._send_state(conn, pkt, payload)
        else:
            for conn in list(self.connections.values()):
                await self._queue(conn, pkt, False)

    async def to_player(self, player_id: str, event: str, payload: Any) -> None:
        sids = self.by_player.get(player_id)
        if not sids:
            return  # bots and offline players have no sockets
        pkt = self.packet(event, payload)
        for sid in list(sids):
            conn = self.connections.get(sid)
            if conn is None:
                continue
            if conn.faults is not None and conn.faults.hold(event, pkt, self.clock):
                self._late.add(sid)
                continue
            await self._queue(conn, pkt, False)

    async def on_step(self, game_time: float) -> None:
        """The game clock is at ``game_time`` (a step begins): send the late personal updates now due
        (``math.inf``: all of them, when the games have run out)."""
        if not math.isinf(game_time):
            self.clock = game_time
        for sid in list(self._late):
            conn = self.connections.get(sid)
            if conn is None or conn.faults is None:
                self._late.discard(sid)
                continue
            for pkt in conn.faults.due(game_time):
                await self._queue(conn, pkt, False)
            if not conn.faults.late:
                self._late.discard(sid)

    async def to_socket(self, sid: str, event: str, payload: Any) -> None:
        conn = self.connections.get(sid)
        if conn is not None:
            await self._queue(conn, self.packet(event, payload), False)

    async def deliver(self, emissions: list[Emission]) -> None:
        """Send a frame's (or an order's) events, in order."""
        for em in emissions:
            if em.player_id is None:
                await self.broadcast(em.event, em.payload)
            else:
                await self.to_player(em.player_id, em.event, em.payload)

    async def apply_disconnect_faults(self, game_time: float) -> None:
        """Drop the connections whose scheduled fault disconnect has come."""
        for conn in list(self.connections.values()):
            if conn.faults is not None and conn.faults.disconnect_due(game_time):
                self.counters.fault_disconnects += 1
                await self.drop(conn.sid)

    async def drop(self, sid: str) -> None:
        """Cut a connection the way a network failure would, so the client's reconnection logic runs.

        A websocket connection (from the start, or upgraded from long-polling) has its TCP transport
        aborted, with no close handshake. A connection still on long-polling gets an Engine.IO close.
        """
        conn = self.connections.get(sid)
        transport = None
        if conn is not None:
            transport = conn.transport or self.upgrades.get(conn.eio_sid)
        if transport is not None and not transport.is_closing():
            transport.abort()
            self.remove(sid)
            return
        sock = self.sio.eio.sockets.get(conn.eio_sid) if conn is not None else None
        if sock is not None:
            try:
                await sock.close(wait=False)
            except Exception:  # a socket already half gone must not take the server with it
                log.exception("error while closing %s", sid)
        self.remove(sid)
