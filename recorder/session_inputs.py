"""What a followed player's session is re-derived from: the inputs of each game (see session_replay)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


class GameOracle(Protocol):
    """What a session needs to know about games (implemented by the game recorder)."""

    def price_at(self, game_id: str, tick: int) -> float | None: ...
    def tick_time(self, game_id: str, tick: int) -> datetime | None: ...
    def current_tick(self, game_id: str) -> int | None: ...
    def rank_of(self, game_id: str) -> float: ...
    def entry_guess(self, game_id: str) -> tuple[int, float]: ...


Rug = tuple[int, float, datetime]  # (tick, price, time) of a game's rug

# A leaderboard row of the player: (tick, positionQty, totalInvested, regularPnl or None), in 1e-9 units.
BoardRow = tuple[int, int, int, int | None]


@dataclass(slots=True)
class Input:
    """Something the player did in a game: a buy, a sell or a sidebet placement."""

    kind: str  # buy | sell | sidebet | open (tokens held but never seen bought)
    game_id: str
    tick: int
    price: float | None  # the execution price (None for a sidebet known only from history)
    amount: int  # lamports: spent (buy), received (sell, per the wire), staked (sidebet)
    qty: int  # nano-tokens bought or sold (0 for sidebets)
    at: datetime
    order: tuple[int, int]  # (time in ms, arrival sequence): the order within a tick
    trade_id: str | None = None
    seen: dict[int, int] = field(default_factory=dict)  # connection -> arrival sequence (arrival_order)
    inferred: bool = False  # not seen: put back from the leaderboard (board_check)


@dataclass(slots=True)
class GameInputs:
    """Everything known about one player in one game."""

    game_id: str
    rank: float  # the game's place in time (games are replayed in this order)
    inputs: list[Input] = field(default_factory=list)
    sidebet_starts: set[int] = field(default_factory=set)
    results: dict[int, bool] = field(default_factory=dict)  # sidebet start tick -> won, per the server
    forced_sales: list[int] = field(default_factory=list)  # wire proceeds of forced sales at the rug
    rug: Rug | None = None
    final: bool = False  # the game is over and everything about it is known
    board: tuple[int, int, int] | None = None  # first leaderboard row: (tick, avgCost, positionQty), 1e-9
    rows: list[BoardRow] = field(default_factory=list)  # the rows whose position or investment changed
    last_row: tuple[object, object] | None = None  # the last row's raw (positionQty, totalInvested)
