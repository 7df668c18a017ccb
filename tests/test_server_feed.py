"""The public feed over real sockets with the real clock, and `rugs serve` as a subprocess.

A client watches several games from the start; another joins mid-game. What they receive must be the game
the server played: ticks in order, each price the seed's (the rug price the server's), the seed revealed in
the next game's first message and regenerating every price, the snapshot on connect carrying the prices
so far. No timing assertions: the server runs fast and the waits are generous.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

from rugs_env.game.prng import verify
from rugs_env.server import RugsServer, ServerConfig
from rugs_env.server.testing import FeedClient, Received, find_games

ROOT = Path(__file__).resolve().parent.parent
GAMES = find_games(lambda p: 5 <= p.rug_tick <= 40, 2, start=20_000) + find_games(
    lambda p: 400 <= p.rug_tick <= 600, 1, start=30_000
)


def seen_prices(events: list[Received], game_id: str) -> dict[int, float]:
    """tick -> price from the active-tick messages of one game (rug tick included)."""
    out: dict[int, float] = {}
    for rec in events:
        p = rec.payload
        if rec.event == "gameStateUpdate" and isinstance(p, dict) and p.get("gameId") == game_id:
            if (
                "tickCount" in p
                and p.get("active")
                and "partialPrices" in p
                and not (p.get("rugged") and len(p) == 36)
            ):
                out.setdefault(p["tickCount"], p["price"])
    return out


async def watch_games() -> None:
    config = ServerConfig(speed=100, seed=21, bots=3, games=GAMES, max_games=4)
    async with RugsServer(config) as server:
        async with FeedClient(server.url, timeout=60) as watcher:
            first = await watcher.wait_for(lambda r: r.event == "gameStateUpdate")
            assert "prices" in first.payload
            # join mid-game: the snapshot carries every price so far
            active = await watcher.wait_state(
                lambda p: (
                    p.get("gameId") == GAMES[2][1] and p.get("tickCount", 0) > 20 and p.get("active") is True
                )
            )
            async with FeedClient(server.url, timeout=60) as late:
                snap = (await late.wait_for(lambda r: r.event == "gameStateUpdate")).payload
                assert len(snap) == 36 and "prices" in snap and snap["gameId"] == GAMES[2][1]
                record = server.truth.game(GAMES[2][1])
                assert snap["prices"] == record.recorded_prices()[: len(snap["prices"])]
                assert len(snap["prices"]) >= active.payload["tickCount"] + 1
                assert snap["connectedPlayers"] >= 2 + 3
            await server.wait_for_games(3, timeout=60)
            await watcher.wait_state(
                lambda p: p.get("gameId") not in {g for _, g in GAMES} and "gameHistory" in p
            )
        events = watcher.events
        for seed, game_id in GAMES:
            record = server.truth.game(game_id)
            # the reveal: the next game's first cooldown message
            reveal = next(
                r.payload["gameHistory"][0]
                for r in events
                if r.event == "gameStateUpdate"
                and r.payload.get("cooldownTimer") == 15000
                and r.payload["gameHistory"][0]["id"] == game_id
            )
            assert reveal["provablyFair"]["serverSeed"] == seed
            assert verify(
                seed,
                game_id,
                reveal["prices"],
                server_seed_hash=reveal["provablyFair"]["serverSeedHash"],
                peak=reveal["peakMultiplier"],
            ).ok
            assert reveal["prices"] == record.recorded_prices()
            ticks = seen_prices(events, game_id)
            if game_id != GAMES[0][1]:  # the watcher saw these from their first tick
                assert sorted(ticks) == list(range(0, record.rug_tick + 1))
            assert all(reveal["prices"][t] == price for t, price in ticks.items())
        trades = watcher.of("standard/newTrade")
        assert trades and all(len(r.args) == 2 and r.args[0]["__trace"] is True for r in trades)
        assert all(len(r.args) == 1 for r in watcher.of("gameStateUpdate"))
        assert server.engine.audit() == [] and server.app.errors == 0


def test_watch_games_and_join_mid_game() -> None:
    asyncio.run(asyncio.wait_for(watch_games(), 90))


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return json.loads(resp.read())


async def talk_to(url: str) -> None:
    async with FeedClient(url) as c:
        assert (await c.authenticate("cli-token"))["success"] is True
        await c.wait_state(lambda p: p.get("allowPreRoundBuys") is True)
        assert (await c.call("buyOrder", {"amount": 0.25}))["success"] is True


def test_cli_subprocess_serves_truth_and_stops_cleanly(tmp_path: Path) -> None:
    players = tmp_path / "players.json"
    players.write_text(
        json.dumps(
            {
                "players": [
                    {
                        "token": "cli-token",
                        "id": "did:privy:cmclitest0000000000000001",
                        "username": "alice",
                        "balance": "3",
                    }
                ]
            }
        )
    )
    cmd = [
        sys.executable,
        "-c",
        "import sys; from rugs_env.cli import main; sys.exit(main())",
        "serve",
        "--port",
        "0",
        "--speed",
        "50",
        "--seed",
        "5",
        "--bots",
        "2",
        "--players",
        str(players),
    ]
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:"), url
        asyncio.run(asyncio.wait_for(talk_to(url), 60))
        fills = get_json(f"{url}/truth/players/did:privy:cmclitest0000000000000001")["fills"]
        assert [f["kind"] for f in fills] == ["buy"] and fills[0]["amount_lamports"] == 250_000_000
        status = get_json(url + "/")
        assert status["games_started"] >= 1 and status["clock_error"] is None
        games = get_json(url + "/truth/games?live=1")
        assert games and all(not g["prefilled"] for g in games)
        assert get_json(url + "/truth/audit") == {"ok": True, "problems": []}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


def test_server_thread_handle_for_sync_code() -> None:
    from rugs_env.server import ServerThread

    with ServerThread(ServerConfig(speed=200, seed=4, bots=2, games=GAMES[:2], max_games=2)) as server:
        assert get_json(server.url + "/")["url"] == server.url
        server.wait_for_games(2, timeout=60)
        games = server.call(lambda s: s.truth.games_json(include_prefilled=False))
        assert [g["game_id"] for g in games] == [g for _, g in GAMES[:2]]
        assert server.call(lambda s: s.engine.audit()) == []
        assert server.order("did:privy:nobody", "buyOrder", {"amount": 0.01})["reason"] == "unknown_player"
        bot = server.call(lambda s: s.engine.bots.bots[0].player_id)
        assert server.order(bot, "buyOrder", {"amount": 0.01})["reason"] == "trading_closed"  # games over
