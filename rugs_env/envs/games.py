"""A store of many games as contiguous arrays, loaded from recording files, with their sessions.

``GameStore`` holds every price of every game in one float64 array (``prices[offsets[i]:offsets[i + 1]]`` is
game ``i``, rug price last) and the market features of every tick in one float32 array of the same length
(:func:`rugs_env.envs.spec.market_features`, computed once at load). The replay environment, the vector
environment and the label tools read games from it; nothing is parsed during an episode.

Sources (``load_store(source, ...)``):

* ``None``: the bundled sample, ``datasets/sample/`` (beside the package, else under the working directory);
* a folder: every ``*.game.json`` and ``*_session.json`` below it (a recordings tree or a flat folder);
* a list of files and folders (mixed).

``date_from`` / ``date_to`` (``date`` or ``"YYYY-MM-DD"``, inclusive) keep the games that started on those UTC
days. Games are ordered by start time, then id. A game whose meta carries ``"rugged": false`` (a capture cut
before the rug) ends its episodes as *truncated* rather than terminated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np

from recorder.files import GameRecording, SessionAction, read_game, read_session
from rugs_env.envs.spec import N_MARKET, market_features

GAME_SUFFIX = ".game.json"
SESSION_SUFFIX = "_session.json"
SAMPLE_DIR = Path("datasets") / "sample"


@dataclass
class GameStore:
    """Many games in contiguous arrays, and the recorded sessions per game (see the module docstring)."""

    game_ids: list[str]
    prices: np.ndarray  # float64, all games back to back, each ending with its rug price
    offsets: np.ndarray  # int64, n_games + 1
    start_times: list[datetime | None]
    rugged: np.ndarray  # bool: the last price is a rug (else the recording was cut: truncated episodes)
    features: np.ndarray = field(repr=False)  # float32 (len(prices), N_MARKET)
    sessions: dict[str, dict[str, tuple[SessionAction, ...]]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._index = {gid: i for i, gid in enumerate(self.game_ids)}
        self.lengths = np.diff(self.offsets)
        self.rug_ticks = self.lengths - 1

    def __len__(self) -> int:
        return len(self.game_ids)

    @property
    def n_games(self) -> int:
        return len(self.game_ids)

    def index_of(self, game_id: str) -> int:
        """The index of ``game_id``; ``KeyError`` naming the id if the store lacks it."""
        try:
            return self._index[game_id]
        except KeyError:
            raise KeyError(f"game {game_id!r} is not in this store ({self.n_games} games)") from None

    def game_prices(self, i: int) -> np.ndarray:
        """Prices of game ``i``: ticks ``0 .. rug_tick``, the rug price last (a view)."""
        return self.prices[self.offsets[i] : self.offsets[i + 1]]

    def game_features(self, i: int) -> np.ndarray:
        """Market features of game ``i``, one row per tick (a view)."""
        return self.features[self.offsets[i] : self.offsets[i + 1]]

    def players(self, game_id: str) -> list[str]:
        """Usernames with a recorded session in ``game_id``, sorted."""
        return sorted(self.sessions.get(game_id, {}))

    def demo(self, game_id: str, player: str) -> tuple[SessionAction, ...]:
        """The actions ``player`` took in ``game_id`` (empty if none were recorded)."""
        return self.sessions.get(game_id, {}).get(player, ())

    @classmethod
    def from_prices(
        cls,
        games: Sequence[tuple[str, Sequence[float]]],
        *,
        start_times: Sequence[datetime | None] | None = None,
        rugged: Sequence[bool] | None = None,
        sessions: dict[str, dict[str, tuple[SessionAction, ...]]] | None = None,
    ) -> GameStore:
        """A store from ``(game_id, prices)`` pairs (prices: tick 0 .. rug, rug price last)."""
        if not games:
            raise ValueError("a game store needs at least one game")
        arrays = [np.asarray(p, dtype=np.float64) for _, p in games]
        for (gid, _), arr in zip(games, arrays, strict=True):
            if arr.ndim != 1 or len(arr) < 2 or not np.all(np.isfinite(arr)) or np.any(arr < 0):
                raise ValueError(f"game {gid}: prices must be >= 2 finite non-negative numbers")
        offsets = np.zeros(len(arrays) + 1, dtype=np.int64)
        offsets[1:] = np.cumsum([len(a) for a in arrays])
        feats = np.empty((int(offsets[-1]), N_MARKET), dtype=np.float32)
        for i, arr in enumerate(arrays):
            feats[offsets[i] : offsets[i + 1]] = market_features(arr)
        return cls(
            game_ids=[gid for gid, _ in games],
            prices=np.concatenate(arrays),
            offsets=offsets,
            start_times=list(start_times) if start_times is not None else [None] * len(arrays),
            rugged=np.array(rugged if rugged is not None else [True] * len(arrays), dtype=bool),
            features=feats,
            sessions=sessions or {},
        )

    @classmethod
    def from_recordings(cls, games: Iterable[GameRecording], sessions: Iterable[object] = ()) -> GameStore:
        """A store from game recordings (and session recordings, whose actions are split by game)."""
        games = sorted(games, key=lambda g: (g.meta.start_time, g.game_id))
        unique: dict[str, GameRecording] = {}
        for g in games:
            unique.setdefault(g.game_id, g)
        by_game: dict[str, dict[str, list[SessionAction]]] = {}
        for session in sessions:
            name = session.meta.username or session.meta.player_id  # type: ignore[attr-defined]
            for action in session.actions:  # type: ignore[attr-defined]
                if action.game_id in unique:
                    by_game.setdefault(action.game_id, {}).setdefault(name, []).append(action)
        demos = {
            gid: {p: tuple(sorted(acts, key=lambda a: (a.tick, a.timestamp))) for p, acts in players.items()}
            for gid, players in by_game.items()
        }
        return cls.from_prices(
            [(gid, g.prices) for gid, g in unique.items()],
            start_times=[g.meta.start_time for g in unique.values()],
            rugged=[g.meta.extra_fields.get("rugged", True) is not False for g in unique.values()],
            sessions=demos,
        )


def default_source() -> Path:
    """``datasets/sample/`` beside the installed package, else under the working directory."""
    here = Path(__file__).resolve().parents[2] / SAMPLE_DIR
    return here if here.is_dir() else Path.cwd() / SAMPLE_DIR


def recording_files(source: str | Path | Sequence[str | Path] | None) -> tuple[list[Path], list[Path]]:
    """The game files and session files of a source (see the module docstring), sorted by path."""
    if source is None:
        source = default_source()
    items = [source] if isinstance(source, (str, Path)) else list(source)
    games: set[Path] = set()
    sessions: set[Path] = set()
    for item in items:
        path = Path(item)
        if path.is_dir():
            files = [p for p in path.rglob("*.json") if not p.name.startswith(".") and p.is_file()]
        elif path.is_file():
            files = [path]
        else:
            raise FileNotFoundError(f"no recordings at {path}")
        for p in files:
            if p.name.endswith(GAME_SUFFIX):
                games.add(p)
            elif p.name.endswith(SESSION_SUFFIX):
                sessions.add(p)
    return sorted(games), sorted(sessions)


def _as_date(value: date | str | None) -> date | None:
    if value is None or isinstance(value, date):
        return value
    return date.fromisoformat(value)


def load_store(
    source: str | Path | Sequence[str | Path] | None = None,
    *,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
    with_sessions: bool = True,
) -> GameStore:
    """Load the games (and sessions) of ``source`` into a :class:`GameStore`; see the module docstring."""
    game_files, session_files = recording_files(source)
    lo, hi = _as_date(date_from), _as_date(date_to)
    games = []
    for path in game_files:
        game = read_game(path)
        day = game.meta.start_time.date()
        if (lo is None or day >= lo) and (hi is None or day <= hi):
            games.append(game)
    if not games:
        where = source if source is not None else default_source()
        raise FileNotFoundError(f"no game recordings in {where} (dates {lo} .. {hi})")
    sessions = [read_session(p) for p in session_files] if with_sessions else []
    return GameStore.from_recordings(games, sessions)


__all__ = ["GameStore", "default_source", "load_store", "recording_files"]
