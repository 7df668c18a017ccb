"""Checking recordings: the report model and the checks of one game file and one session file.

:func:`recorder.checks_tree.check_recordings` walks a folder and gathers everything in a :class:`CheckReport`;
this module holds what it is made of, usable on its own (the dataset builder checks a game it is about to
use with :func:`check_game`).

A problem has a :class:`Kind`. Errors (the data cannot be trusted; ``rugs verify`` exits 1):

- ``corrupt``: a file that does not read strictly, is misplaced (its content belongs elsewhere), or
  duplicates another file's game;
- ``mismatch``: a file's claims disagree with the facts: prices that the revealed seed does not give
  (hash, rug tick, any pre-rug price bit for bit, peak), ``meta.verified`` true on a game that does not
  verify, an unseeded game whose peak is not its highest pre-rug price or whose tick 0 is not 1.0, session
  actions at ticks past their game's rug;
- ``gap``: ticks the meta says were filled (``gaps_filled``, ``price_sources.seed``) that no seed can
  check, or fill counts that disagree with ``price_sources``. The format guarantees a full price array, so
  a gap is a claim of the meta that the file cannot back.

Warnings (reported, exit 0): ``unclaimed`` (a seeded game that verifies but does not say
``verified: true``), ``orphan`` (session actions in a game with no readable recording), ``drift`` (a
session whose state differed from the server's), ``index`` (a daily index missing, unreadable or not
matching the files; ``rugs index`` rebuilds it), ``stray`` (a file in ``games/`` or ``sessions/`` that is
not a recording).

Unseeded games are counted as *unverified*; that is not a problem.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from recorder.files import GameRecording, SessionRecording
from rugs_env.game.constants import DEFAULT_VERSION, STARTING_PRICE
from rugs_env.game.prng import verify

SHOWN_MISMATCHES = 3  # differences spelled out in a mismatch's message; the count says how many in all


class Kind(StrEnum):
    """What sort of problem (see the module docstring)."""

    CORRUPT = "corrupt"
    MISMATCH = "mismatch"
    GAP = "gap"
    UNCLAIMED = "unclaimed"
    ORPHAN = "orphan"
    DRIFT = "drift"
    INDEX = "index"
    STRAY = "stray"

    @property
    def is_error(self) -> bool:
        return self in ERROR_KINDS


ERROR_KINDS = frozenset({Kind.CORRUPT, Kind.MISMATCH, Kind.GAP})


class GameStatus(StrEnum):
    """A game's standing against its seed."""

    VERIFIED = "verified"  # seeded, and every check against the seed passed
    UNVERIFIED = "unverified"  # no seed in the file: nothing to check against
    FAILED = "failed"  # seeded, and the seed disagrees with the file


@dataclass(frozen=True)
class Problem:
    """One problem of one file. ``count`` is how many values it covers (mismatching prices, orphan
    actions...); ``tick`` the first tick concerned, when there is one."""

    kind: Kind
    path: Path | None
    message: str
    game_id: str | None = None
    tick: int | None = None
    count: int = 1

    @property
    def is_error(self) -> bool:
        return self.kind.is_error

    def __str__(self) -> str:
        where = f"{self.path}: " if self.path is not None else ""
        return f"{self.kind.upper()} {where}{self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": str(self.kind),
            "error": self.is_error,
            "path": str(self.path) if self.path is not None else None,
            "game_id": self.game_id,
            "tick": self.tick,
            "count": self.count,
            "message": self.message,
        }


@dataclass(frozen=True)
class GameCheck:
    """The outcome of :func:`check_game`."""

    game_id: str
    status: GameStatus
    rug_tick: int
    filled_ticks: int  # ticks the meta says were not seen live (``gaps_filled``)
    problems: tuple[Problem, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)


@dataclass(frozen=True)
class SessionCheck:
    """The outcome of :func:`check_session`."""

    actions: int
    orphan_actions: int
    orphan_games: frozenset[str]
    drift_count: int
    player_updates_checked: int
    max_drift_lamports: int
    problems: tuple[Problem, ...] = ()


@dataclass
class CheckReport:
    """Everything :func:`recorder.checks_tree.check_recordings` found under a folder."""

    root: Path
    days: int = 0
    games: int = 0  # game files that read strictly and are in their place
    verified: int = 0
    unverified: int = 0
    failed: int = 0  # seeded games the seed disagrees with
    filled_games: int = 0  # games with ticks not seen live (filled from seed or history)
    filled_ticks: int = 0
    sessions: int = 0
    actions: int = 0
    player_updates_checked: int = 0
    drifts: int = 0  # sum of the sessions' verification.drift_count
    max_drift_lamports: int = 0
    orphan_actions: int = 0
    orphan_games: set[str] = field(default_factory=set)
    indexes_checked: int = 0
    problems: list[Problem] = field(default_factory=list)

    def count(self, kind: Kind) -> int:
        """The number of problems of one kind."""
        return sum(1 for p in self.problems if p.kind is kind)

    @property
    def corrupt_files(self) -> int:
        return self.count(Kind.CORRUPT)

    @property
    def mismatches(self) -> int:
        """Problems of kind mismatch: at most one per game file, one per (session, game) pair."""
        return self.count(Kind.MISMATCH)

    @property
    def gaps(self) -> int:
        return self.count(Kind.GAP)

    @property
    def stale_indexes(self) -> int:
        return self.count(Kind.INDEX)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def ok(self) -> bool:
        """No corrupt file, mismatch or gap (warnings allowed)."""
        return not self.errors

    def add_game(self, check: GameCheck) -> None:
        """Count one checked game."""
        self.games += 1
        if check.status is GameStatus.VERIFIED:
            self.verified += 1
        elif check.status is GameStatus.UNVERIFIED:
            self.unverified += 1
        else:
            self.failed += 1
        if check.filled_ticks:
            self.filled_games += 1
            self.filled_ticks += check.filled_ticks
        self.problems.extend(check.problems)

    def add_session(self, check: SessionCheck) -> None:
        """Count one checked session."""
        self.sessions += 1
        self.actions += check.actions
        self.orphan_actions += check.orphan_actions
        self.orphan_games |= check.orphan_games
        self.drifts += check.drift_count
        self.player_updates_checked += check.player_updates_checked
        self.max_drift_lamports = max(self.max_drift_lamports, check.max_drift_lamports)
        self.problems.extend(check.problems)

    def summary(self) -> dict[str, int]:
        """The headline numbers, by name (the order ``rugs verify`` prints them in)."""
        return {
            "days": self.days,
            "games": self.games,
            "verified": self.verified,
            "unverified": self.unverified,
            "failed": self.failed,
            "gaps": self.gaps,
            "filled_games": self.filled_games,
            "filled_ticks": self.filled_ticks,
            "mismatches": self.mismatches,
            "corrupt_files": self.corrupt_files,
            "unclaimed": self.count(Kind.UNCLAIMED),
            "sessions": self.sessions,
            "actions": self.actions,
            "player_updates_checked": self.player_updates_checked,
            "drifts": self.drifts,
            "max_drift_lamports": self.max_drift_lamports,
            "orphans": self.orphan_actions,
            "orphan_games": len(self.orphan_games),
            "stale_indexes": self.stale_indexes,
            "stray_files": self.count(Kind.STRAY),
        }

    def to_json(self) -> dict[str, Any]:
        """One JSON-ready object: ``root``, ``ok``, the summary numbers and every problem."""
        return {
            "root": str(self.root),
            "ok": self.ok,
            **self.summary(),
            "orphan_game_ids": sorted(self.orphan_games),
            "problems": [p.to_json() for p in self.problems],
        }


# -- one game --


def check_game(game: GameRecording, path: Path | None = None) -> GameCheck:
    """Check one game (already read strictly): its meta against its prices, and its prices against its
    seed when it has one. Never raises for bad data; every finding is a :class:`Problem`."""
    meta = game.meta
    problems: list[Problem] = []

    def problem(kind: Kind, message: str, tick: int | None = None, count: int = 1) -> None:
        problems.append(Problem(kind, path, message, game.game_id, tick, count))

    problems.extend(_gap_problems(game, path))
    if meta.server_seed is None:
        status = GameStatus.UNVERIFIED
        facts = _unseeded_facts(game)
        if facts:
            problem(Kind.MISMATCH, "; ".join(m for m, _ in facts), facts[0][1], len(facts))
    else:
        result = verify(
            meta.server_seed,
            game.game_id,
            game.prices,
            server_seed_hash=meta.server_seed_hash,
            peak=meta.peak_multiplier,
            version=meta.version or DEFAULT_VERSION,
        )
        if result.ok:
            status = GameStatus.VERIFIED
            if meta.verified is not True:
                said = "false" if meta.verified is False else "absent"
                problem(Kind.UNCLAIMED, f"verifies against its seed, but meta.verified is {said}")
        else:
            status = GameStatus.FAILED
            found = result.mismatches
            shown = "; ".join(str(m) for m in found[:SHOWN_MISMATCHES])
            more = f"; and {len(found) - SHOWN_MISMATCHES} more" if len(found) > SHOWN_MISMATCHES else ""
            claim = " although meta.verified is true" if meta.verified else ""
            first_tick = next((m.tick for m in found if m.tick is not None), None)
            noun = "difference" if len(found) == 1 else "differences"
            problem(
                Kind.MISMATCH,
                f"does not verify{claim}: {len(found)} {noun} with the seed: {shown}{more}",
                first_tick,
                len(found),
            )
    return GameCheck(game.game_id, status, game.rug_tick, meta.gaps_filled or 0, tuple(problems))


def _unseeded_facts(game: GameRecording) -> list[tuple[str, int | None]]:
    """What a game without a seed can still be checked for: it starts at 1.0, its peak is its highest
    pre-rug price."""
    facts: list[tuple[str, int | None]] = []
    if game.prices[0] != STARTING_PRICE:
        facts.append((f"prices[0] is {game.prices[0]!r}; every game starts at {STARTING_PRICE!r}", 0))
    peak = max(game.pre_rug_prices)
    if game.meta.peak_multiplier != peak:
        facts.append(
            (f"peak_multiplier is {game.meta.peak_multiplier!r}, the highest pre-rug price {peak!r}", None)
        )
    return facts


def _gap_problems(game: GameRecording, path: Path | None) -> list[Problem]:
    """Ticks the meta says were filled, that nothing in the file can check (see the module docstring)."""
    meta = game.meta
    sources: Mapping[str, int] = meta.price_sources or {}
    filled = meta.gaps_filled or 0
    from_seed, from_history = sources.get("seed", 0), sources.get("history", 0)
    found: list[str] = []
    if meta.server_seed is None and from_seed:
        found.append(f"price_sources credits {from_seed} ticks to the seed, but the file has no seed")
    if meta.server_seed is None and filled:
        found.append(f"gaps_filled is {filled}, and there is no seed to check the filled ticks against")
    if meta.price_sources is not None and filled > from_seed + from_history:
        found.append(
            f"gaps_filled is {filled}, but price_sources credits only {from_seed + from_history} ticks "
            "to the seed or the history"
        )
    if not found:
        return []
    return [Problem(Kind.GAP, path, "; ".join(found), game.game_id, None, max(filled, from_seed, 1))]


# -- one session --


def check_session(
    session: SessionRecording, rug_ticks: Mapping[str, int], path: Path | None = None
) -> SessionCheck:
    """Check one session (already read strictly) against the games it touches.

    ``rug_ticks`` maps every game id with a readable recording to its rug tick. An action in a game not in
    it is an orphan (a warning); an action at a tick past its game's rug is a mismatch.
    """
    problems: list[Problem] = []
    orphan_actions = 0
    orphan_games: set[str] = set()
    for game_id in session.game_ids:
        actions = list(session.actions_in(game_id))
        rug_tick = rug_ticks.get(game_id)
        if rug_tick is None:
            orphan_actions += len(actions)
            orphan_games.add(game_id)
            noun = "action" if len(actions) == 1 else "actions"
            problems.append(
                Problem(
                    Kind.ORPHAN,
                    path,
                    f"{len(actions)} {noun} in game {game_id}, which has no readable recording",
                    game_id,
                    actions[0].tick,
                    len(actions),
                )
            )
            continue
        late = [a.tick for a in actions if a.tick > rug_tick]
        if late:
            noun = "action" if len(late) == 1 else "actions"
            problems.append(
                Problem(
                    Kind.MISMATCH,
                    path,
                    f"{len(late)} {noun} in game {game_id} after its rug at tick {rug_tick} "
                    f"(ticks {', '.join(map(str, late[:5]))}{', ...' if len(late) > 5 else ''})",
                    game_id,
                    late[0],
                    len(late),
                )
            )
    verification = session.meta.verification
    drift = verification.drift_count if verification else 0
    if verification is not None and drift:
        problems.append(
            Problem(
                Kind.DRIFT,
                path,
                f"{drift} of {verification.player_updates_checked} player updates differed from the recorded "
                f"state (at most {verification.max_drift_lamports} lamports)",
                count=drift,
            )
        )
    return SessionCheck(
        actions=len(session.actions),
        orphan_actions=orphan_actions,
        orphan_games=frozenset(orphan_games),
        drift_count=drift,
        player_updates_checked=verification.player_updates_checked if verification else 0,
        max_drift_lamports=verification.max_drift_lamports if verification else 0,
        problems=tuple(problems),
    )
