"""Configuration of the local server: what it serves, how fast, who may trade, and which faults it injects.

Everything here is plain data (dataclasses), so a test can build a config in one expression and the CLI maps
its options one to one onto the fields. Amounts are SOL as decimal strings or numbers (converted to exact
lamports by :func:`rugs_env.game.money.to_nano`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rugs_env.game.money import MoneyFormatError, to_nano

DEFAULT_BALANCE_SOL = "10"


# the FaultConfig fields that are probabilities
RATES = ("drop_rate", "duplicate_rate", "reorder_rate", "malformed_rate", "lost_ack_rate", "late_update_rate")


class ConfigError(ValueError):
    """An invalid server configuration (bad option value, unreadable players file...)."""


@dataclass(slots=True)
class FaultConfig:
    """Faults injected per connection (all deterministic under the server seed).

    The first four rates are probabilities per ``gameStateUpdate`` a connection would receive,
    ``lost_ack_rate`` per order event it sends, ``late_update_rate`` per personal update it would receive
    (see :mod:`rugs_env.server.faults`); times are seconds of *game* time (scaled by ``--speed`` like every
    interval). Faults only touch what is sent: the server's own ground truth is never affected.
    """

    drop_rate: float = 0.0  # this fraction of gameStateUpdate messages is not sent
    duplicate_rate: float = 0.0  # ... is sent twice in a row
    reorder_rate: float = 0.0  # ... is held back and sent after the connection's next gameStateUpdate
    malformed_rate: float = 0.0  # ... is preceded by a malformed gameStateUpdate (missing/wrong/garbage)
    disconnect_every_s: float = 0.0  # drop each connection after ~this much game time (x0.5-1.5; 0 = never)
    pause_every_s: float = 0.0  # the whole game stalls (no messages at all) this often (0 = never)...
    pause_duration_s: float = 0.0  # ... for this long
    lost_ack_rate: float = 0.0  # this fraction of orders is executed (or refused) but never acknowledged
    late_update_rate: float = 0.0  # this fraction of a player's own playerUpdate messages is held back...
    late_update_s: float = 1.0  # ... for this long (game time), then sent
    late_state_updates: bool = False  # gameStatePlayerUpdate messages may be held back too

    @property
    def per_connection(self) -> bool:
        """Whether any fault acts on individual connections (the send path then checks each send)."""
        return any(getattr(self, name) > 0 for name in RATES) or self.disconnect_every_s > 0

    @property
    def enabled(self) -> bool:
        return self.per_connection or (self.pause_every_s > 0 and self.pause_duration_s > 0)

    def validate(self) -> None:
        for name in RATES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value!r}")
        for name in ("disconnect_every_s", "pause_every_s", "pause_duration_s", "late_update_s"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ConfigError(f"{name} must be a finite number >= 0, got {value!r}")

    @classmethod
    def everything(cls, rate: float = 0.05) -> FaultConfig:
        """Every fault at once (used by the soak test and handy for recorder tests)."""
        return cls(
            drop_rate=rate,
            duplicate_rate=rate,
            reorder_rate=rate,
            malformed_rate=rate,
            disconnect_every_s=30.0,
            pause_every_s=60.0,
            pause_duration_s=2.0,
            lost_ack_rate=rate,
            late_update_rate=rate,
            late_update_s=1.0,
            late_state_updates=True,
        )


@dataclass(slots=True)
class PlayerSpec:
    """A human (or agent) account: the token that authenticates it, its identity and starting balance."""

    token: str
    player_id: str
    username: str
    balance_lamports: int
    level: int = 1

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> PlayerSpec:
        """``{"token", "id" (did:privy:...), "username", "balance" (SOL, string or number), "level"?}``."""
        try:
            token, player_id, username = str(obj["token"]), str(obj["id"]), str(obj["username"])
            balance = to_nano(obj.get("balance", DEFAULT_BALANCE_SOL))
            level = int(obj.get("level", 1))
        except (KeyError, TypeError, ValueError, MoneyFormatError) as exc:
            raise ConfigError(f"bad player entry {obj!r}: {exc}") from exc
        if not token or not player_id.startswith("did:privy:") or balance < 0:
            raise ConfigError(f"bad player entry {obj!r}: need a token, a did:privy: id and a balance >= 0")
        return cls(token=token, player_id=player_id, username=username, balance_lamports=balance, level=level)


def load_players(path: str | Path) -> list[PlayerSpec]:
    """A players file: ``{"players": [{...}, ...]}`` or a bare list (see :meth:`PlayerSpec.from_json`)."""
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read players file {path}: {exc}") from exc
    entries = doc.get("players") if isinstance(doc, dict) else doc
    if not isinstance(entries, list):
        raise ConfigError(f'{path}: expected a list of players or {{"players": [...]}}')
    players = [PlayerSpec.from_json(e) for e in entries]
    if len({p.token for p in players}) != len(players):
        raise ConfigError(f"{path}: duplicate tokens")
    return players


@dataclass(slots=True)
class ServerConfig:
    """How the server runs. Defaults give a real-time server on a free loopback port with fresh seeds."""

    host: str = "127.0.0.1"
    port: int = 0  # 0 = a free port, reported by the running server
    speed: float = 1.0  # every interval is divided by this; math.inf = as fast as the machine goes
    seed: int | None = None  # makes games, bots and faults reproducible
    bots: int = 0
    replay_dir: Path | None = None  # serve recorded games instead of fresh ones
    players: list[PlayerSpec] = field(default_factory=list)
    open_registration: bool = False  # unknown tokens get a fresh account (balance default_balance_lamports)
    default_balance_lamports: int = 10 * 1_000_000_000
    faults: FaultConfig = field(default_factory=FaultConfig)
    # Test hook: serve these games first, in order. Items are (server_seed, game_id) pairs,
    # (server_seed, game_id, rug_price) triples or GameSpec objects; then fresh (or replayed) games follow.
    games: list[Any] = field(default_factory=list)
    max_games: int | None = None  # stop the game loop after this many games (None = forever)
    manual_clock: bool = False  # tests: no clock task; the test drives steps (RugsServer.step/step_until)
    history_prefill: int = (
        10  # finished games invented at start so gameHistory is full from the first message
    )
    broadcast_liquidations: bool = False  # forced sells at the rug: public newTrade (True) or owner only
    post_rug_delay_s: float = 1.5  # rug tick -> post-rug full message (game time)
    next_game_delay_s: float = 0.3  # post-rug message -> next game's first cooldown message
    client_backlog_limit: int = 1000  # packets queued for one socket before its gameStateUpdates are skipped
    truth_max_games: int = 10_000  # games kept in the ground truth (oldest dropped first; fills are kept)
    truth_max_orders: int = 100_000  # orders received kept in the ground truth (oldest dropped first)

    def validate(self) -> None:
        if not (self.speed > 0):
            raise ConfigError(f"speed must be > 0, got {self.speed!r}")
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be in 0..65535, got {self.port}")
        if self.bots < 0 or self.bots > 1000:
            raise ConfigError(f"bots must be in 0..1000, got {self.bots}")
        if self.max_games is not None and self.max_games < 1:
            raise ConfigError("max_games must be >= 1")
        if self.truth_max_games < 1 or self.truth_max_orders < 1:
            raise ConfigError("truth_max_games and truth_max_orders must be >= 1")
        if self.client_backlog_limit < 10:
            raise ConfigError("client_backlog_limit must be >= 10")
        if len({p.token for p in self.players}) != len(self.players):
            raise ConfigError("duplicate player tokens")
        self.faults.validate()
