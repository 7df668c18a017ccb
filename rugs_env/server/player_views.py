"""Payloads about players, built from their ledger (PROTOCOL.md §3.1-§3.8), keys in the real order.

Every number comes from :meth:`Ledger.player_update` or a :class:`Fill`; this module only arranges them
into the wire's shapes (and spells integral doubles the JavaScript way, see :func:`wire.num`).
"""

from __future__ import annotations

import random
import uuid
from typing import Any

from rugs_env.game import constants as C
from rugs_env.game.ledger import Fill, FillKind, Sidebet
from rugs_env.game.money import floor_nano, from_nano
from rugs_env.server.players import Account
from rugs_env.server.stats import GameStats
from rugs_env.server.wire import num

XP_PER_LEVEL = 5000


def trade_id(rng: random.Random) -> str:
    """A UUID v4 (as real trade and sidebet ids are) from the seeded generator."""
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def _n(numbers: dict[str, Any], key: str) -> Any:
    value = numbers[key]
    return num(value) if isinstance(value, float) else value


def leaderboard_row(
    account: Account, numbers: dict[str, Any], position: int, *, presale: bool = False
) -> dict:
    """A leaderboard row: 17 keys during a game, the 14-key presale form (no PnL components) in presale."""
    bet = numbers["sideBet"]
    if presale:
        return {
            "id": account.player_id,
            "username": account.username,
            "level": account.level,
            "pnl": num(numbers["pnl"]),
            "pnlPercent": num(numbers["pnlPercent"]),
            "sidebetActive": numbers["sidebetActive"],
            "sideBet": _wire_bet(bet) if bet else None,
            "shortPosition": None,
            "hasActiveTrades": numbers["hasActiveTrades"],
            "positionQty": num(numbers["positionQty"]),
            "avgCost": num(numbers["avgCost"]),
            "totalInvested": num(numbers["totalInvested"]),
            "selectedCoin": None,
            "position": position,
        }
    return {
        "id": account.player_id,
        "username": account.username,
        "level": account.level,
        "pnl": num(numbers["pnl"]),
        "regularPnl": num(numbers["regularPnl"]),
        "sidebetPnl": num(numbers["sidebetPnl"]),
        "shortPnl": 0,
        "sidebetActive": numbers["sidebetActive"],
        "sideBet": _wire_bet(bet) if bet else None,
        "shortPosition": None,
        "pnlPercent": num(numbers["pnlPercent"]),
        "hasActiveTrades": numbers["hasActiveTrades"],
        "positionQty": num(numbers["positionQty"]),
        "avgCost": num(numbers["avgCost"]),
        "totalInvested": num(numbers["totalInvested"]),
        "selectedCoin": None,
        "position": position,
    }


def _wire_bet(bet: dict[str, Any] | None) -> dict[str, Any] | None:
    if bet is None:
        return None
    return {k: num(v) if isinstance(v, float) else v for k, v in bet.items()}


def player_update(account: Account, numbers: dict[str, Any]) -> dict[str, Any]:
    """``playerUpdate``: the account as the server sees it (sent on authenticate, trades and settlement)."""
    level = account.level
    return {
        "id": account.player_id,
        "role": None,
        "authenticated": True,
        "cash": _n(numbers, "cash"),
        "bonusBalance": 0,
        "bonusWagerReq": 0,
        "bonusWagered": 0,
        "cumulativePnL": _n(numbers, "cumulativePnL"),
        "positionQty": _n(numbers, "positionQty"),
        "avgCost": _n(numbers, "avgCost"),
        "totalInvested": _n(numbers, "totalInvested"),
        "pnlPercent": _n(numbers, "pnlPercent"),
        "sidebetPnl": _n(numbers, "sidebetPnl"),
        "shortPosition": None,
        "leveragedPositions": [],
        "sidebets": [],
        "sideBet": _wire_bet(numbers["sideBet"]),
        "autobuysEnabled": False,
        "autosellPrice": None,
        "hasInteracted": account.interacted,
        "hitMaxWin": False,
        "selectedCoin": None,
        "shitcoinBalances": {C.PRACTICE_COIN: 100},
        "levelInfo": {
            "level": level,
            "xp": account.xp % XP_PER_LEVEL,
            "xpForNextLevel": XP_PER_LEVEL,
            "totalXP": level * XP_PER_LEVEL + account.xp % XP_PER_LEVEL,
        },
        "xpBoost": {"active": False, "activeUntil": 0, "available": 0},
    }


def game_state_player_update(game_id: str, stats: GameStats, entry: dict[str, Any] | None) -> dict[str, Any]:
    """``gameStatePlayerUpdate``: the player's own leaderboard row (when playing) and the rugpool."""
    msg: dict[str, Any] = {"gameId": game_id}
    if entry is not None:
        msg["leaderboardEntry"] = entry
    pool = stats.rugpool()
    msg["rugpool"] = {
        "instarugCount": pool["instarugCount"],
        "rugpoolAmount": pool["rugpoolAmount"],
        "totalEntries": 0,
        "threshold": pool["threshold"],
    }
    return msg


def username_status(account: Account) -> dict[str, Any]:
    return {"id": account.player_id, "hasUsername": True, "username": account.username}


def new_trade(account: Account, fill: Fill, tid: str) -> dict[str, Any]:
    """``standard/newTrade`` for a buy, a sell or a forced sell at the rug (shown as a sell)."""
    amount = num(fill.amount_sol)
    real = num(
        from_nano(floor_nano(fill.amount_sol))
    )  # the portion is one more 9-decimal floor (ledger_math)
    if fill.kind is FillKind.BUY:
        return {
            "id": tid,
            "gameId": fill.game_id,
            "playerId": account.player_id,
            "price": num(fill.price),
            "type": "buy",
            "qty": num(fill.qty_tokens),
            "tickIndex": fill.tick,
            "coin": "solana",
            "amount": amount,
            "leverage": 1,
            "bonusPortion": 0,
            "realPortion": real,
            "username": account.username,
            "level": account.level,
        }
    return {
        "id": tid,
        "gameId": fill.game_id,
        "playerId": account.player_id,
        "type": "sell",
        "price": num(fill.price),
        "tickIndex": fill.tick,
        "coin": "solana",
        "amount": amount,
        "qty": num(fill.qty_tokens),
        "bonusPortion": 0,
        "realPortion": real,
        "username": account.username,
        "level": account.level,
    }


def sidebet_placed(
    account: Account, fill: Fill, sidebet: Sidebet, tid: str, now_ms: int
) -> tuple[dict, dict]:
    """``(globalSidebets 'placed' record, currentSidebet payload)`` for the sidebet just opened."""
    bet = num(fill.amount_sol)
    end = sidebet.end_tick
    record = {
        "playerId": account.player_id,
        "username": account.username,
        "gameId": fill.game_id,
        "betAmount": bet,
        "xPayout": C.SIDEBET_X_PAYOUT,
        "coinAddress": C.SOL_MINT,
        "bonusPortion": 0,
        "realPortion": bet,
        "timestamp": now_ms,
        "type": "placed",
        "startedAtTick": fill.tick,
        "end": end,
        "id": tid,
    }
    current = {
        "playerId": account.player_id,
        "gameId": fill.game_id,
        "username": account.username,
        "level": account.level,
        "price": num(fill.price),
        "betAmount": bet,
        "xPayout": C.SIDEBET_X_PAYOUT,
        "coinAddress": C.SOL_MINT,
        "startTick": fill.tick,
        "endTick": end,
        "tickIndex": fill.tick,
        "timestamp": now_ms,
        "type": "placed",
    }
    return record, current


def sidebet_settled(account: Account, fill: Fill, bet: Sidebet, tid: str, now_ms: int) -> tuple[dict, dict]:
    """``(globalSidebets 'payout' record, currentSidebetResult payload)`` for a won or lost sidebet.

    ``bet`` is the sidebet as it was open. A win pays ``bet.payout`` at the rug (``tickIndex`` = rug tick,
    with ``price`` and ``level``); a loss shows ``payout 0``, ``profit -bet`` and ``tickIndex = startTick``
    like the real records.
    """
    won = fill.kind is FillKind.SIDEBET_WIN
    stake = num(from_nano(bet.stake))
    payout = num(from_nano(bet.payout)) if won else 0
    profit = num(from_nano(bet.payout - bet.stake)) if won else num(-from_nano(bet.stake))
    tick_index = fill.tick if won else bet.start_tick
    record: dict[str, Any] = {
        "playerId": account.player_id,
        "gameId": fill.game_id,
        "username": account.username,
    }
    if won:
        record["level"] = account.level
    record.update(
        {
            "betAmount": stake,
            "payout": payout,
            "profit": profit,
            "xPayout": C.SIDEBET_X_PAYOUT,
            "coinAddress": C.SOL_MINT,
            "endTick": bet.end_tick,
            "startTick": bet.start_tick,
            "tickIndex": tick_index,
        }
    )
    if won:
        record["price"] = num(fill.price)
    record.update({"timestamp": now_ms, "type": "payout", "id": tid})
    result = {
        "playerId": account.player_id,
        "gameId": fill.game_id,
        "username": account.username,
        "level": account.level,
        "type": "payout",
        "betAmount": stake,
        "payout": payout,
        "profit": profit,
        "xPayout": C.SIDEBET_X_PAYOUT,
        "startTick": bet.start_tick,
        "endTick": bet.end_tick,
        "tickIndex": tick_index,
        "price": num(fill.price),
        "coinAddress": C.SOL_MINT,
        "timestamp": now_ms,
    }
    return record, result


def fill_json(fill: Fill, now_ms: int) -> dict[str, Any]:
    """A ledger fill for the ground truth: exact integers (lamports, nano-tokens) and the price."""
    return {
        "kind": fill.kind.value,
        "game_id": fill.game_id,
        "tick": fill.tick,
        "price": fill.price,
        "amount_lamports": fill.amount,
        "qty_nano": fill.qty,
        "cash_after_lamports": fill.cash_after,
        "position_qty_after_nano": fill.position_qty_after,
        "avg_cost_after": fill.avg_cost_after,
        "realised_pnl_after_lamports": fill.realised_pnl_after,
        "game_pnl_after_lamports": fill.game_pnl_after,
        "timestamp": now_ms,
    }
