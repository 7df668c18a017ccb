"""The market as orders see it: which game, which phase, which tick and price (owned by the engine)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from rugs_env.server.games import GameSpec


class Phase(StrEnum):
    """Where the current game is (PROTOCOL.md §2)."""

    IDLE = "idle"  # before the first game / after the last one
    COOLDOWN = "cooldown"  # timer 15000..10100: nothing can be done
    PRESALE = "presale"  # timer 10000..100: buys at 1.0 and sidebets (start tick 0); no sells
    ACTIVE = "active"  # ticks 0..rug_tick-1: buy, sell, sidebet
    RUGGED = "rugged"  # from the rug tick until the next game: nothing


@dataclass(slots=True)
class Market:
    """Mutable view of the current game, updated by the engine before each frame."""

    spec: GameSpec | None = None
    phase: Phase = Phase.IDLE
    tick: int = 0
    price: float = 1.0
    timer: int = 0  # cooldownTimer (ms) in cooldown/presale

    @property
    def game_id(self) -> str:
        return self.spec.game_id if self.spec is not None else ""

    @property
    def can_buy(self) -> bool:
        return self.phase in (Phase.PRESALE, Phase.ACTIVE)

    @property
    def can_sell(self) -> bool:
        return self.phase is Phase.ACTIVE

    @property
    def execution_price(self) -> float:
        """Fills happen at the current tick's price; presale buys at exactly 1.0."""
        return 1.0 if self.phase is Phase.PRESALE else self.price

    @property
    def execution_tick(self) -> int:
        """Presale trades and sidebets carry tick 0."""
        return 0 if self.phase is Phase.PRESALE else self.tick
