"""Ground truth of the orders the server received: every order event from a socket, as it came, and its fate.

Fills (:class:`rugs_env.server.truth.PlayerRecord`) say what happened to an account; this log says what was
*asked*: each ``buyOrder``, ``sellOrder`` and ``requestSidebet`` event a socket sent, including the refused,
the malformed and the unauthenticated ones, with the orders placed in-process by
:meth:`rugs_env.server.runner.RugsServer.order` (``connection`` None). Bots' orders are not in it (they have
no sockets; their fills are). A test that must prove "the server received each order once" or "no order
over the limit was ever sent" reads it here instead of spying on the server.

One :class:`OrderRecord` per order event, in the order received::

    {"seq": 12, "time_ms": 1735689600123, "player_id": "did:privy:..." | "unauthenticated",
     "connection": 3, "event": "buyOrder", "payload": {"amount": 0.01}, "payload_note": null,
     "game_id": "20250101-...", "phase": "active", "tick": 17,
     "outcome": "filled" | "refused" | "pending", "reason": null | "<refusal code>", "ack_lost": false}

- ``seq`` counts from 1 over the whole run (records dropped for room keep their numbers: page with
  ``since``); ``time_ms`` is wall time when received (the clock of fills' timestamps); ``game_id``,
  ``phase`` and ``tick`` are the market's when received.
- ``player_id``: the account of the socket when the order came (a socket the server had just cut is still
  known: its orders are refused ``disconnected``); ``"unauthenticated"`` for a socket not logged in.
- ``connection``: the ordinal of the socket (its number among every connection of the run); None for an
  order placed in-process.
- ``payload``: the last argument as received (the trace object, when present, comes first and is not
  kept). A payload that is not JSON, or whose JSON is over ``MAX_PAYLOAD_CHARS``, is kept as a string
  prefix with ``payload_note`` ``"not_json"`` / ``"truncated"``.
- ``outcome``: ``"filled"`` when the order path executed it (a sidebet placed counts as filled),
  ``"refused"`` with the refusal code in ``reason`` (the ack's ``reason``: ``not_authenticated``,
  ``invalid_payload``, ``insufficient_cash``...), ``"pending"`` while it is being handled.
- ``ack_lost``: the lost-ack fault withheld its acknowledgement (the order was handled all the same).

Bounded: at most ``max_orders`` records are kept, the oldest dropped first
(``ServerConfig.truth_max_orders``).
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

UNAUTHENTICATED = "unauthenticated"
MAX_PAYLOAD_CHARS = 2048


@dataclass(slots=True)
class OrderRecord:
    """One order event received (see the module docstring for the fields)."""

    seq: int
    time_ms: int
    player_id: str
    connection: int | None
    event: str
    payload: Any
    payload_note: str | None
    game_id: str
    phase: str
    tick: int
    outcome: str = "pending"
    reason: str | None = None
    ack_lost: bool = False

    @property
    def filled(self) -> bool:
        return self.outcome == "filled"

    def settle(self, ack: Any, *, ack_lost: bool = False) -> None:
        """Record the order path's answer (its ack, whether or not it is then sent)."""
        if isinstance(ack, dict) and ack.get("success") is True:
            self.outcome, self.reason = "filled", None
        else:
            reason = ack.get("reason") if isinstance(ack, dict) else None
            self.outcome, self.reason = "refused", str(reason) if reason else "refused"
        self.ack_lost = ack_lost

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "time_ms": self.time_ms,
            "player_id": self.player_id,
            "connection": self.connection,
            "event": self.event,
            "payload": self.payload,
            "payload_note": self.payload_note,
            "game_id": self.game_id,
            "phase": self.phase,
            "tick": self.tick,
            "outcome": self.outcome,
            "reason": self.reason,
            "ack_lost": self.ack_lost,
        }


def as_received(payload: Any) -> tuple[Any, str | None]:
    """The payload to keep and its note: itself when it is small JSON, else a string prefix."""
    try:
        text = json.dumps(payload)
    except (TypeError, ValueError, RecursionError):
        return repr(payload)[:MAX_PAYLOAD_CHARS], "not_json"
    if len(text) > MAX_PAYLOAD_CHARS:
        return text[:MAX_PAYLOAD_CHARS], "truncated"
    return payload, None


class OrderLog:
    """The bounded, ordered log of :class:`OrderRecord` (written by the socket app, read by tests)."""

    def __init__(self, max_orders: int = 100_000) -> None:
        self._records: deque[OrderRecord] = deque(maxlen=max_orders)
        self.received = 0  # order events received over the run (kept or not)

    def receive(
        self,
        player_id: str | None,
        event: str,
        payload: Any,
        *,
        time_ms: int,
        game_id: str,
        phase: str,
        tick: int,
        connection: int | None,
    ) -> OrderRecord:
        """A new order event (outcome ``pending`` until :meth:`OrderRecord.settle`)."""
        self.received += 1
        kept, note = as_received(payload)
        record = OrderRecord(
            self.received, time_ms, player_id or UNAUTHENTICATED, connection, event, kept, note,
            game_id, phase, tick,
        )  # fmt: skip
        self._records.append(record)
        return record

    @property
    def dropped(self) -> int:
        """Records dropped for room (the oldest first)."""
        return self.received - len(self._records)

    def __iter__(self) -> Iterator[OrderRecord]:
        return iter(self._records)

    def select(self, player_id: str | None = None, since: int = 0) -> list[OrderRecord]:
        """The records of ``player_id`` (all: None; ``"unauthenticated"``: sockets not logged in) with
        ``seq > since``, in the order received."""
        return [r for r in self._records if r.seq > since and (player_id is None or r.player_id == player_id)]
