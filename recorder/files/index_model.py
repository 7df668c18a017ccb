"""The daily index file: a cache of what a day folder holds, rebuilt from the files.

``recordings/YYYY-MM-DD/index.json``::

    {
      "date": "2025-12-12",
      "games": [                                       sorted by file name (= start time)
        {"file": "games/20251212T221719_25dcb170.game.json", "game_id": "20251212-25dcb17086a24ad7",
         "start_time": "2025-12-12T22:17:19.615Z", "duration_ticks": 230,
         "peak_multiplier": "1.273803618739543",
         -- additions --
         "end_time": "...", "rug_price": "0.006550710277065084",
         "verified": true,                              (when the file has it)
         "size": 9046}                                  bytes of the file: a change makes the index stale
      ],
      "sessions": [
        {"file": "sessions/20251212T221658_Zer02Her0_session.json", "player_id": "did:privy:...",
         "username": "Zer02Her0", "games_played": 1, "total_actions": 2,
         -- additions --
         "session_start": "...", "session_end": "...",
         "game_ids": ["20251212-25dcb17086a24ad7"],    games with actions, first appearance first
         "size": 1234}
      ],
      "excluded": [                                    only when some file could not be indexed
        {"file": "games/x.game.json", "size": 120, "error": "meta.duration_ticks: expected 230 ..."}
      ]
    }

``file`` is relative to the day folder, with ``/``. Every fact in the index is also in the files.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Self

from pydantic import PlainValidator, model_validator

from recorder.files.base import RecordModel
from recorder.files.fields import (
    Day,
    GameId,
    NonEmptyText,
    NonNegInt,
    PositiveInt,
    Price,
    StrictFlag,
    StrictText,
    UtcTime,
    field_error,
    json_type,
    short_value,
    value_error,
)
from recorder.files.naming import GAME_FILE_RE, SESSION_FILE_RE

_GAME_REF_RE = re.compile(r"games/" + GAME_FILE_RE.pattern, re.ASCII)
_SESSION_REF_RE = re.compile(r"sessions/" + SESSION_FILE_RE.pattern, re.ASCII)
# Excluded files may have any name the listing picked up, but stay one level below the day folder.
_ANY_REF_RE = re.compile(r"(games|sessions)/[^/\\\x00-\x1f.][^/\\\x00-\x1f]*")


def _ref_validator(pattern: re.Pattern[str], what: str) -> Any:
    def validate(value: Any) -> str:
        if not isinstance(value, str):
            raise value_error(f"expected a file name string, got {json_type(value)} {short_value(value)}")
        if not pattern.fullmatch(value):
            raise value_error(f"not a {what} path relative to the day folder: {short_value(value, 80)}")
        return value

    return PlainValidator(validate)


GameFileRef = Annotated[str, _ref_validator(_GAME_REF_RE, "game file")]
SessionFileRef = Annotated[str, _ref_validator(_SESSION_REF_RE, "session file")]
AnyFileRef = Annotated[str, _ref_validator(_ANY_REF_RE, "games/ or sessions/ file")]


class IndexGameEntry(RecordModel):
    """One game of the day (the summary of its file)."""

    file: GameFileRef
    game_id: GameId
    start_time: UtcTime
    duration_ticks: PositiveInt
    peak_multiplier: Price
    end_time: UtcTime | None = None
    rug_price: Price | None = None
    verified: StrictFlag | None = None
    size: NonNegInt | None = None


class IndexSessionEntry(RecordModel):
    """One session of the day (the summary of its file)."""

    file: SessionFileRef
    player_id: NonEmptyText
    username: StrictText
    games_played: NonNegInt
    total_actions: NonNegInt
    session_start: UtcTime | None = None
    session_end: UtcTime | None = None
    game_ids: tuple[GameId, ...] | None = None
    size: NonNegInt | None = None


class ExcludedFile(RecordModel):
    """A file of the day folder that could not be indexed, and why."""

    file: AnyFileRef
    size: NonNegInt
    error: StrictText


class DailyIndex(RecordModel):
    """The ``index.json`` of a day folder (see the module docstring)."""

    date: Day
    games: tuple[IndexGameEntry, ...]
    sessions: tuple[IndexSessionEntry, ...]
    excluded: tuple[ExcludedFile, ...] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        seen: set[str] = set()
        entries: list[tuple[str, int, str]] = [("games", i, e.file) for i, e in enumerate(self.games)]
        entries += [("sessions", i, e.file) for i, e in enumerate(self.sessions)]
        entries += [("excluded", i, e.file) for i, e in enumerate(self.excluded or ())]
        for group, i, file in entries:
            if file in seen:
                raise field_error(f"{group}[{i}].file", f"{file} is listed twice")
            seen.add(file)
        return self

    def files(self) -> dict[str, int | None]:
        """Every file the index accounts for (indexed or excluded), with its recorded size."""
        out: dict[str, int | None] = {e.file: e.size for e in self.games}
        out.update((e.file, e.size) for e in self.sessions)
        out.update((e.file, e.size) for e in self.excluded or ())
        return out

    def game(self, game_id: str) -> IndexGameEntry | None:
        """The entry of a game, or None."""
        return next((e for e in self.games if e.game_id == game_id), None)

    def sessions_with(self, game_id: str) -> list[IndexSessionEntry]:
        """The sessions that have actions in a game."""
        return [e for e in self.sessions if e.game_ids is not None and game_id in e.game_ids]
