"""Synthetic feeds in the real message shapes (PROTOCOL.md §2-§3), and deterministic games for the local
server (:func:`pick_games`), shared by the recorder's and the live-play tests."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from recorder.files import RecordingsLayout, read_game
from recorder.pipeline import PipelineConfig, RecorderPipeline
from recorder.sink import RecordingSink
from rugs_env.game.prng import generate, seed_hash

T0 = datetime(2025, 12, 12, 22, 0, 0, tzinfo=UTC)
TRACE = {"__trace": True, "traceparent": "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"}


def make_game(salt: str, low: int = 12, high: int = 60) -> tuple[str, str, list[float]]:
    """(seed, game id, pre-rug prices) of a deterministic game rugging between ``low`` and ``high``."""
    i = 0
    while True:
        digest = hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()
        game_id = f"20251212-{digest[:16]}"
        path = generate(digest, game_id)
        if low <= path.rug_tick <= high:
            return digest, game_id, path.prices
        i += 1


def pick_games(count: int, low: int, high: int, salt: str = "e2e") -> list[tuple[str, str]]:
    """``count`` (seed, game id) pairs rugging between ticks ``low`` and ``high``, with ids as random-looking
    as real ones (file names hold the first 8 hex digits of the id: sequential ids would collide)."""
    found: list[tuple[str, str]] = []
    i = 0
    while len(found) < count:
        digest = hashlib.sha256(f"{salt}:{i}".encode()).hexdigest()
        seed, game_id = digest, f"20250101-{digest[:16]}"
        if low <= generate(seed, game_id).rug_tick <= high:
            found.append((seed, game_id))
        i += 1
    return found


def history_entry(
    seed: str,
    game_id: str,
    prices: list[float],
    rug: float,
    *,
    with_prices: bool = True,
    sidebets: list[dict[str, Any]] | None = None,
    ts: datetime = T0,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": game_id, "timestamp": int(ts.timestamp() * 1000)}
    if with_prices:
        entry["prices"] = [*prices, rug]
    entry.update(
        {
            "peakMultiplier": max(prices),
            "rugged": True,
            "gameVersion": "v3",
            "globalTrades": [],
            "globalSidebets": sidebets or [],
            "provablyFair": {"serverSeed": seed, "serverSeedHash": seed_hash(seed)},
        }
    )
    return entry


class Feed:
    """Events with times, built in the real shapes; ``play`` feeds them to a pipeline."""

    def __init__(self, start: datetime = T0) -> None:
        self.t = start
        self.events: list[tuple[datetime, str, list[Any]]] = []

    def emit(self, event: str, payload: Any, dt: float = 0.1, trace: bool = False) -> None:
        self.t += timedelta(seconds=dt)
        self.events.append((self.t, event, [TRACE, payload] if trace else [payload]))

    def play(self, pipeline: RecorderPipeline, finish: bool = True) -> RecorderPipeline:
        for at, event, args in self.events:
            pipeline.feed(at, event, args)
        if finish:
            pipeline.finish()
        return pipeline

    def game(
        self,
        seed: str,
        game_id: str,
        prices: list[float],
        rug: float,
        *,
        history: list[dict] = (),
        drop: set[int] = frozenset(),
        trades: dict[int, list[dict]] | None = None,
        rug_message: bool = True,
        post_rug: bool = True,
        cooldown: bool = True,
        start_tick: int = 0,
    ) -> None:
        """One game: cooldown (its first message carrying ``history``), presale, ticks, rug, post-rug."""
        pf = {"serverSeedHash": seed_hash(seed), "version": "v3"}
        if cooldown:
            self.emit(
                "gameStateUpdate",
                {
                    "gameId": game_id,
                    "active": False,
                    "rugged": False,
                    "price": 1,
                    "tickCount": 0,
                    "cooldownTimer": 15000,
                    "allowPreRoundBuys": False,
                    "partialPrices": {"startTick": 0, "endTick": 0, "values": {"0": 1}},
                    "gameHistory": list(history),
                    "provablyFair": pf,
                    "leaderboard": [],
                },
            )
            for timer in (14000, 10000, 5000, 100):
                self.emit(
                    "gameStateUpdate",
                    {
                        "gameId": game_id,
                        "cooldownTimer": timer,
                        "cooldownPaused": False,
                        "allowPreRoundBuys": timer <= 10000,
                        "leaderboard": [],
                        "connectedPlayers": 5,
                        "provablyFair": pf,
                    },
                )
        for tick in range(start_tick, len(prices)):
            for trade in (trades or {}).get(tick, []):
                self.emit("standard/newTrade", trade, dt=0.01, trace=True)
            if tick in drop:
                self.t += timedelta(seconds=0.25)
                continue
            lo = max(0, tick - 4)
            self.emit(
                "gameStateUpdate",
                {
                    "active": True,
                    "price": prices[tick],
                    "rugged": False,
                    "tickCount": tick,
                    "cooldownTimer": 0,
                    "partialPrices": {
                        "startTick": lo,
                        "endTick": tick,
                        "values": {str(k): prices[k] for k in range(lo, tick + 1)},
                    },
                    "gameId": game_id,
                    "tradeCount": 0,
                    "leaderboard": [],
                    "provablyFair": pf,
                },
                dt=0.25,
            )
        rug_tick = len(prices)
        full = [*prices, rug]
        window = {str(k): full[k] for k in range(max(0, rug_tick - 4), rug_tick + 1)}
        partial = {"startTick": max(0, rug_tick - 4), "endTick": rug_tick, "values": window}
        if rug_message:
            self.emit(
                "gameStateUpdate",
                {
                    "active": True,
                    "price": rug,
                    "rugged": True,
                    "tickCount": rug_tick,
                    "cooldownTimer": 0,
                    "partialPrices": partial,
                    "gameId": game_id,
                    "leaderboard": [],
                    "provablyFair": pf,
                },
                dt=0.25,
            )
        if post_rug:  # keeps counting ticks; its history does not hold this game yet
            self.emit(
                "gameStateUpdate",
                {
                    "active": True,
                    "price": rug,
                    "rugged": True,
                    "tickCount": rug_tick + 2,
                    "cooldownTimer": 0,
                    "partialPrices": partial,
                    "gameId": game_id,
                    "gameHistory": list(history),
                    "provablyFair": pf,
                },
                dt=1.5,
            )


def pipeline(tmp: Path, **config: Any) -> RecorderPipeline:
    return RecorderPipeline(RecordingSink(tmp, index_interval=-1), PipelineConfig(**config))


def games_by_id(root: Path) -> dict[str, Any]:
    return {g.game_id: g for g in (read_game(p) for p in RecordingsLayout(root).game_files())}


def trade(
    game_id: str,
    player: str,
    name: str,
    kind: str,
    tick: int,
    price: float,
    amount: float,
    qty: float,
    tid: str,
) -> dict[str, Any]:
    return {
        "id": tid,
        "gameId": game_id,
        "playerId": player,
        "username": name,
        "type": kind,
        "price": price,
        "tickIndex": tick,
        "coin": "solana",
        "amount": amount,
        "qty": qty,
    }


def lines_of(path: Path) -> list[Any]:
    """The JSON values of a JSON-lines file (blank lines skipped)."""
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write_lines(path: Path, lines: list[Any]) -> Path:
    """Write one JSON value per line; returns ``path``."""
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
