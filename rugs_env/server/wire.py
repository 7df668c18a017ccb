"""Wire-level details shared by the message builders and the socket app.

- Numbers: the real server is JavaScript, so an integral double is written ``1`` rather than ``1.0``
  (``"price":1`` at tick 0, ``"pnl":0``). :func:`num` gives Python's json the same spelling.
- Trace objects: many events carry ``{"__trace": true, "traceparent": "00-<32 hex>-<16 hex>-01"}`` as their
  first argument (PROTOCOL.md §1); :data:`TRACED_EVENTS` lists them.
"""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from typing import Any

_MAX_EXACT_INT = 2.0**53
_encode = json.JSONEncoder(separators=(",", ":")).encode  # python-socketio's own encoding of event data
_encode_str = json.encoder.encode_basestring_ascii

# Events the real server sends with a trace object first (PROTOCOL.md §1, "Observed with trace").
TRACED_EVENTS: frozenset[str] = frozenset(
    {
        "standard/newTrade",
        "newChatMessage",
        "goldenHourUpdate",
        "goldenHourDrawing",
        "battleEventUpdate",
        "sidebetEventUpdate",
        "maintenanceUpdate",
        "usernameStatus",
        "currentSidebet",
        "currentSidebetResult",
        "playerLeaderboardPosition",
        "leaderboardData",
        "inboxMessages",
        "mutedPlayers",
        "playerCosmetics",
        "rugpassStatus",
    }
)


def num(value: float) -> float | int:
    """A double as JavaScript's JSON would spell it: integral values without a fraction."""
    if value == value and -_MAX_EXACT_INT < value < _MAX_EXACT_INT and value == int(value):
        return int(value)
    return value


class TraceIds:
    """W3C ``traceparent`` objects from a seeded generator (so a seeded run is byte-reproducible)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng

    def new(self) -> dict[str, Any]:
        bits = self._rng.getrandbits
        return {"__trace": True, "traceparent": f"00-{bits(128):032x}-{bits(64):016x}-01"}


def args_for(event: str, payload: Any, traces: TraceIds) -> list[Any]:
    """The event's argument list as sent: ``[trace, payload]`` for traced events, else ``[payload]``."""
    if event in TRACED_EVENTS:
        return [traces.new(), payload]
    return [payload]


class Emission:
    """One event to send: to every socket (``player_id`` None) or to the sockets of one player."""

    __slots__ = ("event", "payload", "player_id")

    def __init__(self, event: str, payload: Any, player_id: str | None = None) -> None:
        self.event = event
        self.payload = payload
        self.player_id = player_id

    def __repr__(self) -> str:
        to = f" to {self.player_id}" if self.player_id else ""
        return f"Emission({self.event}{to})"


class StateEncoder:
    """JSON text of ``gameStateUpdate`` payloads that reuses the text of sub-objects shared between messages.

    Consecutive messages share most of their bulk by identity (the leaderboard rows until they change,
    ``gameHistory`` and the day records for a whole game, ``rugpool``, ``provablyFair``...), so the text of
    every list/dict value is memoised by object identity (the object is kept alive with its text, so an id is
    never reused while memoised). The result is byte-identical to ``json.dumps(payload,
    separators=(",", ":"))``, which is what python-socketio would have produced. Shared objects must not be
    mutated after being sent (the engine builds new ones when something changes).
    """

    def __init__(self, size: int = 128) -> None:
        self._memo: OrderedDict[int, tuple[Any, str]] = OrderedDict()
        self._keys: dict[str, str] = {}
        self._size = size
        self._last_board: Any = None

    def _container(self, value: Any) -> str:
        memo = self._memo
        hit = memo.get(id(value))
        if hit is not None and hit[0] is value:
            return hit[1]
        text = _encode(value)
        memo[id(value)] = (value, text)
        if len(memo) > self._size:
            memo.popitem(last=False)
        return text

    def dumps(self, payload: Any) -> str:
        if type(payload) is not dict:
            return _encode(payload)
        board = payload.get("leaderboard")
        repeated = board is self._last_board
        self._last_board = board
        if not repeated and "gameHistory" not in payload:
            # a tick message: its leaderboard is new (PnL moves with the price), nothing big to reuse,
            # and the C encoder in one call beats assembling the parts
            return _encode(payload)
        parts = []
        keys = self._keys
        for key, value in payload.items():
            prefix = keys.get(key)
            if prefix is None:
                prefix = keys[key] = _encode(key) + ":"
            kind = type(value)
            if kind is str:
                text = _encode_str(value)
            elif kind is bool:
                text = "true" if value else "false"
            elif kind is int:
                text = int.__repr__(value)
            elif value is None:
                text = "null"
            elif (kind is list or kind is dict) and value:
                text = self._container(value)
            else:  # floats (NaN/inf spelling), empty containers, anything else: the stdlib decides
                text = _encode(value)
            parts.append(prefix + text)
        return "{" + ",".join(parts) + "}"
