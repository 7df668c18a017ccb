"""Cross-game state the feed shows: the last 10 games (``gameHistory``), rolling peak statistics, the day's
record, god-candle records and the rugpool counter (PROTOCOL.md §3.1).

Updated once per finished game; the full message's cross-game block is cached between games, so building
a full message costs nothing but the per-game fields.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rugs_env.game import constants as C
from rugs_env.server.games import GameSpec
from rugs_env.server.wire import num

HISTORY_SIZE = 10
STATS_WINDOW = 100  # averageMultiplier and countNx are over the last 100 games
GOD_CANDLE_LEVELS = (2, 10, 50)
INSTARUG_THRESHOLD = 6  # a game rugging before this tick is an instarug (rugpool config)
RUGPOOL_THRESHOLD = 10
AVAILABLE_SHITCOINS = (
    {
        "address": C.PRACTICE_COIN,
        "ticker": "FREE",
        "name": "Practice SOL",
        "max_bet": 10000,
        "max_win": 100000,
    },
)


@dataclass(slots=True)
class _Record:
    peak: float
    timestamp: int
    prices: list[Any]
    jump: list[float] | None = None


def _day(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y%m%d")


def god_candle_jump(prices: tuple[float, ...]) -> tuple[float, float] | None:
    """``(before, after)`` of the first x10 tick (a v3 god candle), if any: no ordinary move is that big."""
    for before, after in zip(prices, prices[1:], strict=False):
        if before > 0 and after == before * C.GOD_CANDLE_MOVE:
            return before, after
    return None


class GameStats:
    """The feed's cross-game block, maintained incrementally."""

    def __init__(self) -> None:
        self.history: deque[dict[str, Any]] = deque(maxlen=HISTORY_SIZE)
        self._peaks: deque[float] = deque(maxlen=STATS_WINDOW)
        self._today: str | None = None
        self._highest: _Record | None = None
        self._god: dict[int, _Record | None] = {n: None for n in GOD_CANDLE_LEVELS}
        self.instarug_count = 0
        self.rugpool_amount = 0.0
        self._block: dict[str, Any] | None = None
        self._rolling: dict[str, Any] | None = None
        self._pool: dict[str, Any] | None = None

    # -- updates -----------------------------------------------------------------------------------------
    def record_finished(
        self, spec: GameSpec, timestamp_ms: int, global_sidebets: list[dict[str, Any]]
    ) -> dict:
        """Fold a finished game in; returns its ``gameHistory`` entry (the seed revealed)."""
        wire_prices = [num(p) for p in spec.prices] + [num(spec.rug_price)]
        entry = {
            "id": spec.game_id,
            "timestamp": timestamp_ms,
            "prices": wire_prices,
            "peakMultiplier": num(spec.peak),
            "rugged": True,
            "globalTrades": [],
            "globalSidebets": global_sidebets,
            "provablyFair": {"serverSeed": spec.server_seed or "", "serverSeedHash": spec.server_seed_hash},
            "gameVersion": spec.version,
        }
        self.history.appendleft(entry)
        self._peaks.append(spec.peak)
        day = _day(timestamp_ms)
        if day != self._today:  # the day's records reset at UTC midnight
            self._today, self._highest = day, None
            self._god = {n: None for n in GOD_CANDLE_LEVELS}
        if self._highest is None or spec.peak > self._highest.peak:
            self._highest = _Record(spec.peak, timestamp_ms, wire_prices)
        jump = god_candle_jump(spec.prices)
        if jump is not None:
            for level in GOD_CANDLE_LEVELS:
                if jump[1] >= level:
                    self._god[level] = _Record(
                        spec.peak, timestamp_ms, wire_prices, [num(jump[0]), num(jump[1])]
                    )
        if spec.rug_tick < INSTARUG_THRESHOLD:
            self.instarug_count += 1
            if self.instarug_count >= RUGPOOL_THRESHOLD:  # the lottery draws and the pool restarts
                self.instarug_count, self.rugpool_amount = 0, 0.0
        self._block = self._rolling = self._pool = None
        return entry

    def add_to_rugpool(self, sol: float) -> None:
        """The pool grows with trading volume (decorative: the real contribution rule is unknown)."""
        self.rugpool_amount += sol
        self._pool = None

    # -- views -------------------------------------------------------------------------------------------
    @property
    def average_multiplier(self) -> float:
        return sum(self._peaks) / len(self._peaks) if self._peaks else 1.0

    def counts(self) -> tuple[int, int, int, int]:
        peaks = self._peaks
        return tuple(sum(1 for p in peaks if p >= n) for n in (2, 10, 50, 100))  # type: ignore[return-value]

    def rugpool(self) -> dict[str, Any]:
        """``{instarugCount, threshold, rugpoolAmount}`` (cached: the same object until it changes)."""
        if self._pool is None:
            self._pool = {
                "instarugCount": self.instarug_count,
                "threshold": RUGPOOL_THRESHOLD,
                "rugpoolAmount": num(self.rugpool_amount),
            }
        return self._pool

    def rolling(self) -> dict[str, Any]:
        """``averageMultiplier`` and ``count2x..count100x`` (part of every active-tick message; cached)."""
        if self._rolling is None:
            c2, c10, c50, c100 = self.counts()
            self._rolling = {
                "averageMultiplier": num(self.average_multiplier),
                "count2x": c2,
                "count10x": c10,
                "count50x": c50,
                "count100x": c100,
            }
        return self._rolling

    def full_block(self) -> dict[str, Any]:
        """The cross-game head of a full message (Dec-2025 key set and order), cached until the next game."""
        if self._block is None:
            block: dict[str, Any] = {"gameHistory": list(self.history)}
            block.update(self.rolling())
            hi = self._highest
            block["highestToday"] = num(hi.peak) if hi else None
            block["highestTodayTimestamp"] = hi.timestamp if hi else None
            block["highestTodayPrices"] = hi.prices if hi else []
            for level in GOD_CANDLE_LEVELS:
                rec = self._god[level]
                block[f"godCandle{level}x"] = num(rec.peak) if rec else None
                block[f"godCandle{level}xTimestamp"] = rec.timestamp if rec else None
                block[f"godCandle{level}xPrices"] = rec.prices if rec else []
                block[f"godCandle{level}xMassiveJump"] = rec.jump if rec else None
            block["availableShitcoins"] = [dict(c) for c in AVAILABLE_SHITCOINS]
            self._block = block
        return self._block
