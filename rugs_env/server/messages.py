"""``gameStateUpdate`` payloads in the four real shapes (PROTOCOL.md §3.1), keys in the real order.

=================  ====  ==========================================================================
shape              keys  sent
=================  ====  ==========================================================================
minimal cooldown      7  every cooldown/presale step (100 ms)
active tick          21  every tick incl. the rug tick; also once at the presale flip (``active`` false)
tick-0 slim          14  first message of a game's tick 0
full                 36  tick 0 (after the slim one), post-rug, first cooldown message, and on connect
                         (with ``prices`` instead of ``partialPrices``)
=================  ====  ==========================================================================

The full shape is the Dec-2025 one (``highestTodayPrices``, ``godCandle{N}xPrices``); Feb 2026 renamed
those to ``...GameId``/``...ServerSeed`` (PROTOCOL.md §8), which the conformance test accounts for.
"""

from __future__ import annotations

from typing import Any

from rugs_env.server.games import GameSpec
from rugs_env.server.stats import GameStats

RUG_ROYALE: dict[str, Any] = {
    "status": "INACTIVE",
    "activeEventId": None,
    "currentEvent": None,
    "upcomingEvents": [],
    "events": [],
}
PARTIAL_WINDOW = 5  # partialPrices covers ticks [max(0, tick - 4) .. tick]
TICK0_PARTIAL: dict[str, Any] = {"startTick": 0, "endTick": 0, "values": {"0": 1}}


def provably_fair(spec: GameSpec) -> dict[str, Any]:
    """The commitment published during the game (never the seed itself)."""
    return {"serverSeedHash": spec.server_seed_hash, "version": spec.version}


def partial_prices(wire_prices: list[Any], tick: int) -> dict[str, Any]:
    """The rolling window of the last <= 5 prices ending at ``tick`` (``wire_prices[k]`` = price at k)."""
    start = max(0, tick - (PARTIAL_WINDOW - 1))
    return {
        "startTick": start,
        "endTick": tick,
        "values": {str(k): wire_prices[k] for k in range(start, tick + 1)},
    }


def cooldown_minimal(
    game_id: str, timer: int, presale: bool, leaderboard: list[dict], connected: int, pf: dict
) -> dict[str, Any]:
    """The 7-key message sent every 100 ms of cooldown and presale."""
    return {
        "gameId": game_id,
        "cooldownTimer": timer,
        "cooldownPaused": False,
        "allowPreRoundBuys": presale,
        "leaderboard": leaderboard,
        "connectedPlayers": connected,
        "provablyFair": pf,
    }


def active_tick(
    *,
    game_id: str,
    active: bool,
    rugged: bool,
    price: Any,
    tick: int,
    partial: dict[str, Any],
    trade_count: int,
    timer: int,
    presale: bool,
    leaderboard: list[dict],
    connected: int,
    pf: dict,
    stats: GameStats,
) -> dict[str, Any]:
    """The 21-key message: every active tick, the rug tick (``rugged`` true, ``active`` still true) and the
    presale flip (``active`` false, ``cooldownTimer`` 10000, ``allowPreRoundBuys`` true)."""
    msg: dict[str, Any] = {
        "active": active,
        "price": price,
        "partialPrices": partial,
        "tradeCount": trade_count,
        "rugged": rugged,
        "tickCount": tick,
        "cooldownTimer": timer,
        "cooldownPaused": False,
        "pauseMessage": "",
        "allowPreRoundBuys": presale,
    }
    msg.update(stats.rolling())
    msg["leaderboard"] = leaderboard
    msg["gameId"] = game_id
    msg["connectedPlayers"] = connected
    msg["rugpool"] = stats.rugpool()
    msg["rugRoyale"] = RUG_ROYALE
    msg["provablyFair"] = pf
    return msg


def tick0_slim(game_id: str, connected: int, pf: dict, version: str) -> dict[str, Any]:
    """The 14-key first message of tick 0 (leaderboard always empty)."""
    return {
        "active": True,
        "price": 1,
        "rugged": False,
        "tickCount": 0,
        "cooldownTimer": 0,
        "cooldownPaused": False,
        "pauseMessage": "",
        "allowPreRoundBuys": False,
        "leaderboard": [],
        "gameId": game_id,
        "connectedPlayers": connected,
        "gameVersion": version,
        "partialPrices": TICK0_PARTIAL,
        "provablyFair": pf,
    }


def full(
    stats: GameStats,
    *,
    game_id: str,
    active: bool,
    rugged: bool,
    price: Any,
    tick: int,
    timer: int,
    presale: bool,
    leaderboard: list[dict],
    connected: int,
    version: str,
    pf: dict,
    partial: dict[str, Any] | None = None,
    prices: list[Any] | None = None,
) -> dict[str, Any]:
    """The 36-key message: cross-game block, then the game's state; ``prices`` (on connect) replaces
    ``partialPrices``."""
    msg = dict(stats.full_block())
    msg.update(
        {
            "active": active,
            "price": price,
            "rugged": rugged,
            "tickCount": tick,
            "cooldownTimer": timer,
            "cooldownPaused": False,
            "pauseMessage": "",
            "allowPreRoundBuys": presale,
            "leaderboard": leaderboard,
            "gameId": game_id,
            "connectedPlayers": connected,
            "gameVersion": version,
        }
    )
    if prices is not None:
        msg["prices"] = prices
    else:
        msg["partialPrices"] = partial if partial is not None else TICK0_PARTIAL
    msg["provablyFair"] = pf
    return msg
