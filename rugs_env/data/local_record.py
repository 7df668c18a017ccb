"""Recording games and bot sessions from an in-process local server (``rugs serve`` in a thread).

:func:`record_local` starts a :class:`~rugs_env.server.ServerThread` (bots trading, high speed), points the
live recorder (:class:`recorder.live.LiveRecorder`, exactly what ``rugs record`` runs) at it, following a few
bots as stand-ins for human players, and stops after ``games`` games watched live. It then compares what was
written with the server's ground truth, so that nothing is lost silently:

* games: every finished game the server played (its start-up history included) against the game files;
  the game still running when the recorder stopped is the expected difference;
* trades: every fill of each followed bot in the recorded games against the actions of its session files.

The demo (``rugs demo``) and the end-to-end tests use it; it needs no network beyond loopback.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

FILL_KINDS = {
    "buy": "BUY",
    "sell": "SELL",
    "sidebet_place": "SIDEBET_PLACE",
    "sidebet_win": "SIDEBET_WIN",
    "sidebet_lose": "SIDEBET_LOSE",
    "liquidation": "LIQUIDATION",
}


@dataclass
class LocalRecording:
    """What :func:`record_local` recorded and how it compares with the server's ground truth."""

    out: Path
    followed: list[str]
    live_games: int
    games_written: int
    sessions_written: int
    server_games: int  # finished games of the server's truth (start-up history included)
    missing_games: list[str] = field(default_factory=list)  # finished on the server, not in a file
    unfinished: list[str] = field(default_factory=list)  # still running on the server at the stop
    after_stop: int = 0  # games the server started after the recorder stopped (not expected)
    fills: dict[str, int] = field(default_factory=dict)  # player -> server fills in the recorded games
    explained: dict[str, int] = field(
        default_factory=dict
    )  # player -> fills made before the recorder started
    actions: dict[str, int] = field(default_factory=dict)  # player -> recorded session actions
    notes: list[str] = field(default_factory=list)

    @property
    def lossless(self) -> bool:
        """Every expected game written, every fill recorded but those explained (see compare_with_truth)."""
        return not self.missing_games and all(
            self.fills[p] - self.explained.get(p, 0) == self.actions.get(p, 0) for p in self.fills
        )


def _recorded(out: Path) -> tuple[set[str], dict[str, Counter[str]]]:
    """Game ids of the game files, and per username the session actions per game."""
    from recorder.files import RecordingsLayout
    from rugs_env.data.sources import action_key

    layout = RecordingsLayout(out)
    games = {g.game_id for g in layout.iter_games()}
    actions: dict[str, Counter[str]] = {}
    seen: set[tuple[object, ...]] = set()
    for s in layout.iter_sessions():
        for a in s.actions:  # an action copied into two files of a split session counts once
            key = action_key(s.meta.username, a)
            if key not in seen:
                seen.add(key)
                actions.setdefault(s.meta.username, Counter())[a.game_id] += 1
    return games, actions


def compare_with_truth(
    rec: LocalRecording,
    truth_games: list[dict[str, Any]],
    truth_fills: dict[str, list[dict[str, Any]]],
    started_ms: int,
    stopped_ms: int,
) -> None:
    """Fill in the comparison fields of ``rec`` from the server's truth (see the module docstring).

    ``started_ms`` / ``stopped_ms``: when the recorder started and stopped (server clock = wall clock). Games
    the server finished after the last game the recorder wrote are not expected (it had stopped); trades made
    before the recorder connected, in the game under way when it started, cannot be seen: such differences
    are explained, any other one is a loss.
    """
    games, actions = _recorded(rec.out)
    rec.games_written = len(games)
    # the server plays on while the recorder shuts down: the last game it wrote marks where it stopped
    ends = [g["end_ms"] for g in truth_games if g["game_id"] in games and g["end_ms"] is not None]
    stopped_ms = min(stopped_ms, max(ends)) if ends else stopped_ms
    rec.after_stop = sum(1 for g in truth_games if g["start_ms"] > stopped_ms)
    finished = [g for g in truth_games if g["end_ms"] is not None and g["end_ms"] <= stopped_ms]
    rec.server_games = len(finished)
    rec.unfinished = [
        g["game_id"]
        for g in truth_games
        if g["start_ms"] <= stopped_ms and (g["end_ms"] is None or g["end_ms"] > stopped_ms)
    ]
    rec.missing_games = [g["game_id"] for g in finished if g["game_id"] not in games]
    early = {g["game_id"] for g in truth_games if g["start_ms"] < started_ms}
    for player, fills in truth_fills.items():
        in_games = Counter(f["game_id"] for f in fills if f["game_id"] in games)
        got = actions.get(player, Counter())
        for gid in sorted(set(in_games) | set(got)):
            if in_games[gid] == got[gid]:
                continue
            why = " (the game was under way when the recorder started)" if gid in early else " (LOST)"
            rec.notes.append(
                f"{player} in game {gid}: {in_games[gid]} fills on the server, "
                f"{got[gid]} actions recorded{why}"
            )
            if gid in early:
                rec.explained[player] = rec.explained.get(player, 0) + in_games[gid] - got[gid]
        rec.fills[player] = sum(in_games.values())
        rec.actions[player] = sum(n for gid, n in got.items() if gid in games)


def record_local(
    out: str | Path,
    *,
    games: int = 150,
    bots: int = 4,
    follow: int = 4,
    speed: float = 150.0,
    seed: int | None = 7,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> LocalRecording:
    """Serve, record ``games`` live games following ``follow`` bots, stop, compare (module docstring)."""
    from recorder.feed import FeedOptions
    from recorder.live import LiveRecorder, RecordOptions
    from recorder.pipeline import PipelineConfig
    from rugs_env.server import ServerConfig, ServerThread

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name in ("socketio", "engineio", "aiohttp", "recorder"):
        logging.getLogger(name).setLevel(logging.ERROR)
    server = ServerThread(ServerConfig(speed=speed, seed=seed, bots=bots)).start()
    try:
        names = server.call(lambda s: [p.username for p in s.truth.players() if p.bot])[:follow]
        log(f"local server {server.url}: speed x{speed:g}, {bots} bots; following {', '.join(names)}")
        feed = FeedOptions(url=server.url, headers={}, reconnect_delay=0.05, reconnect_max=0.5)
        options = RecordOptions(
            out=out,
            feed=feed,
            pipeline=PipelineConfig(follow=tuple(names)),
            games=games,
            progress="off",
            index_interval=5.0,
        )
        recorder = LiveRecorder(options)
        started_ms = _now_ms()
        summary = asyncio.run(_run(recorder, games, progress))
        stopped_ms = _now_ms()
        truth_games = server.call(lambda s: s.truth.games_json())
        truth_fills = server.call(
            lambda s: {p.username: list(p.fills) for p in s.truth.players() if p.username in names}
        )
    finally:
        server.stop()
    rec = LocalRecording(out, names, summary.live_games, summary.games, summary.sessions, 0)
    compare_with_truth(rec, truth_games, truth_fills, started_ms, stopped_ms)
    return rec


def _now_ms() -> int:
    import time

    return int(time.time() * 1000)


async def _run(recorder: Any, games: int, progress: bool) -> Any:
    from tqdm import tqdm

    bar = tqdm(total=games, desc="record games", unit="game", disable=not progress, dynamic_ncols=True)
    task = asyncio.create_task(recorder.run())
    try:
        while not task.done():
            await asyncio.wait({task}, timeout=0.25)
            counters = recorder.pipeline.games.counters
            bar.n = min(counters.live, games)
            bar.set_postfix(
                sessions=len(recorder.pipeline.sessions), verified=counters.verified, refresh=False
            )
            bar.refresh()
        return task.result()
    finally:
        bar.close()


__all__ = ["LocalRecording", "compare_with_truth", "record_local"]
