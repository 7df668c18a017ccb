"""Per-connection fault injection: what a flaky network and a sloppy server would do to one socket's feed.

Each connection gets its own generator derived from the run's seed and the connection's ordinal, so a seeded
run with the same clients in the same order sees the same faults. Faults only change what one socket is
sent; the engine's ground truth is untouched. The game-wide pause lives in the engine (it stops the clock).

For every ``gameStateUpdate`` a connection would get, in this order:

- malformed (``malformed_rate``): a broken ``gameStateUpdate`` is sent first (a field missing, a field of
  the wrong type, or garbage instead of an object);
- drop (``drop_rate``): the message is not sent;
- reorder (``reorder_rate``): it is held back and sent right after the connection's next one;
- duplicate (``duplicate_rate``): it is sent twice.

``disconnect_every_s``: the connection is dropped after that much game time (first time at a random point
of the period, so connections do not all drop together).
"""

from __future__ import annotations

import random
from typing import Any

from rugs_env.server.config import FaultConfig

_GARBAGE: tuple[Any, ...] = ("garbage", "", 42, None, [], ["gameStateUpdate"], "\u0000\ufffd{not json")
_WRONG_TYPES: dict[str, Any] = {
    "price": "1.0",
    "tickCount": "12",
    "gameId": 12345,
    "active": "true",
    "rugged": 0,
    "cooldownTimer": None,
    "leaderboard": {"rows": []},
    "partialPrices": [1, 2, 3],
    "provablyFair": "v3",
}


def malformed_copy(payload: Any, rng: random.Random) -> Any:
    """A broken version of a ``gameStateUpdate`` payload: missing field, wrong type or plain garbage."""
    kind = rng.randrange(3)
    if kind == 2 or not isinstance(payload, dict) or not payload:
        return rng.choice(_GARBAGE)
    broken = dict(payload)
    keys = sorted(broken)
    if kind == 0:
        del broken[rng.choice(keys)]
    else:
        candidates = [k for k in keys if k in _WRONG_TYPES] or keys
        key = rng.choice(candidates)
        broken[key] = _WRONG_TYPES.get(key, "wrong-type")
    return broken


class ConnectionFaults:
    """The fault state of one connection; :meth:`route` decides what to send for each state message."""

    __slots__ = ("_cfg", "_rng", "_held", "disconnect_at", "dropped", "duplicated", "reordered", "malformed")

    def __init__(self, cfg: FaultConfig, rng: random.Random, connected_at: float) -> None:
        self._cfg = cfg
        self._rng = rng
        self._held: Any = None
        every = cfg.disconnect_every_s
        self.disconnect_at = connected_at + every * (0.5 + rng.random()) if every > 0 else None
        self.dropped = self.duplicated = self.reordered = self.malformed = 0

    def route(self, packet: Any, payload: Any, make_packet: Any) -> list[Any]:
        """The packets to send, in order, in place of ``packet`` (the encoded ``payload``).

        ``make_packet(payload)`` encodes a malformed payload; it is only called when one is injected.
        """
        cfg, rng = self._cfg, self._rng
        out: list[Any] = []
        if cfg.malformed_rate and rng.random() < cfg.malformed_rate:
            out.append(make_packet(malformed_copy(payload, rng)))
            self.malformed += 1
        if cfg.drop_rate and rng.random() < cfg.drop_rate:
            self.dropped += 1
            return out
        if cfg.reorder_rate and self._held is None and rng.random() < cfg.reorder_rate:
            self._held = packet
            self.reordered += 1
            return out
        out.append(packet)
        if cfg.duplicate_rate and rng.random() < cfg.duplicate_rate:
            out.append(packet)
            self.duplicated += 1
        if self._held is not None:
            out.append(self._held)
            self._held = None
        return out

    def disconnect_due(self, game_time: float) -> bool:
        """Whether this connection's scheduled drop has come (game time, seconds)."""
        return self.disconnect_at is not None and game_time >= self.disconnect_at

    def counts(self) -> dict[str, int]:
        return {
            "dropped": self.dropped,
            "duplicated": self.duplicated,
            "reordered": self.reordered,
            "malformed": self.malformed,
        }
