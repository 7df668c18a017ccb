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

For every order event the connection sends (``buyOrder``, ``sellOrder``, ``requestSidebet``, authenticated
or not):

- lost ack (``lost_ack_rate``): the order is executed (or refused) exactly as usual, its events go out, but
  its acknowledgement is never sent: the client must find out from the feed what became of it. The ground
  truth of orders marks it ``ack_lost``.

For every ``playerUpdate`` the connection would get as a player's own update (after an order, a sidebet
settling, the rug; not the reply to ``authenticate``), and every ``gameStatePlayerUpdate`` with
``late_state_updates``:

- late (``late_update_rate``): it is held back for ``late_update_s`` of game time (released by the game
  clock: with the first step at least that long after the last step before it was held), then sent.

  Ordering, decided: held messages keep their order among themselves (one fixed delay, first in first out),
  but nothing else waits for them. A newer ``playerUpdate``, the acks of later orders, the next
  ``gameStateUpdate`` messages all overtake a held one, so a client sees a stale account *after* a fresh
  one. The real service gives no ordering guarantee between its emits (PROTOCOL.md §4: 20-450 ms between an
  order's events), and this stale-after-fresh case is exactly the one a live client must not take for
  drift. The reply to ``authenticate`` is never held: it is the client's one fresh view of its account
  (what a client re-authenticates for after a lost ack). Held messages of a connection that goes away are
  lost with it; when the games run out everything held is sent.

Each family (state messages, acks, personal updates) draws from its own generator, so the k-th order of a
connection always has the same fate under a seed, however its orders and state messages interleave.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from rugs_env.server.config import FaultConfig

DUE_SLACK_S = 1e-6  # game time is a sum of step lengths: 0.25 + 0.25 may fall just short of 0.5
PERSONAL_UPDATE = "playerUpdate"
STATE_PLAYER_UPDATE = "gameStatePlayerUpdate"
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
    """The fault state of one connection: :meth:`route` decides what to send for each state message,
    :meth:`lose_ack` whether an order's ack goes out, :meth:`hold` whether a personal update waits."""

    __slots__ = ("_cfg", "_rng", "_ack_rng", "_late_rng", "_held", "late", "disconnect_at", "dropped",
                 "duplicated", "reordered", "malformed", "acks_lost", "updates_late")  # fmt: skip

    def __init__(
        self,
        cfg: FaultConfig,
        rng: random.Random,
        connected_at: float,
        *,
        ack_rng: random.Random | None = None,
        late_rng: random.Random | None = None,
    ) -> None:
        self._cfg = cfg
        self._rng = rng
        self._ack_rng = ack_rng or random.Random()
        self._late_rng = late_rng or random.Random()
        self._held: Any = None
        self.late: deque[tuple[float, Any]] = deque()  # (due game time, packet), due times non-decreasing
        every = cfg.disconnect_every_s
        self.disconnect_at = connected_at + every * (0.5 + rng.random()) if every > 0 else None
        self.dropped = self.duplicated = self.reordered = self.malformed = 0
        self.acks_lost = self.updates_late = 0

    @classmethod
    def seeded(
        cls, cfg: FaultConfig, seed: int | None, ordinal: int, connected_at: float
    ) -> ConnectionFaults:
        """The faults of connection number ``ordinal`` of a run: reproducible under ``seed`` (None: not)."""

        def stream(name: str) -> random.Random:
            if seed is None:
                return random.Random()
            return random.Random(f"rugs-serve:{seed}:conn:{ordinal}{name}")

        return cls(cfg, stream(""), connected_at, ack_rng=stream(":acks"), late_rng=stream(":late"))

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

    def lose_ack(self) -> bool:
        """Whether the acknowledgement of the order just handled is lost (one draw per order)."""
        rate = self._cfg.lost_ack_rate
        if rate and self._ack_rng.random() < rate:
            self.acks_lost += 1
            return True
        return False

    def hold(self, event: str, packet: Any, game_time: float) -> bool:
        """Hold ``packet`` (a personal ``event``) back until ``late_update_s`` after ``game_time``?

        True when held (it is then in :attr:`late` and sent by the hub when due); one draw per eligible
        message."""
        cfg = self._cfg
        if not cfg.late_update_rate or not (
            event == PERSONAL_UPDATE or (event == STATE_PLAYER_UPDATE and cfg.late_state_updates)
        ):
            return False
        if self._late_rng.random() >= cfg.late_update_rate:
            return False
        self.late.append((game_time + cfg.late_update_s, packet))
        self.updates_late += 1
        return True

    def due(self, game_time: float) -> list[Any]:
        """The held packets due at ``game_time`` (all of them with ``math.inf``), in the order held."""
        out: list[Any] = []
        late = self.late
        while late and late[0][0] <= game_time + DUE_SLACK_S:
            out.append(late.popleft()[1])
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
            "acks_lost": self.acks_lost,
            "updates_late": self.updates_late,
        }
