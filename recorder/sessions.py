"""PlayerSessionRecorder: one followed player's actions, game after game, as a session file.

A player is followed by username or player id (``--follow``). What they do arrives as inputs (trades,
sidebet placements, the server's sidebet results and forced sales, and for the authenticated player the
server's own ``playerUpdate``); each game's actions are re-derived from its inputs by
:func:`recorder.session_replay.replay_game` whenever something new is learnt, and a game is *sealed* (its
actions frozen) once the game is over and revealed. The session file is rewritten atomically from the
sealed actions plus those of the games still open, so a killed recorder loses at most the game in progress.

Balances. The authenticated player's balance comes from the server's ``playerUpdate`` messages (the
starting balance under which most of them match a ledger state, :func:`recorder.verifier.best_start`), and
every update is checked against the ledger by the :class:`~recorder.verifier.StateVerifier`. A public
player's balance is unknown: it starts at ``start_balance`` when one is given (``given``), else at the
smallest value that keeps it from ever going negative (``minimal``: the balance is then exact up to a
constant, the least the player can have had). ``meta.balance_basis`` and ``meta.starting_balance`` say which.

Long runs: a file of :data:`MAX_ACTIONS` actions is closed, the next one started (``carried over``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from recorder.events import AccountUpdate, BoardEntry, SidebetEvent, Trade
from recorder.files import SessionAction, SessionRecording, SessionSource
from recorder.session_replay import (
    HEADROOM,
    ActionRecord,
    GameInputs,
    Input,
    ReplayResult,
    account_of,
    replay_game,
    to_action,
)
from recorder.verifier import AccountState, StateVerifier, best_start
from rugs_env.game.ledger_types import LedgerState
from rugs_env.game.money import NANO, floor_nano, nano_str

log = logging.getLogger(__name__)
RECENT_STATES = 32  # sealed states kept for matching late playerUpdates
MAX_ACTIONS = 500  # a session file holding this many actions is closed and the next one started
MAX_OPEN_GAMES = 4  # older open games are over whatever we heard: sealed with what is known


class GameOracle(Protocol):
    """What a session needs to know about games (implemented by the game recorder)."""

    def price_at(self, game_id: str, tick: int) -> float | None: ...
    def tick_time(self, game_id: str, tick: int) -> datetime | None: ...
    def current_tick(self, game_id: str) -> int | None: ...
    def rank_of(self, game_id: str) -> float: ...
    def entry_guess(self, game_id: str) -> tuple[int, float]: ...


@dataclass(slots=True)
class SessionCounters:
    inferred: int = 0  # buys assumed for tokens sold but never seen bought
    rejects: int = 0  # inputs the ledger refused (logged)
    mismatches: int = 0  # wire amounts or sidebet results that differ from the ledger's
    late: int = 0  # inputs for a game already sealed (ignored)


class PlayerSessionRecorder:
    """One followed player in one recorder run (see the module docstring)."""

    def __init__(
        self,
        player_id: str,
        username: str,
        started: datetime,
        oracle: GameOracle,
        *,
        start_balance: int | None = None,
        authenticated: bool = False,
        source: SessionSource = SessionSource.LIVE,
        tolerance: int = 0,
        recorder_version: str | None = None,
    ) -> None:
        self.player_id = player_id
        self.username = username
        self.started = started
        self.ended = started
        self.oracle = oracle
        self.authenticated = authenticated
        self.source = source
        self.recorder_version = recorder_version
        self.basis = "given" if start_balance is not None else "minimal"
        self._first_cash = start_balance or 0  # the starting balance, before any shift
        self._base = LedgerState(cash=HEADROOM + self._first_cash, min_bet=1, max_bet=HEADROOM)
        self._sealed: list[ActionRecord] = []
        self._sealed_min = self._base.cash - HEADROOM
        self._sealed_counts = SessionCounters()
        self._recent: list[AccountState] = []
        self._games: dict[str, GameInputs] = {}
        self._sealed_ids: set[str] = set()
        self._replayed: list[ReplayResult] = []
        self._cache: tuple[int, list[SessionAction]] = (0, [])
        self.verifier = StateVerifier(tolerance, name=username or player_id) if authenticated else None
        self._uncalibrated = False  # a server update came but the starting balance is not set from it yet
        self.dirty = True  # the inputs changed: the open games must be replayed
        self.changed = True  # the file may differ from the last one taken
        self.counters = SessionCounters()

    # -- inputs --------------------------------------------------------------------------------------------
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

    def add_trade(self, trade: Trade, at: datetime, seq: int) -> None:
        """A buy or sell of this player (a sell at the rug tick is the forced sale, checked not applied)."""
        if trade.kind not in ("buy", "sell"):
            return  # shorts: not modelled by the ledger (PROTOCOL.md §10.4)
        game = self._game(trade.game_id, at)
        if game is None:
            return
        if game.rug is not None and trade.tick >= game.rug[0] and trade.kind == "sell":
            game.forced_sales.append(trade.amount)
            return
        game.inputs.append(
            Input(
                trade.kind,
                trade.game_id,
                trade.tick,
                trade.price,
                trade.amount,
                trade.qty,
                at,
                (int(at.timestamp() * 1000), seq),
                trade.trade_id,
            )
        )

    def add_sidebet(self, bet: SidebetEvent, at: datetime, seq: int, *, live: bool = True) -> None:
        """A sidebet placement; duplicates by start tick are ignored. A live event is ordered among the
        trades by its arrival, a history record (received long after) by the server's timestamp."""
        game = self._game(bet.game_id, at)
        if game is None or bet.start_tick in game.sidebet_starts:
            return
        game.sidebet_starts.add(bet.start_tick)
        when = bet.timestamp_ms if not live and bet.timestamp_ms is not None else int(at.timestamp() * 1000)
        game.inputs.append(
            Input(
                "sidebet",
                bet.game_id,
                bet.start_tick,
                bet.price if bet.kind == "placed" else None,
                bet.bet,
                0,
                at,
                (when, seq),
            )
        )

    def add_result(self, bet: SidebetEvent, at: datetime) -> None:
        """The server's settlement of a sidebet (compared with the ledger's)."""
        game = self._game(bet.game_id, at)
        if game is not None:
            game.results[bet.start_tick] = bet.won

    def authenticate(self, tolerance: int = 0) -> None:
        """This player turns out to be the authenticated user (whose trades may have been seen first)."""
        if self.verifier is None:
            self.authenticated = True
            self.verifier = StateVerifier(tolerance, name=self.username or self.player_id)
            self.changed = True

    def add_update(self, update: AccountUpdate, at: datetime, clock: int) -> None:
        """A ``playerUpdate`` of the authenticated player: the first one sets the balance."""
        self.ended = max(self.ended, at)
        if self.verifier is None:
            return
        if self.basis != "server" and not self._sealed:
            self._uncalibrated = True
            self.dirty = True
        state = AccountState(update.cash, update.position_qty or 0, update.avg_cost or 0)
        self.verifier.observe(state, clock, f"update at {at.isoformat()}")
        self.changed = True

    def wants_board(self, game_id: str) -> bool:
        """Whether a leaderboard row of this game would still tell something (cheap, before parsing it)."""
        game = self._games.get(game_id)
        return game_id not in self._sealed_ids and (game is None or game.board is None)

    def note_board(self, game_id: str, tick: int, entry: BoardEntry) -> None:
        """The player's first leaderboard row in a game: where a position we never saw bought was opened."""
        if game_id in self._sealed_ids or not entry.position_qty or not entry.avg_cost:
            return
        game = self._games.get(game_id)
        if game is None:
            game = self._games[game_id] = GameInputs(game_id, self.oracle.rank_of(game_id))
        if game.board is None:
            game.board = (tick, entry.avg_cost, entry.position_qty)
            self.dirty = self.dirty or bool(game.inputs)

    def _entry_guess(self, game: GameInputs) -> tuple[int, float]:
        """The (tick, price) of tokens held but never seen bought: from the leaderboard row when there is one
        (the tick whose price matches its average cost), else the oracle's guess."""
        if game.board is not None:
            row_tick, avg, _qty = game.board
            if avg == NANO:
                return 0, 1.0
            for tick in range(row_tick + 1):
                price = self.oracle.price_at(game.game_id, tick)
                if price is not None and floor_nano(price) == avg:
                    return tick, price
        return self.oracle.entry_guess(game.game_id)

    def _calibrate(self) -> None:
        """The server's updates give the starting balance: of the balances that make some ledger state
        show an update's cash, the one under which most pending updates match a state."""
        assert self.verifier is not None
        updates = self.verifier.pending_states()
        if not updates:
            return
        best = best_start(updates, self._states(), self._first_cash, self.verifier.tolerance)
        self._first_cash = self._sealed_min = best
        self._base = LedgerState(cash=HEADROOM + best, min_bet=1, max_bet=HEADROOM)
        self.basis = "server"
        self._uncalibrated = False
        self._replay()

    # -- game events ---------------------------------------------------------------------------------------
    def game_rugged(self, game_id: str, tick: int, price: float, at: datetime) -> None:
        game = self._games.get(game_id)
        if game is not None and (game.rug is None or game.rug[:2] != (tick, price)):
            game.rug = (tick, price, game.rug[2] if game.rug else at)
            self.dirty = True

    def game_final(self, game_id: str, rug: tuple[int, float, datetime] | None) -> None:
        """The game is over and everything about it is known (revealed, or given up on)."""
        game = self._games.get(game_id)
        if game is None:
            return
        if rug is not None:
            game.rug = (rug[0], rug[1], game.rug[2] if game.rug else rug[2])
        game.final = True
        self.dirty = True

    @property
    def open_games(self) -> list[str]:
        return list(self._games)

    # -- derivation ----------------------------------------------------------------------------------------
    def refresh(self, clock: int, *, final: bool = False) -> bool:
        """Re-derive the open games' actions, seal the finished ones, check pending server updates.

        Returns True when a game was sealed (a good moment to write the file). ``changed`` tells whether
        the file's content may have changed since it was last taken.
        """
        sealed = False
        if self.dirty:
            self._replay()
            if self._uncalibrated and not self._sealed:
                self._calibrate()
            sealed = self._seal()
            self.dirty = False
            self.changed = True
        if self.verifier is not None and self.verifier.pending:
            self.verifier.resolve(self._states(), clock, final=final)
            self.changed = True
        return sealed

    def _states(self) -> list[AccountState]:
        states = [*self._recent, account_of(self._base)]
        for result in self._replayed:
            states.extend(a.account() for a in result.actions)
            states.append(account_of(result.end))
        return states

    def _replay(self) -> None:
        oracle, state = self.oracle, self._base
        self._replayed = []
        for game in sorted(self._games.values(), key=lambda g: g.rank):
            result = replay_game(
                state,
                game,
                oracle.price_at,
                oracle.tick_time,
                entry_guess=lambda g=game: self._entry_guess(g),
                current_tick=None if game.final else oracle.current_tick(game.game_id),
            )
            self._replayed.append(result)
            state = result.end
        c = SessionCounters(late=self.counters.late)
        c.inferred = self._sealed_counts.inferred + sum(r.inferred for r in self._replayed)
        c.rejects = self._sealed_counts.rejects + sum(r.rejects for r in self._replayed)
        c.mismatches = self._sealed_counts.mismatches + sum(r.mismatches for r in self._replayed)
        self.counters = c

    @property
    def worth_writing(self) -> bool:
        """Whether a file should exist: it has actions, or it is the authenticated user's first file."""
        return bool(self._sealed or any(r.actions for r in self._replayed)) or (
            self.verifier is not None and self.basis != "carried over"
        )

    @property
    def full(self) -> bool:
        """The file holds enough actions: it should be written one last time and :meth:`roll` called."""
        return len(self._sealed) >= MAX_ACTIONS

    def roll(self) -> None:
        """Start the next file of this player (a long run is split so rewriting a file stays cheap and
        memory stays flat). The balance carries on; counters and the verifier start afresh."""
        last = max([self.ended, *(a.at for a in self._sealed[-1:])])
        self.started = max(last, self.started + timedelta(seconds=1))  # a new file name, never the old one
        self.ended = self.started
        self._sealed = []
        self._cache = (0, [])
        self._sealed_counts = SessionCounters()
        self.counters = SessionCounters()
        self._first_cash = self._base.cash - HEADROOM
        self.basis = "carried over"
        if self.verifier is not None:
            old = self.verifier
            self.verifier = StateVerifier(old.tolerance, old.patience, old.name)
            for state in old.pending_states():
                self.verifier.observe(state, 0)
        self.changed = True

    def _seal(self) -> bool:
        ordered = sorted(self._games.values(), key=lambda g: g.rank)
        for game in ordered[: max(0, len(ordered) - MAX_OPEN_GAMES)]:
            game.final = True  # its end was missed (never revealed in our view): do not hold the rest back
        sealed = 0
        for game, result in zip(ordered, self._replayed, strict=True):
            if not game.final:
                break
            self._sealed.extend(result.actions)
            self._sealed_ids.add(game.game_id)
            del self._games[game.game_id]
            self._recent = ([*self._recent, account_of(self._base), *(a.account() for a in result.actions)])[
                -RECENT_STATES:
            ]
            self._base = result.end
            for action in result.actions:
                self._sealed_min = min(self._sealed_min, action.fill.cash_after - HEADROOM)
            self._sealed_counts.inferred += result.inferred
            self._sealed_counts.rejects += result.rejects
            self._sealed_counts.mismatches += result.mismatches
            sealed += 1
        self._replayed = self._replayed[sealed:]
        return sealed > 0

    # -- the file ------------------------------------------------------------------------------------------
    def _shift(self) -> int:
        low = self._sealed_min
        for result in self._replayed:
            for action in result.actions:
                low = min(low, action.fill.cash_after - HEADROOM)
        return min(0, low)

    def recording(self) -> SessionRecording:
        """The session file as it stands (sealed games plus the open ones)."""
        shift = self._shift()
        cached_shift, cached = self._cache
        if cached_shift != shift or len(cached) > len(self._sealed):
            cached = []
        cached.extend(to_action(r, shift) for r in self._sealed[len(cached) :])
        self._cache = (shift, cached)
        self.changed = False
        actions = cached + [to_action(r, shift) for res in self._replayed for r in res.actions]
        start = self._first_cash - shift
        meta: dict[str, object] = {
            "player_id": self.player_id,
            "username": self.username,
            "session_start": self.started,
            "session_end": max([self.ended, *(a.timestamp for a in actions[-1:])]),
            "games_played": len({a.game_id for a in actions}),
            "source": self.source,
            "recorder_version": self.recorder_version,
            "balance_basis": self.basis
            if shift == 0 or self.basis == "minimal"
            else f"{self.basis}, shifted",
            "starting_balance": nano_str(start),
        }
        if self.verifier is not None:
            meta["verification"] = self.verifier.summary()
            meta["authenticated"] = True
        c = self.counters
        for key, value in (
            ("inferred_actions", c.inferred),
            ("ledger_rejects", c.rejects),
            ("wire_mismatches", c.mismatches),
            ("late_inputs", c.late),
        ):
            if value:
                meta[key] = value
        return SessionRecording.model_validate({"meta": meta, "actions": actions})
