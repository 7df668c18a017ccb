"""The session file of a followed player, built from what the :mod:`recorder.sessions` recorder knows.

The actions come from the ledger (:func:`recorder.session_replay.to_action`); this module adds the meta:
who, when, how the balance is known (``balance_basis``, ``starting_balance``), the server's verification of
an authenticated player, and the counts of what had to be inferred or did not match.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from recorder.files import SessionAction, SessionRecording, SessionSource, SessionVerification
from rugs_env.game.money import nano_str


@dataclass(slots=True)
class SessionCounters:
    inferred: int = 0  # buys assumed for tokens sold but never seen bought
    rejects: int = 0  # inputs the ledger refused (logged)
    mismatches: int = 0  # wire amounts or sidebet results that differ from the ledger's
    board: int = 0  # games whose leaderboard rows no single missed trade explains (board_check)
    late: int = 0  # inputs for a game already sealed (ignored)
    left_out: int = 0  # games under way when the recorder authenticated, the player's actions unseen


@dataclass(frozen=True, slots=True)
class SessionHeader:
    """Who the session is and how it was recorded (what every file of the session shares)."""

    player_id: str
    username: str
    source: SessionSource
    recorder_version: str | None


def session_recording(
    header: SessionHeader,
    actions: Sequence[SessionAction],
    *,
    started: datetime,
    ended: datetime,
    basis: str,
    starting_balance: int,
    shift: int,
    verification: SessionVerification | None,
    counters: SessionCounters,
) -> SessionRecording:
    """A session file: ``actions`` (balances already shifted by ``shift``) with their meta.

    ``starting_balance`` is the unshifted balance before the first action; ``basis`` says how it is known
    (``given``, ``minimal``, ``server``, ``carried over``), suffixed ``, shifted`` when balances had to be
    raised by ``-shift`` to keep them from going negative (but for ``minimal``, which is that by
    definition).
    """
    meta: dict[str, object] = {
        "player_id": header.player_id,
        "username": header.username,
        "session_start": started,
        "session_end": ended,
        "games_played": len({a.game_id for a in actions}),
        "source": header.source,
        "recorder_version": header.recorder_version,
        "balance_basis": basis if shift == 0 or basis == "minimal" else f"{basis}, shifted",
        "starting_balance": nano_str(starting_balance - shift),
    }
    if verification is not None:
        meta["verification"] = verification
        meta["authenticated"] = True
    c = counters
    for key, value in (
        ("inferred_actions", c.inferred),
        ("ledger_rejects", c.rejects),
        ("wire_mismatches", c.mismatches),
        ("board_mismatches", c.board),
        ("late_inputs", c.late),
        ("games_left_out", c.left_out),
    ):
        if value:
            meta[key] = value
    return SessionRecording.model_validate({"meta": meta, "actions": actions})
