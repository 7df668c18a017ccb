"""GameStateRecorder: games from ``gameStateUpdate`` messages, finished and verified from ``gameHistory``.

Each game id seen as the subject of a message is tracked (:class:`TrackedGame`): observed prices, commitment,
tick 0's time, rug. The rug is detected by ``rugged`` (never by ``active``); its tick is the end of the rugged
message's ``partialPrices`` window (a post-rug message keeps counting ``tickCount``), its price the feed's.

A game is finished by *its own* ``gameHistory`` entry, matched by id, whichever message carries it (never
``gameHistory[0]`` at the rug: at that moment it is the previous game). The entry reveals the seed: every
pre-rug price is regenerated and checked, gaps are filled, and the game file is written through the
:class:`~recorder.sink.RecordingSink`. Entries of games never watched are recorded too (``source:
history``). A game whose reveal never comes (a later game's history lacks it, or the recorder stops) is
saved with what was seen, flagged ``verified: false``; a game that never rugged in our view is dropped.

It is also the sessions' oracle for prices, tick times and game order
(:class:`recorder.session_inputs.GameOracle`).
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from datetime import datetime
from typing import Any

from recorder.events import GameState, HistoryEntry, Malformed, history_id, parse_history_entry, time_from_ms
from recorder.files import GameRecording, GameSource
from recorder.game_state import (
    TICK,
    FinishedGame,
    GameCounters,
    GameListener,
    GameOracleViews,
    TrackedGame,
    entry_guess,
    make_recording,
)
from recorder.prices import Assembly, PriceHistoryHandler
from recorder.sink import RecordingSink
from rugs_env.game.constants import DEFAULT_VERSION, VERSIONS
from rugs_env.game.prng import GamePath, generate, seed_hash

log = logging.getLogger(__name__)
# ids of finished games remembered: far more than gameHistory's 10 and the sessions' open games, and bounded
# so that memory is flat over long runs (4096 kept memory growing for thousands of games)
DONE_MEMORY = 512
FINAL_MEMORY = 8  # finished games whose prices stay available to sessions


class GameStateRecorder(GameOracleViews):
    """Tracks games and writes them when they end (see the module docstring)."""

    def __init__(
        self,
        sink: RecordingSink,
        listener: GameListener,
        *,
        live_source: GameSource = GameSource.LIVE,
        recorder_version: str | None = None,
    ) -> None:
        self.sink = sink
        self.listener = listener
        self.live_source = live_source
        self.recorder_version = recorder_version
        self.counters = GameCounters()
        self.clock = 0  # running ticks seen (a game-time clock for the sessions' verifier)
        self._games: dict[str, TrackedGame] = {}
        self._done: OrderedDict[str, None] = OrderedDict()
        self._ranks: OrderedDict[str, float] = OrderedDict()
        # recently finished games: (prices, tick times, entry guess, when it rugged)
        self._final: OrderedDict[
            str, tuple[list[float], dict[int, datetime], tuple[int, float], datetime]
        ] = OrderedDict()
        self._top = -1.0  # the highest rank given (games seen in order get whole numbers)
        self.last_recorded: GameRecording | None = None

    # -- messages ------------------------------------------------------------------------------------------
    def rank(self, game_id: str) -> float | None:
        """The game's place in time (see :meth:`_place`), None for games only seen in histories."""
        return self._ranks.get(game_id)

    def seen_live(self, game_id: str) -> bool:
        """Whether the game was the subject of a message we received (not only a history entry)."""
        return game_id in self._ranks

    def on_state(self, at: datetime, state: GameState, after: float | None = None) -> bool:
        """Take a message in; True when it is the first one seen of a running tick. ``after``: the rank of
        the latest game the connection that delivered it had shown (None: unknown, e.g. just connected)."""
        game = self._games.get(state.game_id)
        new_tick = False
        if game is None and state.game_id in self._done:
            self.counters.late += 1
        elif game is None:
            game = self._track(state.game_id, at, after)
        if game is not None:
            new_tick = self._observe(game, state, at)
        if state.history:
            self._history(state, at)
        return new_tick

    def place(self, game_id: str, after: float | None) -> None:
        """Give a game its place in time (:meth:`_place`) unless it has one: when a message first shows it,
        or a live trade or sidebet of it comes first (its messages were lost, or came after a history
        revealed it)."""
        if game_id not in self._ranks:
            self._ranks[game_id] = self._place(after)
            while len(self._ranks) > DONE_MEMORY:
                self._ranks.popitem(last=False)

    def _track(self, game_id: str, at: datetime, after: float | None) -> TrackedGame:
        self.place(game_id, after)  # kept if a trade placed it already
        game = self._games[game_id] = TrackedGame(game_id, self._ranks[game_id], at)
        return game

    def _place(self, after: float | None) -> float:
        """A new game's rank: after every game seen so far, unless the connection showing it was on an
        older game (it lags behind another, and its stream is in the server's order): then between that
        game and the next one seen. So a lagging connection's game, first seen after a later one (the other
        connections reconnected meanwhile and never showed it), still takes its place in time."""
        if after is None or after >= self._top:
            self._top = float(int(self._top) + 1)
            return self._top
        above = min((r for r in self._ranks.values() if r > after), default=self._top)
        return (after + above) / 2

    def _observe(self, game: TrackedGame, s: GameState, at: datetime) -> bool:
        game.seed_hash = game.seed_hash or s.seed_hash
        game.version = game.version or s.version
        if s.active is True:  # cooldown and presale messages carry no price (nor trade count) of this game
            if s.trade_count is not None:
                game.trade_count = max(game.trade_count or 0, s.trade_count)
            if s.snapshot is not None:
                game.prices.observe_snapshot(s.snapshot)
            if s.partial:
                game.prices.observe_window(s.partial)
        if s.rugged is True:
            self._rugged(game, s, at)
            return False
        if not (s.running and s.tick is not None and s.price is not None):
            return False
        tick = s.tick
        game.prices.observe(tick, s.price, "tick")
        game.watched = True
        if game.first_live is None or tick < game.first_live[0]:
            game.first_live = (tick, at)
        game.max_tick = max(game.max_tick, tick)
        if tick in game.tick_times:
            return False
        game.tick_times[tick] = at
        self.clock += 1
        if tick == 0 and game.tick0_at is None:
            game.tick0_at = at
        return True

    def _rugged(self, game: TrackedGame, s: GameState, at: datetime) -> None:
        certain = s.partial_end is not None
        tick = s.partial_end if certain else s.tick
        if s.price is not None and game.rug_price is None:
            game.rug_price = s.price
        if tick is None:
            return
        if certain and s.tick == tick and s.price is not None:
            game.prices.observe(tick, s.price, "tick")
        game.watched = True
        changed = False
        if (
            game.rug_tick is None
            or (certain and not game.rug_certain)
            or (not certain and not game.rug_certain and tick < game.rug_tick)
        ):
            game.rug_tick, game.rug_certain, changed = tick, certain, True
        game.rugged_at = game.rugged_at or at
        game.max_tick = max(game.max_tick, game.rug_tick - 1)
        price = game.rug_value()
        if changed and price is not None:
            self.listener.on_rug(game.game_id, game.rug_tick, price, game.rugged_at)

    def _history(self, state: GameState, at: datetime) -> None:
        ids: list[str] = []
        for raw in state.history or ():
            game_id = history_id(raw)
            if game_id is None:
                self.counters.bad_history += 1
                continue
            ids.append(game_id)
            if game_id in self._done:
                continue
            try:
                entry = parse_history_entry(raw)
            except Malformed as exc:
                self.counters.bad_history += 1
                log.debug("bad gameHistory entry: %s", exc)
                continue
            self._reveal(entry, at)
        # A tracked game missing from a history that already holds a newer game will never be revealed.
        ranks = [self._ranks[i] for i in ids if i in self._ranks]
        newest = max(ranks, default=-1)
        for game in [g for g in self._games.values() if g.rank < newest and g.game_id not in ids]:
            self._close_unrevealed(game, at, "its gameHistory entry never arrived")

    # -- finishing -----------------------------------------------------------------------------------------
    def _mark_done(self, game_id: str) -> None:
        self._done[game_id] = None
        while len(self._done) > DONE_MEMORY:
            self._done.popitem(last=False)

    def _reveal(self, entry: HistoryEntry, at: datetime) -> None:
        game_id = entry.game_id
        game = self._games.pop(game_id, None)
        self._mark_done(game_id)
        recovered: GameRecording | None = None
        if game is None:
            stored = self.sink.find_game(game_id)
            if stored is not None and stored.verified:
                return
            recovered = self.sink.read(stored) if stored is not None else None
        seed = entry.server_seed
        version = entry.version or (game.version if game else None) or DEFAULT_VERSION
        problems: list[str] = []
        path: GamePath | None = None
        if seed is not None:
            if version in VERSIONS:
                path = generate(seed, game_id, version)
            else:
                problems.append(f"unknown price-path version {version!r}")
            digest = seed_hash(seed)
            for claimed in (entry.server_seed_hash, game.seed_hash if game else None):
                if claimed is not None and claimed != digest:
                    problems.append(f"server_seed_hash: the seed hashes to {digest}, {claimed} was published")
        prices = game.prices if game is not None else PriceHistoryHandler()
        if recovered is not None:
            skip = set(recovered.meta.extra_fields.get("missing_ticks") or ())
            for tick, price in enumerate(recovered.prices):
                if tick not in skip:
                    prices.observe(tick, price, "recovered")
        if path is not None:
            rug_tick: int | None = path.rug_tick
        elif game is not None and game.rug_tick is not None:
            rug_tick = game.rug_tick
        elif recovered is not None:
            rug_tick = recovered.rug_tick
        else:
            rug_tick = len(entry.prices) - 1 if entry.prices else None
        if rug_tick is None:
            self.counters.no_rug_price += 1
            self._finished(game_id, None, entry, at)
            return
        rug_price = game.rug_price if game is not None else (recovered.rug_price if recovered else None)
        observed = game.rug_tick if game is not None and game.rug_certain else None
        assembly = prices.assemble(
            rug_tick=rug_tick,
            rug_price=rug_price,
            seed_path=path,
            history_prices=entry.prices,
            observed_rug_tick=observed,
        )
        if assembly is None:
            self.counters.no_rug_price += 1
            log.info("game %s: revealed, but no rug price was ever shown; not recorded", game_id)
            self._finished(game_id, None, entry, at)
            return
        problems.extend(assembly.mismatches)
        peak = max(assembly.prices[:-1])
        if path is not None and path.peak != peak:
            problems.append(f"peak: seed gives {path.peak!r}, the prices give {peak!r}")
        if entry.peak is not None and entry.peak != peak:
            problems.append(f"peak: gameHistory says {entry.peak!r}, the prices give {peak!r}")
        if game is not None and game.watched:
            start, estimated = game.start_time()
            end = game.rugged_at or (time_from_ms(entry.timestamp_ms) or at)
            source = self.live_source
        elif recovered is not None:
            start, end = recovered.meta.start_time, recovered.meta.end_time
            estimated = bool(recovered.meta.extra_fields.get("start_time_estimated"))
            source = recovered.meta.source or GameSource.HISTORY
        else:
            end = time_from_ms(entry.timestamp_ms) or at
            start, estimated = end - rug_tick * TICK, True
            source = GameSource.HISTORY
        extra: dict[str, Any] = {
            "version": version if version in VERSIONS else None,
            "verified": path is not None and not problems and not assembly.missing_ticks,
            "trade_count": game.trade_count if game is not None and game.watched else None,
            "sidebet_count": sum(
                1 for r in entry.sidebets if isinstance(r, dict) and r.get("type") == "placed"
            ),
        }
        if seed is None:
            extra["unverified_reason"] = "gameHistory revealed no seed"
        hash_ = (
            entry.server_seed_hash
            or (game.seed_hash if game else None)
            or (seed_hash(seed) if seed else None)
        )
        conflicts = game.prices.conflicts if game is not None else 0
        self._write(
            FinishedGame(
                game_id, start, end, estimated, assembly, problems, source, seed, hash_, extra, conflicts
            )
        )
        self._finished(game_id, assembly, entry, at, game)

    def _close_unrevealed(self, game: TrackedGame, at: datetime, reason: str) -> None:
        """Save a game whose seed never came with what was seen (or drop it if it never rugged)."""
        del self._games[game.game_id]
        self._mark_done(game.game_id)
        assembly = None
        if game.rug_tick is not None:
            assembly = game.prices.assemble(rug_tick=game.rug_tick, rug_price=game.rug_price)
        if assembly is None:
            self.counters.dropped += 1
            log.info("game %s: never seen to rug and never revealed; dropped", game.game_id)
            self._finished(game.game_id, None, None, at, game)
            return
        start, estimated = game.start_time()
        extra: dict[str, Any] = {
            "version": game.version if game.version in VERSIONS else None,
            "verified": False,
            "unverified_reason": reason,
            "trade_count": game.trade_count,
        }
        self._write(
            FinishedGame(
                game.game_id,
                start,
                game.rugged_at or at,
                estimated,
                assembly,
                list(assembly.mismatches),
                self.live_source,
                None,
                game.seed_hash,
                extra,
                game.prices.conflicts,
            )
        )
        self._finished(game.game_id, assembly, None, at, game)

    def _write(self, out: FinishedGame) -> None:
        if out.problems:
            self.counters.mismatches += 1
            log.warning("game %s: %d problem(s); first: %s", out.game_id, len(out.problems), out.problems[0])
        try:
            recording = make_recording(out, self.recorder_version)
        except ValueError as exc:
            log.error("game %s: cannot build its recording: %s", out.game_id, exc)
            self.sink.errors += 1
            return
        if self.sink.write_game(recording) is None:
            return
        c = self.counters
        c.recorded += 1
        c.gaps_filled += out.assembly.gaps_filled
        c.verified += 1 if recording.meta.verified else 0
        c.unverified += 0 if recording.meta.verified else 1
        if out.source is GameSource.HISTORY:
            c.history += 1
        else:
            c.live += 1
        self.last_recorded = recording

    def _finished(
        self,
        game_id: str,
        assembly: Assembly | None,
        entry: HistoryEntry | None,
        at: datetime,
        game: TrackedGame | None = None,
    ) -> None:
        rug = None
        if assembly is not None:
            guess = entry_guess(game) if game is not None else (0, 1.0)
            when = (game.rugged_at if game else None) or at
            self._final[game_id] = (assembly.prices, game.tick_times if game else {}, guess, when)
            while len(self._final) > FINAL_MEMORY:
                self._final.popitem(last=False)
            rug = (assembly.rug_tick, assembly.prices[-1], when)
        self.listener.on_final(game_id, rug, entry, at)

    def finish(self, at: datetime) -> None:
        """The recorder stops: save rugged games still waiting for their reveal, drop the others."""
        for game in list(self._games.values()):
            self._close_unrevealed(game, at, "the recorder stopped before its gameHistory entry arrived")
