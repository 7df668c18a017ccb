"""What a followed player did, game by game, as the feed tells it: the inputs a session is derived from.

:class:`PlayerInputs` collects them (trades, sidebets, the server's settlements, leaderboard rows) into one
:class:`~recorder.session_inputs.GameInputs` per game; :class:`recorder.sessions.PlayerSessionRecorder`
derives the actions from them. An input for a game already sealed is counted as late and ignored.
"""

from __future__ import annotations

from collections import OrderedDict
from datetime import datetime

from recorder.arrival_order import SightingKey, note_sighting
from recorder.events import BoardEntry, SidebetEvent, Trade
from recorder.session_file import SessionCounters
from recorder.session_inputs import GameInputs, GameOracle, Input

MAX_ROWS = 4096  # leaderboard rows kept per game (only those that change; bounded whatever the server sends)


class PlayerInputs:
    """The inputs of the games not sealed yet, by game (see the module docstring)."""

    oracle: GameOracle
    ended: datetime
    dirty: bool
    counters: SessionCounters
    _games: dict[str, GameInputs]
    _sealed_ids: OrderedDict[str, None]

    def _game(self, game_id: str, at: datetime) -> GameInputs | None:
        self.ended = max(self.ended, at)
        if game_id in self._sealed_ids:
            self.counters.late += 1
            return None
        game = self._games.get(game_id)
        if game is None:
            game = self._games[game_id] = GameInputs(game_id, self.oracle.rank_of(game_id))
        self.dirty = True
        return game

    def add_trade(self, trade: Trade, at: datetime, seq: int, conn: int = 0) -> None:
        """A buy or sell of this player (a sell at the rug tick is the forced sale, checked not applied),
        first delivered by connection ``conn`` at arrival sequence ``seq``."""
        if trade.kind not in ("buy", "sell"):
            return  # shorts: not modelled by the ledger (PROTOCOL.md §10.4)
        game = self._game(trade.game_id, at)
        if game is None:
            return
        if game.rug is not None and trade.tick >= game.rug[0] and trade.kind == "sell":
            game.forced_sales.append(trade.amount)
            return
        order = (int(at.timestamp() * 1000), seq)
        args = (trade.kind, trade.game_id, trade.tick, trade.price, trade.amount, trade.qty, at, order)
        game.inputs.append(Input(*args, trade.trade_id, {conn: seq}))

    def seen_again(self, game_id: str, key: SightingKey, conn: int, seq: int) -> None:
        """A trade or sidebet already known, delivered by connection ``conn`` too: where it stands in that
        connection's stream tells its order among the others (:mod:`recorder.arrival_order`)."""
        game = self._games.get(game_id)
        if game is not None and note_sighting(game.inputs, key, conn, seq):
            self.dirty = True

    def add_sidebet(
        self, bet: SidebetEvent, at: datetime, seq: int, *, live: bool = True, conn: int = 0
    ) -> None:
        """A sidebet placement; duplicates by start tick are ignored. A live event is ordered among the
        trades by its arrival, a history record (received long after) by the server's timestamp."""
        game = self._game(bet.game_id, at)
        if game is None or bet.start_tick in game.sidebet_starts:
            return
        game.sidebet_starts.add(bet.start_tick)
        when = bet.timestamp_ms if not live and bet.timestamp_ms is not None else int(at.timestamp() * 1000)
        price = bet.price if bet.kind == "placed" else None
        seen = {conn: seq} if live else {}
        game.inputs.append(
            Input("sidebet", bet.game_id, bet.start_tick, price, bet.bet, 0, at, (when, seq), None, seen)
        )

    def add_result(self, bet: SidebetEvent, at: datetime) -> None:
        """The server's settlement of a sidebet (compared with the ledger's)."""
        game = self._game(bet.game_id, at)
        if game is not None:
            game.results[bet.start_tick] = bet.won

    def wants_row(self, game_id: str, raw: tuple[object, object]) -> bool:
        """Whether a leaderboard row (its raw ``positionQty`` and ``totalInvested``) would tell something new
        (cheap, before parsing it)."""
        game = self._games.get(game_id)
        return game_id not in self._sealed_ids and (game is None or game.last_row != raw)

    def note_board(self, game_id: str, tick: int, entry: BoardEntry, raw: tuple[object, object]) -> None:
        """A leaderboard row that differs from the last: kept for checking the game once it is over
        (:mod:`recorder.board_check`); the first with a position says where a position never seen bought
        was opened."""
        if game_id in self._sealed_ids:
            return
        game = self._games.get(game_id)
        if game is None:
            game = self._games[game_id] = GameInputs(game_id, self.oracle.rank_of(game_id))
        game.last_row = raw
        qty, invested = entry.position_qty, entry.total_invested
        if qty is not None and invested is not None and len(game.rows) < MAX_ROWS:
            game.rows.append((tick, qty, invested, entry.regular_pnl))
            self.dirty = self.dirty or game.final
        if game.board is None and qty and entry.avg_cost:
            game.board = (tick, entry.avg_cost, qty)
            self.dirty = self.dirty or bool(game.inputs)
