"""Lenient views of the events about players: trades, sidebets, and the authenticated player's own updates.

Same rules as :mod:`recorder.events` (a field is of its documented type or the payload is refused with
:class:`~recorder.events.Malformed`); amounts in exact lamports, quantities in nano-tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from recorder.events import Malformed, _tick, as_game_id, as_int, as_price, as_str, lamports


# -- trades and sidebets ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Trade:
    """A ``standard/newTrade``: ``amount`` in lamports (spent or received), ``qty`` in nano-tokens."""

    trade_id: str | None
    game_id: str
    player_id: str
    username: str
    kind: str  # buy | sell | short_open | short_close
    tick: int
    price: float
    amount: int
    qty: int

    def identity(self) -> tuple[Any, ...]:
        """What tells this trade from others, for dropping the copies other connections deliver."""
        if self.trade_id:
            return ("trade", self.trade_id)
        return ("trade", self.game_id, self.player_id, self.kind, self.tick, self.amount, self.qty)


def parse_trade(payload: Any) -> Trade:
    if not isinstance(payload, dict):
        raise Malformed("newTrade payload is not an object")
    game_id = as_game_id(payload.get("gameId"))
    player_id = as_str(payload.get("playerId"), max_len=200)
    kind = as_str(payload.get("type"), max_len=32)
    tick, price = _tick(payload.get("tickIndex")), as_price(payload.get("price"))
    amount, qty = lamports(payload.get("amount")), lamports(payload.get("qty"))
    if game_id is None or not player_id or kind is None:
        raise Malformed("newTrade without a game id, player id or type")
    if tick is None or price is None or amount is None or amount < 0 or qty is None or qty < 0:
        raise Malformed("newTrade without a valid tickIndex, price, amount or qty")
    username = payload.get("username")
    return Trade(
        trade_id=as_str(payload.get("id"), max_len=200) or None,
        game_id=game_id,
        player_id=player_id,
        username=username if isinstance(username, str) else "",
        kind=kind,
        tick=tick,
        price=price,
        amount=amount,
        qty=qty,
    )


@dataclass(frozen=True, slots=True)
class SidebetEvent:
    """A sidebet placement or settlement (``newSideBet``, ``currentSidebet*``, ``globalSidebets``)."""

    game_id: str
    player_id: str
    username: str
    kind: str  # placed | payout
    bet: int  # lamports staked
    start_tick: int
    payout: int | None  # lamports paid (payout records): 0 for a loss
    tick_index: int | None
    price: float | None
    timestamp_ms: int | None
    record_id: str | None

    @property
    def won(self) -> bool:
        return bool(self.payout)


def parse_sidebet(payload: Any, *, default_kind: str | None = None) -> SidebetEvent:
    if not isinstance(payload, dict):
        raise Malformed("sidebet payload is not an object")
    game_id = as_game_id(payload.get("gameId"))
    player_id = as_str(payload.get("playerId"), max_len=200)
    kind = as_str(payload.get("type"), max_len=16) or default_kind
    bet = lamports(payload.get("betAmount"))
    start = _tick(payload.get("startedAtTick"))
    if start is None:
        start = _tick(payload.get("startTick"))
    if game_id is None or not player_id or kind not in ("placed", "payout"):
        raise Malformed("sidebet without a game id, player id or type")
    if bet is None or bet <= 0 or start is None:
        raise Malformed("sidebet without a valid betAmount or start tick")
    username = payload.get("username")
    return SidebetEvent(
        game_id=game_id,
        player_id=player_id,
        username=username if isinstance(username, str) else "",
        kind=kind,
        bet=bet,
        start_tick=start,
        payout=lamports(payload.get("payout")) if kind == "payout" else None,
        tick_index=_tick(payload.get("tickIndex")),
        price=as_price(payload.get("price")),
        timestamp_ms=as_int(payload.get("timestamp")),
        record_id=as_str(payload.get("id"), max_len=200) or None,
    )


# -- the authenticated player's own events ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class AccountUpdate:
    """A ``playerUpdate``: the server's own account of the player (lamports / nano-tokens)."""

    player_id: str | None
    cash: int
    position_qty: int | None
    avg_cost: int | None  # the wire's 9-decimal average cost, in 1e-9 units
    total_invested: int | None


def parse_player_update(payload: Any) -> AccountUpdate:
    if not isinstance(payload, dict):
        raise Malformed("playerUpdate payload is not an object")
    cash = lamports(payload.get("cash"))
    if cash is None:
        raise Malformed("playerUpdate without a valid cash")
    return AccountUpdate(
        player_id=as_str(payload.get("id"), max_len=200),
        cash=cash,
        position_qty=lamports(payload.get("positionQty")),
        avg_cost=lamports(payload.get("avgCost")),
        total_invested=lamports(payload.get("totalInvested")),
    )


@dataclass(frozen=True, slots=True)
class Identity:
    """``usernameStatus``: who the authenticated socket is."""

    player_id: str
    username: str


def parse_username_status(payload: Any) -> Identity:
    if not isinstance(payload, dict):
        raise Malformed("usernameStatus payload is not an object")
    player_id = as_str(payload.get("id"), max_len=200)
    if not player_id:
        raise Malformed("usernameStatus without an id")
    username = payload.get("username")
    return Identity(player_id, username if isinstance(username, str) else "")


@dataclass(frozen=True, slots=True)
class BoardEntry:
    """A leaderboard row (public, top 10) or ``gameStatePlayerUpdate.leaderboardEntry``."""

    player_id: str
    username: str
    position_qty: int | None
    avg_cost: int | None
    total_invested: int | None
    pnl: int | None
    regular_pnl: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def parse_board_entry(row: Any) -> BoardEntry:
    if not isinstance(row, dict):
        raise Malformed("leaderboard row is not an object")
    player_id = as_str(row.get("id"), max_len=200)
    if not player_id:
        raise Malformed("leaderboard row without an id")
    username = row.get("username")
    return BoardEntry(
        player_id=player_id,
        username=username if isinstance(username, str) else "",
        position_qty=lamports(row.get("positionQty")),
        avg_cost=lamports(row.get("avgCost")),
        total_invested=lamports(row.get("totalInvested")),
        pnl=lamports(row.get("pnl")),
        regular_pnl=lamports(row.get("regularPnl")),
    )
