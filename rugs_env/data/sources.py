"""Reading and checking the recordings a dataset is built from: what goes in, what is skipped, and why.

:func:`collect` reads every game and session file under the inputs (folders or files, as
:func:`rugs_env.envs.games.recording_files` finds them), checks each with the recorder's own checks
(:func:`recorder.checks.check_game`, :func:`recorder.checks.check_session`) and sorts them:

* a game file that does not read strictly (``corrupt``), that its seed does not verify or whose meta disagrees
  with its prices (``mismatch``), or whose meta claims ticks nothing can check (``gap``) is **skipped**;
  a second file holding a game already accepted is skipped as a ``duplicate``. Unseeded games are accepted
  and counted as *unverified*.
* a session file that does not read strictly is skipped (``corrupt``). Of a readable session, the actions in
  games that are not in the dataset (``orphan``: skipped or never recorded) and the actions of a (session,
  game) pair with actions after its game's rug (``mismatch``) are dropped, and so are copies of actions
  already read from another session file of the same player (``duplicate``: same trade id, or same content
  when there is none; a recorder that splits a long session may write a game under way into both files);
  the rest is kept.

Nothing is dropped silently: every skipped file is a :class:`Skipped` with its reason, and every session
action is counted either as kept or as dropped with its reason (:class:`Accounting`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder.checks import GameStatus, Kind, check_game, check_session
from recorder.files import GameRecording, RecordingFormatError, SessionRecording, read_game, read_session
from rugs_env.envs.games import recording_files

Progress = Callable[[int], None]  # called with the number of files just processed


@dataclass(frozen=True)
class Skipped:
    """A file (or part of one) left out of the dataset, and why."""

    path: str
    kind: str  # corrupt | mismatch | gap | duplicate | orphan (duplicate: a game, or session actions)
    reason: str
    game_id: str | None = None
    actions: int = 0  # session actions dropped with it (session problems)

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind,
            "reason": self.reason,
            "game_id": self.game_id,
            "actions": self.actions,
        }


@dataclass
class Accounting:
    """Counts in and out of :func:`collect`: ``in = accepted + skipped`` for files and session actions."""

    game_files: int = 0
    games_accepted: int = 0
    games_skipped: Counter[str] = field(default_factory=Counter)  # kind -> files
    verified: int = 0
    unverified: int = 0
    session_files: int = 0
    sessions_accepted: int = 0  # readable sessions with at least one action kept
    sessions_skipped: Counter[str] = field(default_factory=Counter)  # kind -> files
    sessions_emptied: int = 0  # readable sessions all of whose actions were dropped
    actions_in: int = 0  # actions of the readable sessions
    actions_kept: int = 0
    actions_dropped: Counter[str] = field(default_factory=Counter)  # kind -> actions

    def check(self) -> None:
        """Assert that every file and action is accounted for (a bug here would lose data silently)."""
        assert self.game_files == self.games_accepted + sum(self.games_skipped.values()), self
        sessions_out = self.sessions_accepted + self.sessions_emptied + sum(self.sessions_skipped.values())
        assert self.session_files == sessions_out, self
        assert self.actions_in == self.actions_kept + sum(self.actions_dropped.values()), self

    def to_json(self) -> dict[str, Any]:
        return {
            "game_files": self.game_files,
            "games_accepted": self.games_accepted,
            "games_skipped": dict(self.games_skipped),
            "verified": self.verified,
            "unverified": self.unverified,
            "session_files": self.session_files,
            "sessions_accepted": self.sessions_accepted,
            "sessions_emptied": self.sessions_emptied,
            "sessions_skipped": dict(self.sessions_skipped),
            "session_actions_in": self.actions_in,
            "session_actions_kept": self.actions_kept,
            "session_actions_dropped": dict(self.actions_dropped),
        }


@dataclass
class Collected:
    """The outcome of :func:`collect`: accepted games and (filtered) sessions, and what was left out."""

    games: list[GameRecording]
    sessions: list[SessionRecording]
    skipped: list[Skipped]
    accounting: Accounting
    sources: dict[str, str] = field(default_factory=dict)  # game id -> the file it was read from


def _error_kind(problems: Sequence[Any]) -> tuple[str, str] | None:
    errors = [p for p in problems if p.is_error]
    if not errors:
        return None
    return str(errors[0].kind), "; ".join(p.message for p in errors)


def collect(inputs: Sequence[str | Path], *, progress: Progress | None = None) -> Collected:
    """Read and check every recording under ``inputs`` (see the module docstring).

    Raises ``FileNotFoundError`` for an input that does not exist; bad files never raise.
    """
    game_files: list[Path] = []
    session_files: list[Path] = []
    for item in inputs:
        games, sessions = recording_files(Path(item).resolve())
        game_files += games
        session_files += sessions
    game_files = sorted(dict.fromkeys(game_files))
    session_files = sorted(dict.fromkeys(session_files))
    acc = Accounting(game_files=len(game_files), session_files=len(session_files))
    skipped: list[Skipped] = []
    accepted: dict[str, GameRecording] = {}
    sources: dict[str, str] = {}
    for path in game_files:
        _accept_game(path, accepted, sources, skipped, acc)
        if progress is not None:
            progress(1)
    rug_ticks = {gid: g.rug_tick for gid, g in accepted.items()}
    sessions: list[SessionRecording] = []
    seen: set[tuple[Any, ...]] = set()
    for path in session_files:
        session = _accept_session(path, rug_ticks, skipped, acc, seen)
        if session is not None:
            sessions.append(session)
        if progress is not None:
            progress(1)
    acc.check()
    games = sorted(accepted.values(), key=lambda g: (g.meta.start_time, g.game_id))
    return Collected(games, sessions, skipped, acc, sources)


def _accept_game(
    path: Path,
    accepted: dict[str, GameRecording],
    sources: dict[str, str],
    skipped: list[Skipped],
    acc: Accounting,
) -> None:
    try:
        game = read_game(path)
    except (RecordingFormatError, OSError, ValueError) as exc:
        acc.games_skipped["corrupt"] += 1
        skipped.append(Skipped(str(path), "corrupt", f"does not read: {exc}"))
        return
    check = check_game(game, path)
    error = _error_kind(check.problems)
    if error is not None:
        acc.games_skipped[error[0]] += 1
        skipped.append(Skipped(str(path), error[0], error[1], game.game_id))
        return
    if game.game_id in accepted:
        acc.games_skipped["duplicate"] += 1
        skipped.append(
            Skipped(str(path), "duplicate", f"game already read from {sources[game.game_id]}", game.game_id)
        )
        return
    accepted[game.game_id] = game
    sources[game.game_id] = str(path)
    acc.games_accepted += 1
    if check.status is GameStatus.VERIFIED:
        acc.verified += 1
    else:
        acc.unverified += 1


def action_key(player: str, a: Any) -> tuple[Any, ...]:
    """What identifies one real action of a player: its trade id, else its content (not the balances,
    which a recorder may shift per file)."""
    if a.trade_id is not None:
        return (player, a.game_id, a.trade_id)
    return (player, a.game_id, a.tick, a.timestamp, str(a.action), a.amount, a.price, a.qty)


def _accept_session(
    path: Path, rug_ticks: dict[str, int], skipped: list[Skipped], acc: Accounting, seen: set[tuple[Any, ...]]
) -> SessionRecording | None:
    try:
        session = read_session(path)
    except (RecordingFormatError, OSError, ValueError) as exc:
        acc.sessions_skipped["corrupt"] += 1
        skipped.append(Skipped(str(path), "corrupt", f"does not read: {exc}"))
        return None
    acc.actions_in += len(session.actions)
    check = check_session(session, rug_ticks, path)
    drop: dict[str, str] = {}  # game id -> kind
    for problem in check.problems:
        if problem.game_id is None or problem.kind not in (Kind.ORPHAN, Kind.MISMATCH):
            continue  # drift: reported by `rugs verify`, the actions themselves are sound
        kind = "orphan" if problem.kind is Kind.ORPHAN else "mismatch"
        drop[problem.game_id] = kind
        n = sum(1 for _ in session.actions_in(problem.game_id))
        reason = (
            problem.message
            if kind == "mismatch"
            else (
                f"{n} actions in game {problem.game_id}, which is not in the dataset "
                "(skipped or not recorded)"
            )
        )
        skipped.append(Skipped(str(path), kind, reason, problem.game_id, n))
    player = session.meta.username or session.meta.player_id
    kept_list = []
    copies: Counter[str] = Counter()  # game id -> actions already read from another file
    for a in session.actions:
        if a.game_id in drop:
            acc.actions_dropped[drop[a.game_id]] += 1
            continue
        key = action_key(player, a)
        if key in seen:
            copies[a.game_id] += 1
            continue
        seen.add(key)
        kept_list.append(a)
    for gid, n in copies.items():
        acc.actions_dropped["duplicate"] += n
        skipped.append(
            Skipped(
                str(path),
                "duplicate",
                f"{n} actions of {player} in game {gid} already read from another session file",
                gid,
                n,
            )
        )
    kept = tuple(kept_list)
    acc.actions_kept += len(kept)
    if not kept:
        acc.sessions_emptied += 1
        return None
    acc.sessions_accepted += 1
    if len(kept) == len(session.actions):
        return session
    return session.replace(actions=kept)


__all__ = ["Accounting", "Collected", "Skipped", "collect"]
