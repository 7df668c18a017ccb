"""The pipeline's configuration, counters and log limiter (kept apart so the pipeline stays readable)."""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from recorder.files import GameSource, SessionSource
from rugs_env import __version__

log = logging.getLogger("recorder.pipeline")


# Events seen on the real feed that carry nothing a recording needs (PROTOCOL.md §3.10).
IGNORED_EVENTS = frozenset(
    {
        "connect",
        "disconnect",
        "newChatMessage",
        "goldenHourUpdate",
        "goldenHourDrawing",
        "battleEventUpdate",
        "rugRoyaleUpdate",
        "sidebetEventUpdate",
        "maintenanceUpdate",
        "rugPassQuestCompleted",
        "rugpassStatus",
        "inboxMessages",
        "playerCosmetics",
        "mutedPlayers",
        "leaderboardData",
        "chatHistory",
        "playerLeaderboardPosition",
    }
)


class Health(Protocol):
    def on_tick(self, at: datetime, game_id: str, tick: int) -> None: ...


@dataclass(slots=True)
class PipelineConfig:
    """How the pipeline records (see ``rugs record --help`` for the user-facing side)."""

    follow: tuple[str, ...] = ()
    start_balance: int | None = None  # lamports; None: unknown (the "minimal" basis)
    tolerance: int = 0  # lamports (and nano-tokens) of allowed drift
    live_source: GameSource = GameSource.LIVE
    session_source: SessionSource = SessionSource.LIVE
    session_write_interval: float = 2.0  # seconds of event time between rewrites of a growing session
    recorder_version: str = __version__


class _Limited:
    """Log the first few occurrences of each kind of problem, then every thousandth."""

    def __init__(self, first: int = 3) -> None:
        self.counts: Counter[str] = Counter()
        self.first = first

    def __call__(self, kind: str, message: str, *args: Any) -> None:
        self.counts[kind] += 1
        n = self.counts[kind]
        if n <= self.first or n % 1000 == 0:
            log.warning(f"{message} (#%d of this kind)", *args, n)
        else:
            log.debug(message, *args)


@dataclass(slots=True)
class PipelineCounters:
    events: int = 0
    malformed: int = 0
    unknown: int = 0
    ignored: int = 0
    duplicates: int = 0
    errors: int = 0  # handler bugs caught (should stay 0)
