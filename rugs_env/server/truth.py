"""The server's ground truth: every game it played, every fill of every player and every order it received,
for tests to check recorders and players against.

Faults never touch this: it is written by the engine, the trading desk and the socket app's order handler,
not by the send path (an order whose ack a fault withholds is recorded as handled, marked ``ack_lost``).
Read it in-process (``engine.truth``), as JSON (:meth:`Truth.games_json`, :meth:`Truth.players_json`,
:meth:`Truth.orders_json`), or over HTTP from a server run as a subprocess (``GET /truth/games``,
``/truth/games/{id}``, ``/truth/players``, ``/truth/players/{id}``, ``/truth/orders``; see
:mod:`rugs_env.server.routes`). The orders received: :mod:`rugs_env.server.order_log`.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from rugs_env.game.prng import verify
from rugs_env.server.games import GameSpec
from rugs_env.server.order_log import OrderLog, OrderRecord


@dataclass(slots=True)
class GameRecord:
    """One game as the server played it. ``prices`` are pre-rug (``rug_tick == len(prices)``)."""

    game_id: str
    server_seed: str | None
    server_seed_hash: str
    version: str
    prices: list[float]
    rug_price: float
    peak: float
    start_ms: int
    end_ms: int | None = None
    prefilled: bool = False  # invented at start-up to fill gameHistory: never broadcast tick by tick
    trades: list[dict[str, Any]] = field(default_factory=list)  # newTrade payloads, forced sells included
    sidebets: list[dict[str, Any]] = field(default_factory=list)  # placed and payout records
    history_entry: dict[str, Any] | None = None  # the gameHistory entry that revealed the seed

    @property
    def rug_tick(self) -> int:
        return len(self.prices)

    @property
    def finished(self) -> bool:
        return self.end_ms is not None

    def recorded_prices(self) -> list[float]:
        """The recording format's array: pre-rug prices then the rug price."""
        return [*self.prices, self.rug_price]

    def verify(self) -> list[str]:
        """Problems found when regenerating the game from its seed (empty when it verifies)."""
        if self.server_seed is None:
            return [f"{self.game_id}: no seed to verify against"]
        result = verify(
            self.server_seed,
            self.game_id,
            self.recorded_prices(),
            server_seed_hash=self.server_seed_hash,
            peak=self.peak,
            version=self.version,
        )
        return [] if result.ok else [result.summary()]

    def to_json(self) -> dict[str, Any]:
        return {
            "game_id": self.game_id,
            "server_seed": self.server_seed,
            "server_seed_hash": self.server_seed_hash,
            "version": self.version,
            "rug_tick": self.rug_tick,
            "rug_price": self.rug_price,
            "peak": self.peak,
            "prices": self.recorded_prices(),
            "start_ms": self.start_ms,
            "end_ms": self.end_ms,
            "prefilled": self.prefilled,
            "trades": self.trades,
            "sidebets": self.sidebets,
        }


@dataclass(slots=True)
class PlayerRecord:
    """A player's identity and every fill of their ledger, in order."""

    player_id: str
    username: str
    bot: bool
    starting_balance_lamports: int
    fills: list[dict[str, Any]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)  # latest account snapshot (set on every fill)

    def to_json(self) -> dict[str, Any]:
        return {
            "player_id": self.player_id,
            "username": self.username,
            "bot": self.bot,
            "starting_balance_lamports": self.starting_balance_lamports,
            "state": self.state,
            "fills": self.fills,
        }


class Truth:
    """Ground truth store; keeps at most ``max_games`` games and ``max_orders`` orders received (the oldest
    are dropped first)."""

    def __init__(self, max_games: int = 10_000, max_orders: int = 100_000) -> None:
        self._games: OrderedDict[str, GameRecord] = OrderedDict()
        self._players: dict[str, PlayerRecord] = {}
        self._max_games = max_games
        self.order_log = OrderLog(max_orders)  # written by the socket app (and RugsServer.order)

    # -- writers (engine and desk) -----------------------------------------------------------------------
    def _add(self, record: GameRecord) -> None:
        self._games[record.game_id] = record
        while len(self._games) > self._max_games:
            self._games.popitem(last=False)

    def _record_of(self, spec: GameSpec, start_ms: int, prefilled: bool = False) -> GameRecord:
        return GameRecord(
            game_id=spec.game_id,
            server_seed=spec.server_seed,
            server_seed_hash=spec.server_seed_hash,
            version=spec.version,
            prices=list(spec.prices),
            rug_price=spec.rug_price,
            peak=spec.peak,
            start_ms=start_ms,
            prefilled=prefilled,
        )

    def add_prefilled(self, spec: GameSpec, at_ms: int, entry: dict[str, Any]) -> None:
        record = self._record_of(spec, at_ms, prefilled=True)
        record.end_ms, record.history_entry = at_ms, entry
        self._add(record)

    def begin_game(self, spec: GameSpec, now_ms: int) -> None:
        self._add(self._record_of(spec, now_ms))

    def finish_game(self, spec: GameSpec, now_ms: int, entry: dict[str, Any]) -> None:
        record = self._games.get(spec.game_id)
        if record is not None:
            record.end_ms, record.history_entry = now_ms, entry

    def add_trade(self, game_id: str, trade: dict[str, Any]) -> None:
        record = self._games.get(game_id)
        if record is not None:
            record.trades.append(trade)

    def add_sidebet(self, game_id: str, sidebet: dict[str, Any]) -> None:
        record = self._games.get(game_id)
        if record is not None:
            record.sidebets.append(sidebet)

    def add_player(self, player_id: str, username: str, bot: bool, balance_lamports: int) -> PlayerRecord:
        record = self._players.get(player_id)
        if record is None:
            record = PlayerRecord(player_id, username, bot, balance_lamports)
            self._players[player_id] = record
        return record

    def add_fill(self, player_id: str, fill: dict[str, Any], state: dict[str, Any]) -> None:
        record = self._players[player_id]
        record.fills.append(fill)
        record.state = state

    # -- readers -----------------------------------------------------------------------------------------
    def games(self, *, include_prefilled: bool = True, finished_only: bool = False) -> list[GameRecord]:
        return [
            g
            for g in self._games.values()
            if (include_prefilled or not g.prefilled) and (g.finished or not finished_only)
        ]

    def game(self, game_id: str) -> GameRecord | None:
        return self._games.get(game_id)

    def players(self) -> list[PlayerRecord]:
        return list(self._players.values())

    def player(self, player_id: str) -> PlayerRecord | None:
        return self._players.get(player_id)

    def orders(self, player_id: str | None = None, *, since: int = 0) -> list[OrderRecord]:
        """Orders received from ``player_id`` (None: everyone; ``"unauthenticated"``: sockets not logged in)
        with ``seq > since``, in the order received."""
        return self.order_log.select(player_id, since)

    def orders_json(self, player_id: str | None = None, *, since: int = 0) -> list[dict[str, Any]]:
        return [r.to_json() for r in self.orders(player_id, since=since)]

    def games_json(self, **kwargs: Any) -> list[dict[str, Any]]:
        return [g.to_json() for g in self.games(**kwargs)]

    def players_json(self) -> list[dict[str, Any]]:
        return [p.to_json() for p in self.players()]

    def verify_games(self) -> list[str]:
        """Regenerate every finished game from its seed; returns the problems (empty: all verify)."""
        problems: list[str] = []
        for record in self.games(finished_only=True):
            problems.extend(record.verify())
        return problems
