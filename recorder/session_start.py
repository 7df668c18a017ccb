"""Where an authenticated player's session starts, and the server updates that set its starting balance.

The recorder joins the feed at some moment of some game. A public player's actions before that moment are
unseen, and guessed where the leaderboard allows (:mod:`recorder.board_check`). For the authenticated
player the server says more: the ``playerUpdate`` sent on authenticate states the account at that moment,
including the position, its average cost and what the player put into the game under way
(``totalInvested``). If no ledger state of that game, replayed from what the recorder saw, shows those
three numbers, the player acted in it before the recorder could see it, and no replay can give that game's
balances exactly: the session leaves it out (and any game seen before it) and starts with the next one,
whose starting balance the later updates set. The judgement is made again at every replay until the game
is sealed, as trades handled after the update (see below) can still explain it. The updates of a game left
out are neither checked nor drift: they describe an account the session does not model.

The starting balance is the one under which most of the server's first updates match a ledger state
(:func:`recorder.verifier.best_start`); it is worked out again whenever something new is learnt, until the
first game kept is sealed on it. After a stall the recorder handles a burst from several connections in no
useful order, so an update can be handled before the trades it follows; the balance must not be fixed on
the first guess.
"""

from __future__ import annotations

from collections.abc import Sequence

from recorder.events import AccountUpdate
from recorder.verifier import AccountState
from rugs_env.game.ledger_math import avg_cost_nano
from rugs_env.game.ledger_types import LedgerState

CALIBRATION_UPDATES = 8  # the server's first updates (of the games kept) that set the starting balance
KEPT_UPDATES = 64  # updates kept as evidence before a game is sealed (those of games left out included)


class SessionStart:
    """The first game of an authenticated session and its starting balance's evidence."""

    def __init__(self) -> None:
        self.join_rank: float | None = None  # the game the first update's connection was on
        self.join_kept = True  # whether that game is kept (a replay of it explains the first update)
        self.fixed = False  # a game was sealed on the starting balance, or the balance was carried over
        self._first: tuple[int, int, int] = (0, 0, 0)  # position, average cost, invested
        self._updates: list[tuple[float, AccountState]] = []  # (game rank at arrival, the update)

    def note(self, update: AccountUpdate, state: AccountState, rank: float, *, fresh: bool) -> None:
        """A server update; ``rank``: the game its connection was on. ``fresh``: no game of this
        session's file is sealed yet (only then can the start still move)."""
        if not fresh or self.fixed:
            return
        if self.join_rank is None:
            self.join_rank = rank
            self._first = (state.position_qty, state.avg_cost, update.total_invested or 0)
            self.join_kept = self._first == (0, 0, 0)  # nothing done in that game yet: all of it is to come
        if len(self._updates) < KEPT_UPDATES:
            self._updates.append((rank, state))

    def is_join(self, rank: float) -> bool:
        return rank == self.join_rank

    def before(self, rank: float) -> bool:
        """Whether the game of this rank was over, or nearly, when the recorder authenticated."""
        return self.join_rank is not None and rank < self.join_rank

    def judge(self, states: Sequence[LedgerState]) -> bool:
        """Whether the game under way at the first update is kept: one of its ledger ``states`` shows that
        update's position, average cost and invested amount. Returns the judgement."""
        first = self._first
        self.join_kept = first == (0, 0, 0) or any(
            (s.position_qty, avg_cost_nano(s.avg_price), s.total_invested) == first for s in states
        )
        return self.join_kept

    def left_out(self, rank: float) -> bool:
        """Whether the game of this rank is before the session's first game (see the module docstring)."""
        return self.before(rank) or (self.is_join(rank) and not self.join_kept)

    def evidence(self) -> list[AccountState]:
        """The updates that set the starting balance, oldest first (empty once it is fixed)."""
        if self.fixed:
            return []
        return [state for rank, state in self._updates if not self.left_out(rank)][:CALIBRATION_UPDATES]

    def fix(self) -> None:
        """The starting balance can no longer move (sealed actions hold it, or it was carried over)."""
        self.fixed = True
        self._updates = []
