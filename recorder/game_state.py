"""The game recorder's records: a game being watched (:class:`TrackedGame`), a game finished
(:class:`FinishedGame`, turned into its file by :func:`make_recording`) and the counters."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from recorder.events import HistoryEntry
from recorder.files import GameRecording, GameSource, VerificationDetail
from recorder.prices import Assembly, PriceHistoryHandler
from recorder.session_inputs import Rug
from rugs_env.game.constants import TICK_SECONDS

TICK = timedelta(seconds=TICK_SECONDS)


@dataclass(slots=True)
class TrackedGame:
    """What has been seen of one game so far."""

    game_id: str
    rank: float
    first_seen: datetime
    prices: PriceHistoryHandler = field(default_factory=PriceHistoryHandler)
    seed_hash: str | None = None
    version: str | None = None
    tick0_at: datetime | None = None
    first_live: tuple[int, datetime] | None = None  # the first running tick seen, and when
    tick_times: dict[int, datetime] = field(default_factory=dict)
    max_tick: int = -1
    rug_tick: int | None = None
    rug_certain: bool = False
    rug_price: float | None = None
    rugged_at: datetime | None = None
    trade_count: int | None = None
    watched: bool = False

    def start_time(self) -> tuple[datetime, bool]:
        """Tick 0's time, and whether it is an estimate (the game was joined after tick 0)."""
        if self.tick0_at is not None:
            return self.tick0_at, False
        if self.first_live is not None:
            tick, at = self.first_live
            return at - tick * TICK, True
        at = self.rugged_at or self.first_seen
        return at - (self.rug_tick or 0) * TICK, True

    def rug_value(self) -> float | None:
        if self.rug_tick is not None and self.prices.get(self.rug_tick) is not None:
            return self.prices.get(self.rug_tick)
        return self.rug_price


@dataclass(slots=True)
class GameCounters:
    recorded: int = 0  # game files written (any source)
    live: int = 0  # ... of games watched
    history: int = 0  # ... of games known only from gameHistory
    verified: int = 0
    unverified: int = 0
    gaps_filled: int = 0
    mismatches: int = 0
    dropped: int = 0  # games that never rugged in our view and were never revealed
    no_rug_price: int = 0  # revealed games whose rug price nobody showed (no file possible)
    late: int = 0  # messages about games already finished
    bad_history: int = 0


def entry_guess(game: TrackedGame) -> tuple[int, float]:
    """Where a position we never saw opened was probably opened: at tick 0, or when we started watching."""
    if game.tick0_at is not None or game.first_live is None:
        return 0, 1.0
    tick = game.first_live[0]
    return tick, game.prices.get(tick) or 1.0


@dataclass(slots=True)
class FinishedGame:
    """Everything known about a game when it ends (revealed or given up on)."""

    game_id: str
    start: datetime
    end: datetime
    start_estimated: bool
    assembly: Assembly
    problems: list[str]  # disagreements with the seed or the history, in words
    source: GameSource
    server_seed: str | None
    server_seed_hash: str | None
    extra: dict[str, Any]  # version, verified, trade and sidebet counts, reasons
    conflicts: int = 0  # observations of a tick that disagreed with each other


def make_recording(out: FinishedGame, recorder_version: str | None) -> GameRecording:
    """The game file of a finished game (``ValueError`` if the values cannot form one)."""
    meta: dict[str, Any] = {k: v for k, v in out.extra.items() if v is not None}
    if out.problems:
        meta["verified"] = False
        meta["verification"] = VerificationDetail(
            mismatch_count=len(out.problems), first_mismatch=out.problems[0][:500]
        )
    assembly = out.assembly
    meta.update(
        price_sources=assembly.sources,
        gaps_filled=assembly.gaps_filled,
        source=out.source,
        recorder_version=recorder_version,
    )
    if out.start_estimated:
        meta["start_time_estimated"] = True
    if assembly.missing_ticks:
        meta["missing_ticks"] = assembly.missing_ticks
    if out.conflicts:
        meta["price_conflicts"] = out.conflicts
    if assembly.phantom_ticks:
        meta["phantom_ticks_ignored"] = assembly.phantom_ticks
    return GameRecording.create(
        game_id=out.game_id,
        start_time=out.start,
        end_time=max(out.start, out.end),
        prices=assembly.prices,
        server_seed_hash=out.server_seed_hash,
        server_seed=out.server_seed,
        **meta,
    )


class GameListener(Protocol):
    """Who hears about rugs and finished games (the pipeline, for the sessions)."""

    def on_rug(self, game_id: str, tick: int, price: float, at: datetime) -> None: ...
    def on_final(self, game_id: str, rug: Rug | None, entry: HistoryEntry | None, at: datetime) -> None: ...


class GameOracleViews:
    """The game recorder's read-only views for the sessions (:class:`recorder.session_inputs.GameOracle`)."""

    _games: dict[str, TrackedGame]
    _final: OrderedDict[str, tuple[list[float], dict[int, datetime], tuple[int, float], datetime]]
    _ranks: OrderedDict[str, float]
    _top: float

    # -- prices, times, order ------------------------------------------------------------------------------
    def price_at(self, game_id: str, tick: int) -> float | None:
        game = self._games.get(game_id)
        if game is not None:
            return game.prices.get(tick)
        final = self._final.get(game_id)
        return final[0][tick] if final is not None and 0 <= tick < len(final[0]) else None

    def tick_time(self, game_id: str, tick: int) -> datetime | None:
        game = self._games.get(game_id)
        times = (
            game.tick_times
            if game is not None
            else (self._final[game_id][1] if game_id in self._final else {})
        )
        return times.get(tick)

    def current_tick(self, game_id: str) -> int | None:
        game = self._games.get(game_id)
        return game.max_tick if game is not None and game.max_tick >= 0 else None

    @property
    def latest_rank(self) -> float:
        """The rank of the latest game seen live (0 before any: the first one seen will have it)."""
        return max(self._top, 0.0)

    def rank_of(self, game_id: str) -> float:
        rank = self._ranks.get(game_id)
        return rank if rank is not None else self._top + 1.5

    def entry_guess(self, game_id: str) -> tuple[int, float]:
        game = self._games.get(game_id)
        if game is None:
            return self._final[game_id][2] if game_id in self._final else (0, 1.0)
        return entry_guess(game)

    @property
    def tracked(self) -> dict[str, TrackedGame]:
        """The games being watched (not finished yet), by id."""
        return self._games

    def rug_of(self, game_id: str) -> Rug | None:
        """(rug tick, rug price, when) of a recently finished game, if known."""
        final = self._final.get(game_id)
        if final is None:
            return None
        return len(final[0]) - 1, final[0][-1], final[3]
