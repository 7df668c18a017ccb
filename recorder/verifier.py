"""StateVerifier: the server's ``playerUpdate`` against the ledger rebuilt from the player's own trades.

An authenticated socket receives ``playerUpdate`` after each of the player's trades and sidebets, at
settlement and on (re)authentication (PROTOCOL.md §3.3). Each one states the account as the server sees it:
``cash``, ``positionQty`` and ``avgCost``. The session recorder rebuilds the same account with the
rulebook's ledger (:mod:`rugs_env.game.ledger`) from the public trade stream, and this class compares the
two, in integer lamports and nano-tokens, within ``tolerance`` units.

Events do not always arrive in the order the server made them (the update can come before the trade that
caused it, e.g. from a second connection), so an update is matched against *every* account state the ledger
went through recently, not just the latest. An update that matches none stays pending and is retried
whenever the ledger changes; only when ``patience`` ticks have passed without a match is it counted as
drift, with the distance to the closest state. Drift is logged and counted, never hidden.

"Recently": the session recorder checks pending updates against all the states of the games still open
(before it seals a game), and keeps the states of sealed games in a :class:`StateHistory` for updates that
come later still: the last :data:`RECENT_STATES`, and every state of the games sealed last, however many
(a long fast game is sealed at once), up to :data:`MAX_STATES` (memory stays bounded).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from recorder.files import SessionVerification

log = logging.getLogger(__name__)
RECENT_STATES = 64  # states of sealed games always kept for late playerUpdates
MAX_STATES = 4096  # never more than this (a burst beyond it is a game of thousands of actions)


@dataclass(frozen=True, slots=True)
class AccountState:
    """The numbers a ``playerUpdate`` carries: cash (lamports), position (nano-tokens), avgCost (1e-9)."""

    cash: int
    position_qty: int
    avg_cost: int

    def distance(self, other: AccountState) -> int:
        """The largest difference of the three numbers, in 1e-9 units."""
        return max(
            abs(self.cash - other.cash),
            abs(self.position_qty - other.position_qty),
            abs(self.avg_cost - other.avg_cost),
        )


@dataclass(slots=True)
class _Pending:
    state: AccountState
    clock: int  # the tick clock when the update arrived
    label: str
    tag: float = 0.0  # what the caller needs to tell updates apart (the sessions: the game's rank)


class StateVerifier:
    """Matches server updates with ledger states; counts checks and drift (see the module docstring)."""

    def __init__(self, tolerance: int = 0, patience: int = 8, name: str = "") -> None:
        self.tolerance = tolerance
        self.patience = patience
        self.name = name
        self.checked = 0
        self.drift_count = 0
        self.max_drift = 0
        self._pending: list[_Pending] = []

    @property
    def pending(self) -> int:
        return len(self._pending)

    def observe(self, update: AccountState, clock: int, label: str = "", tag: float = 0.0) -> None:
        """A server update arrived (it is checked at the next :meth:`resolve`)."""
        self._pending.append(_Pending(update, clock, label, tag))

    def forget(self, unwanted: Callable[[float], bool]) -> None:
        """Drop the pending updates whose tag is ``unwanted``: they describe an account the caller does not
        model (a session's updates from a game it leaves out), so they are neither checked nor drift."""
        self._pending = [p for p in self._pending if not unwanted(p.tag)]

    def successor(self) -> StateVerifier:
        """A verifier with the same settings and fresh tallies, holding the updates still pending (as they
        arrived: a session file rolling over must not change when they are judged)."""
        fresh = StateVerifier(self.tolerance, self.patience, self.name)
        fresh._pending = list(self._pending)
        return fresh

    def resolve(
        self,
        states: Sequence[AccountState],
        clock: int,
        *,
        final: bool = False,
        hold: Callable[[float], bool] | None = None,
        defer: Callable[[float], bool] | None = None,
    ) -> int:
        """Match pending updates with ``states`` (the ledger's recent states, latest last).

        Updates that match are counted as checked; those older than ``patience`` ticks (or all, when
        ``final``) that still match nothing are counted as drift. Updates whose tag is ``hold`` are not
        judged yet (kept pending; dropped when ``final``); those whose tag is ``defer`` may match but are
        not drift before ``final`` (what explains them may still come). Returns the number of new drifts.
        """
        if not self._pending:
            return 0
        keep: list[_Pending] = []
        drifts = 0
        exact = set(states)  # most updates match a state exactly: no scan of a long history for them
        for item in self._pending:
            if hold is not None and hold(item.tag):
                if not final:
                    keep.append(item)
                continue
            if item.state in exact:
                self.checked += 1
                continue
            due = final or (
                clock - item.clock > self.patience and not (defer is not None and defer(item.tag))
            )
            best = None
            if self.tolerance or due:  # the closest state: to match within the tolerance, or to report
                best = min((item.state.distance(s) for s in states), default=None)
            if best is not None and best <= self.tolerance:
                self.checked += 1
                continue
            if due:
                self.checked += 1
                self.drift_count += 1
                drifts += 1
                distance = best if best is not None else abs(item.state.cash)
                self.max_drift = max(self.max_drift, distance)
                log.warning(
                    "drift%s: the server's account %s%s differs from the ledger by %d units (closest state)",
                    f" for {self.name}" if self.name else "",
                    item.state,
                    f" ({item.label})" if item.label else "",
                    distance,
                )
                continue
            keep.append(item)
        self._pending = keep
        return drifts

    def summary(self) -> SessionVerification:
        return SessionVerification(
            player_updates_checked=self.checked,
            drift_count=self.drift_count,
            max_drift_lamports=self.max_drift,
        )


def best_start(
    updates: Sequence[AccountState], states: Sequence[AccountState], start: int, tolerance: int
) -> int:
    """The starting balance that best explains the server's updates.

    ``states`` are the ledger's states computed from ``start``; every (update, state) pair with the same
    position suggests a start that makes that state show the update's cash. The start under which most
    updates match some state wins (the first one on a tie).
    """
    candidates: list[int] = []
    for update in updates[:8]:
        for state in states:
            if (state.position_qty, state.avg_cost) == (update.position_qty, update.avg_cost):
                candidates.append(start + update.cash - state.cash)

    def score(candidate: int) -> int:
        delta = candidate - start
        return sum(
            1
            for u in updates
            if any(
                (s.position_qty, s.avg_cost) == (u.position_qty, u.avg_cost)
                and abs(s.cash + delta - u.cash) <= tolerance
                for s in states
            )
        )

    fallback = start + updates[0].cash - states[-1].cash if updates and states else start
    return max(dict.fromkeys(candidates), key=score, default=fallback)


class StateHistory:
    """The account states of sealed games, kept for updates that come after their game was sealed (see the
    module docstring): the last ``keep`` states, and all those of the latest batch, up to ``cap``."""

    def __init__(self, keep: int = RECENT_STATES, cap: int = MAX_STATES) -> None:
        self.keep = keep
        self.cap = cap
        self.states: list[AccountState] = []

    def add(self, batch: Sequence[AccountState]) -> None:
        """The states of the games just sealed, in order."""
        if batch:
            size = min(self.cap, max(self.keep, len(batch)))
            self.states = [*self.states[-size:], *batch][-size:]
