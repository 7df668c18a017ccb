"""Plain HTTP JSON routes beside the Socket.IO endpoint, so a server run as a subprocess can be checked.

==============================  ===================================================================
``GET /``                       status: url, games played, phase, connections, counters
``GET /truth/games``            every game (``?finished=1`` finished only, ``?live=1`` without the
                                invented history games), as :meth:`GameRecord.to_json`
``GET /truth/games/{game_id}``  one game (404 if unknown)
``GET /truth/players``          every player with every fill of their ledger
``GET /truth/players/{id}``     one player (404 if unknown)
``GET /truth/orders``           every order event received, as :meth:`OrderRecord.to_json`, in order
                                (``?player=<id>`` one player's, ``?player=unauthenticated`` those of
                                sockets not logged in; ``?since=<seq>`` only ``seq`` above it)
``GET /truth/audit``            ``{"ok": bool, "problems": [...]}``: games verify, ledgers balance
==============================  ===================================================================
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aiohttp import web

from rugs_env.server.engine import GameEngine


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "").lower() in ("1", "true", "yes")


def add_routes(app: web.Application, engine: GameEngine, status: Callable[[], dict[str, Any]]) -> None:
    """Attach the status and ground-truth routes to ``app``."""

    async def index(request: web.Request) -> web.Response:
        return web.json_response(status())

    async def games(request: web.Request) -> web.Response:
        return web.json_response(
            engine.truth.games_json(
                include_prefilled=not _flag(request, "live"), finished_only=_flag(request, "finished")
            )
        )

    async def game(request: web.Request) -> web.Response:
        record = engine.truth.game(request.match_info["game_id"])
        if record is None:
            raise web.HTTPNotFound(text="unknown game id")
        return web.json_response(record.to_json())

    async def players(request: web.Request) -> web.Response:
        return web.json_response(engine.truth.players_json())

    async def player(request: web.Request) -> web.Response:
        record = engine.truth.player(request.match_info["player_id"])
        if record is None:
            raise web.HTTPNotFound(text="unknown player id")
        return web.json_response(record.to_json())

    async def orders(request: web.Request) -> web.Response:
        try:
            since = int(request.query.get("since", "0"))
        except ValueError:
            raise web.HTTPBadRequest(text="since: an integer sequence number") from None
        return web.json_response(engine.truth.orders_json(request.query.get("player"), since=since))

    async def audit(request: web.Request) -> web.Response:
        problems = engine.audit()
        return web.json_response({"ok": not problems, "problems": problems})

    app.router.add_get("/", index)
    app.router.add_get("/truth/games", games)
    app.router.add_get("/truth/games/{game_id}", game)
    app.router.add_get("/truth/players", players)
    app.router.add_get("/truth/players/{player_id}", player)
    app.router.add_get("/truth/orders", orders)
    app.router.add_get("/truth/audit", audit)
