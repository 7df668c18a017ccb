"""PlayerSessionRecorder: one followed player's actions, game after game, as a session file.

A player is followed by username or player id (``--follow``). What they do arrives as inputs (trades,
sidebet placements, the server's sidebet results and forced sales, and for the authenticated player the
server's own ``playerUpdate``); each game's actions are re-derived from its inputs by
:func:`recorder.session_replay.replay_game` whenever something new is learnt, and a game is *sealed* (its
actions frozen) once the game is over and revealed. The session file is rewritten atomically from the
sealed actions plus those of the games still open, so a killed recorder loses at most the game in progress.

Balances. The authenticated player's balance comes from the server's ``playerUpdate`` messages, and the
game under way when the recorder authenticated is left out if the player had acted in it already
(:mod:`recorder.session_start`). Once a game is sealed the balance is fixed, and it is never guessed
again, not even in the next file. Every
update is checked against the ledger by the :class:`~recorder.verifier.StateVerifier` (before a game is
sealed, while all its states are at hand; the last states of sealed games are kept for late updates:
:class:`~recorder.verifier.StateHistory`). A public player's balance is unknown: it starts at
``start_balance`` when given (``given``), else at the smallest value that never goes negative (``minimal``:
exact up to a constant); ``meta.balance_basis`` and ``meta.starting_balance`` say which.

Long runs: a session file holds whole games. Once it holds :data:`MAX_ACTIONS` sealed actions it is closed
(:meth:`PlayerSessionRecorder.roll`): its last version holds its sealed games only, and the games still open
(under way, or over but not sealed yet) go whole into the next file, which starts with the balance the
sealed games left (``carried over``). So every game's actions are in exactly one file."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime, timedelta

from recorder.board_check import entry_guess
from recorder.events import AccountUpdate
from recorder.files import ActionTexts, SessionAction, SessionRecording, SessionSource
from recorder.session_file import SessionCounters, SessionHeader, session_recording
from recorder.session_inputs import GameInputs, GameOracle, Rug
from recorder.session_intake import PlayerInputs
from recorder.session_replay import HEADROOM, ActionRecord, ReplayResult, account_of, replay_game, to_action
from recorder.session_start import SessionStart
from recorder.verifier import AccountState, StateHistory, StateVerifier, best_start
from rugs_env.game.ledger_types import LedgerState

log = logging.getLogger(__name__)
MAX_ACTIONS = 500  # a session file holding this many actions is closed and the next one started
MAX_OPEN_GAMES = 4  # older open games are over whatever we heard: sealed with what is known
SEALED_MEMORY = 512  # ids of sealed games remembered, to count their late events (bounded memory)


class PlayerSessionRecorder(PlayerInputs):
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
        self._base = self._opening(self._first_cash)
        self._sealed: list[ActionRecord] = []
        self._sealed_min = self._base.cash - HEADROOM
        self._sealed_counts = SessionCounters()
        self._recent = StateHistory()  # states of sealed games, for matching late playerUpdates
        self._games: dict[str, GameInputs] = {}
        self._sealed_ids: OrderedDict[str, None] = OrderedDict()  # the last SEALED_MEMORY, oldest first
        self._replayed: list[ReplayResult] = []
        self._cache: tuple[int, list[SessionAction]] = (0, [])
        self.texts = ActionTexts()  # the file's actions as encoded for its last version (sink.write_session)
        self.verifier = StateVerifier(tolerance, name=username or player_id) if authenticated else None
        self._start = SessionStart()  # the authenticated player's first game and starting balance
        self.dirty = True  # the inputs changed: the open games must be replayed
        self.changed = True  # the file may differ from the last one taken
        self.counters = SessionCounters()

    def authenticate(self, tolerance: int = 0) -> None:
        """This player turns out to be the authenticated user (whose trades may have been seen first)."""
        if self.verifier is None:
            self.authenticated = True
            self.verifier = StateVerifier(tolerance, name=self.username or self.player_id)
            self.changed = True

    def add_update(self, update: AccountUpdate, at: datetime, clock: int, rank: float = 0.0) -> None:
        """A ``playerUpdate`` of the authenticated player; ``rank``: the game its connection was on. The
        first ones set the balance."""
        self.ended = max(self.ended, at)
        if self.verifier is None:
            return
        state = AccountState(update.cash, update.position_qty or 0, update.avg_cost or 0)
        if self._start.join_rank is None and self._sealed and not self._start.fixed:
            self._restart()
        self._start.note(update, state, rank, fresh=not self._sealed)
        if not self._start.fixed and not self._sealed:
            self.dirty = True
        self.verifier.observe(state, clock, f"update at {at.isoformat()}", tag=rank)
        self.changed = True

    def _restart(self) -> None:
        """The first server update came after games were sealed from the public stream alone (the
        authentication was late, e.g. after a stall): those games were under way or over when it came, so
        they are before the session's start and left out (see :mod:`recorder.session_start`)."""
        self._sealed_counts.left_out += len({a.fill.game_id for a in self._sealed})
        self._sealed, self._cache, self._recent = [], (0, []), StateHistory()
        self._base = self._opening(self._first_cash)
        self._sealed_min = self._first_cash

    @staticmethod
    def _opening(balance: int) -> LedgerState:
        """The internal ledger's account holding ``balance`` lamports before any game (plus the headroom)."""
        return LedgerState(cash=HEADROOM + balance, min_bet=1, max_bet=HEADROOM)

    def _calibrate(self) -> None:
        """The server's first updates give the starting balance: of the balances that make some ledger
        state show an update's cash, the one under which most of them match a state. Called again whenever
        the inputs change, until a game is sealed: a trade handled after the update it caused moves it."""
        evidence = self._start.evidence()
        if not evidence or self.verifier is None:
            return
        best = best_start(evidence, self._states(), self._first_cash, self.verifier.tolerance)
        self.basis = "server"
        if best == self._first_cash:
            return
        self._first_cash = self._sealed_min = best
        self._base = self._opening(best)
        self._replay()

    # -- game events ---------------------------------------------------------------------------------------
    def game_rugged(self, game_id: str, tick: int, price: float, at: datetime) -> None:
        game = self._games.get(game_id)
        if game is not None and (game.rug is None or game.rug[:2] != (tick, price)):
            game.rug = (tick, price, game.rug[2] if game.rug else at)
            self.dirty = True

    def game_final(self, game_id: str, rug: Rug | None) -> None:
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
        """Re-derive the open games' actions, check pending server updates, seal the finished games.

        Updates are checked before sealing: a game about to be sealed still has every state it went
        through, however many actions it had. Returns True when a game was sealed (a good moment to write
        the file). ``changed`` tells whether the file's content may have changed since it was last taken.
        """
        sealed = False
        if self.dirty:
            self._replay()
            if not self._start.fixed and not self._sealed:
                self._calibrate()
            self._check(clock, final)
            sealed = self._seal()
            self.dirty = False
            self.changed = True
        else:
            self._check(clock, final)
        return sealed

    def _check(self, clock: int, final: bool) -> None:
        if self.verifier is not None and self.verifier.pending:
            # An update of a game not over yet may wait for the trades the leaderboard puts back at its end.
            running = {game.rank for game in self._games.values() if not game.final}
            self.verifier.resolve(
                self._states(), clock, final=final, hold=self._start.left_out, defer=running.__contains__
            )
            self.changed = True

    def _states(self) -> list[AccountState]:
        states = [*self._recent.states, account_of(self._base)]
        for result in self._replayed:
            states.extend(a.account() for a in result.actions)
            states.append(account_of(result.end))
        return states

    def _replay(self) -> None:
        oracle, state = self.oracle, self._base
        self._replayed = []
        for game in sorted(self._games.values(), key=lambda g: g.rank):
            if self._start.before(game.rank):
                self._replayed.append(ReplayResult([], state))  # before the session's first game
                continue
            result = replay_game(
                state,
                game,
                oracle.price_at,
                oracle.tick_time,
                entry_guess=lambda g=game: entry_guess(g, self.oracle),
                current_tick=None if game.final else oracle.current_tick(game.game_id),
            )
            if self._start.is_join(game.rank) and not self._start.judge(
                [*(s for _, s in result.timeline), result.end]
            ):
                result = ReplayResult([], state)  # under way at authentication, and begun unseen: left out
            self._replayed.append(result)
            state = result.end
        self._count()

    def _count(self) -> None:
        c = SessionCounters(late=self.counters.late)
        c.inferred = self._sealed_counts.inferred + sum(r.inferred for r in self._replayed)
        c.rejects = self._sealed_counts.rejects + sum(r.rejects for r in self._replayed)
        c.mismatches = self._sealed_counts.mismatches + sum(r.mismatches for r in self._replayed)
        c.board = self._sealed_counts.board + sum(r.board_mismatches for r in self._replayed)
        c.left_out = self._sealed_counts.left_out
        self.counters = c

    @property
    def worth_writing(self) -> bool:
        """Whether a file should exist: it has actions, or it is the authenticated user's first file."""
        return bool(self._sealed or any(r.actions for r in self._replayed)) or (
            self.verifier is not None and self.basis != "carried over"
        )

    @property
    def full(self) -> bool:
        """The file holds enough sealed actions: it should be closed (:meth:`roll`)."""
        return len(self._sealed) >= MAX_ACTIONS

    def roll(self) -> SessionRecording:
        """Close this file and start the next one of this player (a long run is split so that rewriting a
        file stays cheap and memory stays flat); returns the closed file's last version, to be written.

        A file holds whole games: the closed one keeps its sealed games only, and the games still open go
        whole into the next one, which starts with the balance the sealed games left (``carried over``).
        Counters and the verifier's tallies start afresh; updates not matched yet carry over."""
        closed = self.recording(open_games=False)
        carried = [r.at for result in self._replayed for r in result.actions]
        first = min(carried) if carried else closed.meta.session_end
        self.started = max(first, self.started + timedelta(seconds=1))  # a new file name, never the old one
        self.ended = max(self.ended, self.started)
        self._sealed = []
        self._cache = (0, [])
        self._sealed_counts = SessionCounters()
        self.counters = SessionCounters()
        self._count()
        self._first_cash = self._base.cash - HEADROOM
        self.basis = "carried over"
        self._start.fix()
        if self.verifier is not None:
            self.verifier = self.verifier.successor()
        self.changed = True
        return closed

    def _seal(self) -> bool:
        ordered = sorted(self._games.values(), key=lambda g: g.rank)
        for game in ordered[: max(0, len(ordered) - MAX_OPEN_GAMES)]:
            game.final = True  # its end was missed (never revealed in our view): do not hold the rest back
        sealed = kept = 0
        states: list[AccountState] = []
        for game, result in zip(ordered, self._replayed, strict=True):
            if not game.final:
                break
            if self._start.left_out(game.rank):
                self._sealed_counts.left_out += 1
            else:
                kept += 1
            self._sealed.extend(result.actions)
            self._sealed_ids[game.game_id] = None
            if len(self._sealed_ids) > SEALED_MEMORY:
                self._sealed_ids.popitem(last=False)
            del self._games[game.game_id]
            states.append(account_of(self._base))
            states.extend(a.account() for a in result.actions)
            self._base = result.end
            for action in result.actions:
                self._sealed_min = min(self._sealed_min, action.fill.cash_after - HEADROOM)
            self._sealed_counts.inferred += result.inferred
            self._sealed_counts.rejects += result.rejects
            self._sealed_counts.mismatches += result.mismatches
            self._sealed_counts.board += result.board_mismatches
            sealed += 1
        self._recent.add(states)
        self._replayed = self._replayed[sealed:]
        if sealed - kept and self.verifier is not None:
            self.verifier.forget(self._start.left_out)  # updates of games left out: no state to match
        if kept and self._start.evidence():
            self._start.fix()  # sealed actions hold the starting balance now
        return sealed > 0

    # -- the file ------------------------------------------------------------------------------------------
    def _shift(self) -> int:
        low = self._sealed_min
        for result in self._replayed:
            for action in result.actions:
                low = min(low, action.fill.cash_after - HEADROOM)
        return min(0, low)

    def recording(self, *, open_games: bool = True) -> SessionRecording:
        """The session file as it stands: the sealed games, and the open ones unless ``open_games`` is
        false (the last version of a file being closed, see :meth:`roll`)."""
        shift = self._shift()
        cached_shift, cached = self._cache
        if cached_shift != shift or len(cached) > len(self._sealed):
            cached = []
        cached.extend(to_action(r, shift) for r in self._sealed[len(cached) :])
        self._cache = (shift, cached)
        if open_games:
            self.changed = False
            actions = cached + [to_action(r, shift) for res in self._replayed for r in res.actions]
            ended = max([self.ended, *(a.timestamp for a in actions[-1:])])
            counters = self.counters
        else:
            actions = list(cached)
            ended = max([self.started, *(a.timestamp for a in actions)])
            counters = replace(self._sealed_counts, late=self.counters.late)
        return session_recording(
            SessionHeader(self.player_id, self.username, self.source, self.recorder_version),
            actions,
            started=self.started,
            ended=ended,
            basis=self.basis,
            starting_balance=self._first_cash,
            shift=shift,
            verification=self.verifier.summary() if self.verifier is not None else None,
            counters=counters,
        )
