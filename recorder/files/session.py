"""Session files: one player's actions, game after game.

``recordings/YYYY-MM-DD/sessions/{YYYYMMDDTHHMMSS}_{safe username}_session.json``::

    {
      "meta": {
        "player_id": "did:privy:cmbmoqwxf00uxk40movpxyhjw",
        "username": "Zer02Her0",                       raw, as the server spells it (may be any text)
        "session_start": "2025-12-12T22:16:58.000Z",
        "session_end": "2025-12-12T22:18:20.500Z",     >= session_start
        -- optional additions: absent when unknown, never null --
        "games_played": 2,                              >= the number of distinct games in actions
        "verification": {"player_updates_checked": 14, "drift_count": 0, "max_drift_lamports": 0},
        "source": "live",                               live | ingest
        "authenticated": true,                          recorded from the player's own socket
        "recorder_version": "0.1.0",
        "inferred_actions": 2,                          actions not seen but put back (leaderboard rows)
        "board_mismatches": 1,                          games whose rows no single missed trade explains
        "games_left_out": 1                             authenticated: games begun before the recorder
                                                        joined, not replayable exactly (session_start)
      },
      "actions": [
        {
          "game_id": "20251212-25dcb17086a24ad7",
          "tick": 7,
          "timestamp": "2025-12-12T22:17:21.365Z",
          "action": "SELL",                             an ActionKind
          "amount": "4.158855049",                      SOL (9 decimals): spent (BUY), received (SELL,
                                                        LIQUIDATION), staked (SIDEBET_PLACE, SIDEBET_LOSE),
                                                        paid out (SIDEBET_WIN)
          "price": "0.8317710102714284",                the price the action executed at
          "balance_after": "12.000000000",              SOL balance after the action
          "position_qty_after": "0.000000000",          tokens held after the action
          "entry_price": null,                          average cost of the position after, null when flat
          "pnl": "-0.841144951",                        the player's profit and loss in this game so far, SOL
          -- optional additions --
          "qty": "5.000000000",                         tokens bought or sold
          "fraction": "1.0",                            part of the position sold (SELL)
          "trade_id": "9d33997e-2bad-4893-9de5-8e8ec708891a",
          "inferred": true                              not seen on the wire: put back (recorder.board_check)
        }
      ]
    }

Unknown keys (in ``meta``, in an action, at the top) are kept verbatim on read and write.
"""

from __future__ import annotations

import threading
from array import array
from collections.abc import Iterator, Sequence
from datetime import date
from enum import StrEnum
from typing import Self

from pydantic import model_validator

from recorder.files.base import RecordModel
from recorder.files.fields import (
    Fraction,
    GameId,
    Lamports,
    NanoTokens,
    NonEmptyText,
    NonNegInt,
    NonNegLamports,
    Price,
    StrictFlag,
    StrictText,
    UtcTime,
    field_error,
)
from recorder.files.jsonio import dumps_at


class ActionKind(StrEnum):
    """What a player did. New kinds are new members; a file with a kind this version lacks is refused."""

    BUY = "BUY"
    SELL = "SELL"
    SIDEBET_PLACE = "SIDEBET_PLACE"
    SIDEBET_WIN = "SIDEBET_WIN"
    SIDEBET_LOSE = "SIDEBET_LOSE"
    LIQUIDATION = "LIQUIDATION"  # the forced sale of the open position at the rug


class SessionSource(StrEnum):
    """How the session came to be recorded."""

    LIVE = "live"  # from the feed (and the player's own socket when authenticated)
    INGEST = "ingest"  # converted offline from a capture


class SessionVerification(RecordModel):
    """How the recorded state was checked against the server's own ``playerUpdate`` messages."""

    player_updates_checked: NonNegInt
    drift_count: NonNegInt  # updates whose balance or position differed from ours
    max_drift_lamports: NonNegInt  # the largest difference seen, in lamports (or nano-tokens)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.drift_count > self.player_updates_checked:
            raise field_error("drift_count", "is more than player_updates_checked")
        return self


class SessionAction(RecordModel):
    """One action of a session (see the module docstring for the file form)."""

    game_id: GameId
    tick: NonNegInt
    timestamp: UtcTime
    action: ActionKind
    amount: NonNegLamports
    price: Price
    balance_after: NonNegLamports
    position_qty_after: NanoTokens
    entry_price: Price | None
    pnl: Lamports
    qty: NanoTokens | None = None
    fraction: Fraction | None = None
    trade_id: NonEmptyText | None = None


class SessionMeta(RecordModel):
    """The ``meta`` object of a session file."""

    player_id: NonEmptyText
    username: StrictText
    session_start: UtcTime
    session_end: UtcTime
    games_played: NonNegInt | None = None
    verification: SessionVerification | None = None
    source: SessionSource | None = None
    authenticated: StrictFlag | None = None
    recorder_version: NonEmptyText | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.session_end < self.session_start:
            raise field_error("session_end", "is before session_start")
        return self

    @property
    def day(self) -> date:
        """The UTC date of the start: the day folder the session belongs in."""
        return self.session_start.date()


class SessionRecording(RecordModel):
    """A session file: ``meta`` and ``actions`` in the order they happened."""

    meta: SessionMeta
    actions: tuple[SessionAction, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        played = self.meta.games_played
        distinct = len(self.game_ids)
        if played is not None and played < distinct:
            raise field_error("meta.games_played", f"{played}, but the actions touch {distinct} games")
        return self

    @property
    def game_ids(self) -> tuple[str, ...]:
        """The games the actions touch, in order of first appearance."""
        return tuple(dict.fromkeys(a.game_id for a in self.actions))

    @property
    def games_played(self) -> int:
        """``meta.games_played`` when recorded, else the number of distinct games in the actions."""
        return self.meta.games_played if self.meta.games_played is not None else len(self.game_ids)

    def actions_in(self, game_id: str) -> Iterator[SessionAction]:
        """The actions of one game, in order."""
        return (a for a in self.actions if a.game_id == game_id)

    def to_json_bytes(self, texts: ActionTexts | None = None) -> bytes:
        """The file's bytes (see :meth:`RecordModel.to_json_bytes`). With ``texts``, the actions it already
        encoded for an earlier version of this file (the same objects) are not encoded and checked again:
        the bytes are the same either way."""
        played = self.meta.games_played
        if texts is None or self.model_extra or (played is not None and played < len(self.game_ids)):
            return super().to_json_bytes()  # the last: a file the whole file's check refuses, as it words it
        try:
            meta = self.meta.to_file_dict()
            SessionMeta.from_file_dict(meta)
            joined = texts.encode(self.actions)
            head = '{\n  "meta": ' + dumps_at(meta, 1) + ',\n  "actions": '
        except ValueError:  # a RecordingFormatError, or not JSON
            return super().to_json_bytes()  # the whole file's check says what is wrong, and where
        body = "[\n    " + joined + "\n  ]" if self.actions else "[]"
        return (head + body + "\n}\n").encode("ascii")


class ActionTexts:
    """The file form of a session's actions, kept from one rewrite of the file to the next.

    A followed player's session file is rewritten as it grows, up to 500 actions. Encoding and checking
    every action again at each rewrite cost ~50 ms and ~1.6 MB of short-lived objects for a full file. The
    sealed actions are the same objects from one version to the next (models are immutable), so only the
    actions after the longest run of identical objects at the start are encoded (and checked to read back,
    as :meth:`RecordModel.to_json_bytes` checks a whole file). The text is kept as one string and the end
    of each action in it, not a string an action: no small objects that live as long as the file.
    Thread-safe: a writer thread may use it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._actions: list[SessionAction] = []
        self._text = ""  # the actions' texts joined by _SEPARATOR
        self._ends = array("q")  # where each action's text ends in _text

    def encode(self, actions: Sequence[SessionAction]) -> str:
        """The JSON texts of the actions as they sit in the file's ``actions`` array, joined."""
        with self._lock:
            old = self._actions
            same, limit = 0, min(len(old), len(actions))
            while same < limit and actions[same] is old[same]:
                same += 1
            ends = self._ends[:same]
            parts = [self._text[: ends[-1]]] if same else []
            at = ends[-1] if same else 0
            for action in actions[same:]:
                data = action.to_file_dict()
                SessionAction.from_file_dict(data)
                text = dumps_at(data, 2)
                if parts:
                    parts.append(_SEPARATOR)
                    at += len(_SEPARATOR)
                parts.append(text)
                at += len(text)
                ends.append(at)
            self._actions, self._text, self._ends = list(actions), "".join(parts), ends
            return self._text


_SEPARATOR = ",\n    "  # between two actions of the file's array
