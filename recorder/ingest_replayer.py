"""Reading the older REPLAYER per-tick recordings (``game_YYYYMMDD_HHMMSS.jsonl``) as game recordings.

One JSON object per line: ``game_start``, ``tick`` lines ``{type, timestamp, game_id, tick, price, phase,
active, rugged, cooldown_timer, trade_count}`` and ``game_end`` (a summary: ``peak_price``,
``final_price``...). A file usually holds one game; lines are grouped by ``game_id`` so several work too.

Rules (DESIGN.md, "The recorder's truth"):

- Only *active* tick lines are prices: ``active=true, rugged=false`` and no running cooldown timer. The
  cooldown and presale lines (tick 0, price 1, ``active=false``) are phantoms and never count.
- The rug is the first tick line with ``rugged=true``; its price is the rug price and its tick the rug
  tick. Every line of the game after it (the post-rug lines keep counting ticks) is ignored.
- The same tick seen twice must carry the same price; otherwise the game is refused (never guessed).
- Missing ticks: this format has no seed, so a gap cannot be filled or checked, and prices are never
  invented. A game with a gap (or no rug, or a tick 0 other than 1.0) is refused with its reason.
- Times: the timestamps are naive local times of an unknown zone. They are read in ``assume_tz`` (UTC by
  default) and the game's ``meta.ingest.times`` says so; an aware timestamp keeps its own offset.
  ``start_time`` is the tick-0 line's, ``end_time`` the rug line's.
- No seed: ``server_seed`` and ``server_seed_hash`` are null, ``verified`` false, ``source`` "ingest",
  ``price_sources`` all "tick", ``gaps_filled`` 0, ``trade_count`` the highest count seen up to the rug.

:func:`scan_replayer_file` returns the games, the refused games with their reasons and notes on what was
skipped; :func:`read_replayer_file` returns the games or raises :class:`ReplayerFormatError` if any game was
refused; :func:`is_replayer_file` sniffs the format from the first lines.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from recorder.events import MAX_TICK, as_int, as_number
from recorder.files import GameRecording, GameSource, PriceSource
from recorder.files.fields import is_game_id, short_value
from rugs_env.game.constants import STARTING_PRICE

LINE_TYPES = frozenset({"game_start", "tick", "game_end"})
FORMAT_NAME = "replayer-jsonl"
_SNIFF_BYTES = 64 * 1024
_SNIFF_LINES = 3
_SHOWN_TICKS = 10


class ReplayerFormatError(ValueError):
    """A REPLAYER file that cannot be read, or holds games that had to be refused."""


@dataclass(frozen=True)
class RefusedGame:
    """A game of the file that is not recorded, and why."""

    game_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.game_id}: {self.reason}"


@dataclass
class ReplayerScan:
    """What :func:`scan_replayer_file` found: the games, the refused games and notes on skipped lines."""

    path: Path
    games: list[GameRecording] = field(default_factory=list)
    refused: list[RefusedGame] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class _Tick:
    price: float
    time: datetime


@dataclass
class _GameLines:
    """The lines of one game, sorted out as they come."""

    game_id: str
    ticks: dict[int, _Tick] = field(default_factory=dict)
    conflicts: list[str] = field(default_factory=list)
    rug: tuple[int, _Tick] | None = None
    trade_count: int | None = None
    end: dict[str, Any] | None = None
    phantoms: int = 0
    post_rug: int = 0
    repeats: int = 0


def is_replayer_file(path: Path | str) -> bool:
    """True if the file's first lines are REPLAYER lines (JSON objects with a known ``type`` and a
    ``game_id``; tick lines with ``tick`` and ``price``). Never raises."""
    try:
        with Path(path).open("rb") as fh:
            head = fh.read(_SNIFF_BYTES)
    except OSError:
        return False
    lines = [line for line in head.split(b"\n") if line.strip()][:_SNIFF_LINES]
    if not lines:
        return False
    for i, line in enumerate(lines):
        try:
            obj = json.loads(line)
        except ValueError:
            if i == len(lines) - 1 and len(head) == _SNIFF_BYTES:
                continue  # the read cut a long line short
            return False
        if (
            not isinstance(obj, dict)
            or not _known_type(obj.get("type"))
            or not isinstance(obj.get("game_id"), str)
        ):
            return False
        if obj["type"] == "tick" and not ("tick" in obj and "price" in obj):
            return False
    return True


def read_replayer_file(path: Path | str, *, assume_tz: tzinfo = UTC) -> list[GameRecording]:
    """The games of a REPLAYER file, in file order.

    Raises :class:`ReplayerFormatError` if the file cannot be read, holds no game, or any of its games had
    to be refused (the message gives every reason); use :func:`scan_replayer_file` to keep the good ones.
    """
    scan = scan_replayer_file(path, assume_tz=assume_tz)
    if scan.refused:
        reasons = "; ".join(str(r) for r in scan.refused)
        raise ReplayerFormatError(f"{scan.path}: {len(scan.refused)} game(s) refused: {reasons}")
    if not scan.games:
        raise ReplayerFormatError(f"{scan.path}: no game in this file")
    return scan.games


def scan_replayer_file(path: Path | str, *, assume_tz: tzinfo = UTC) -> ReplayerScan:
    """Read a REPLAYER file (see the module docstring). Bad lines are skipped with a note; a game that
    cannot be recorded faithfully is refused with its reason. Raises :class:`ReplayerFormatError` only
    if the file cannot be read at all."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayerFormatError(f"{path}: cannot read: {exc}") from None
    scan = ReplayerScan(path)
    games: dict[str, _GameLines] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            _take_line(raw, games, assume_tz)
        except _BadLine as exc:
            scan.notes.append(f"line {number}: {exc}; skipped")
    for lines in games.values():
        scan.notes.extend(_notes(lines))
        try:
            scan.games.append(_build(lines, path, assume_tz))
        except _Refused as exc:
            scan.refused.append(RefusedGame(lines.game_id, str(exc)))
    return scan


# -- lines --


class _BadLine(ValueError):
    pass


class _Refused(ValueError):
    pass


def _take_line(raw: str, games: dict[str, _GameLines], assume_tz: tzinfo) -> None:
    try:
        obj = json.loads(raw)
    except ValueError as exc:
        raise _BadLine(f"not JSON ({exc})") from None
    if not isinstance(obj, dict):
        raise _BadLine("not a JSON object")
    kind, game_id = obj.get("type"), obj.get("game_id")
    if not _known_type(kind):
        raise _BadLine(f"unknown line type {short_value(kind)}")
    if not is_game_id(game_id):
        raise _BadLine(f"not a game id: {short_value(game_id)}")
    game = games.setdefault(game_id, _GameLines(game_id))
    if kind == "game_end":
        game.end = obj
    if kind != "tick":
        return
    if game.rug is not None:
        game.post_rug += 1  # the post-rug lines keep counting ticks: never prices
        return
    active, rugged, cooldown = obj.get("active"), obj.get("rugged"), obj.get("cooldown_timer")
    if not isinstance(active, bool) or not isinstance(rugged, bool):
        raise _BadLine("tick line without boolean active and rugged")
    if not rugged and (not active or (cooldown is not None and cooldown != 0)):
        game.phantoms += 1  # cooldown or presale: tick 0, price 1, not a price of the game
        return
    tick, price, when = (
        _int(obj.get("tick")),
        _price(obj.get("price")),
        _time(obj.get("timestamp"), assume_tz),
    )
    count = obj.get("trade_count")
    if isinstance(count, int) and not isinstance(count, bool):
        game.trade_count = max(game.trade_count or 0, count)
    seen = _Tick(price, when)
    if rugged:
        game.rug = (tick, seen)
        return
    before = game.ticks.get(tick)
    if before is None:
        game.ticks[tick] = seen
    elif before.price == price:
        game.repeats += 1
    else:
        game.conflicts.append(f"tick {tick} has price {before.price!r} and then {price!r}")


def _known_type(kind: Any) -> bool:
    return isinstance(kind, str) and kind in LINE_TYPES


def _int(value: Any) -> int:
    tick = as_int(value, maximum=MAX_TICK)
    if tick is None:
        raise _BadLine(f"tick is not an integer from 0 to {MAX_TICK}: {short_value(value)}")
    return tick


def _price(value: Any) -> float:
    price = as_number(value)  # None for NaN, infinities and integers beyond any double
    if price is None or price < 0:
        raise _BadLine(f"price is not a finite number >= 0: {short_value(value)}")
    return price


def _time(value: Any, assume_tz: tzinfo) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise _BadLine(f"timestamp is not an ISO time: {short_value(value)}") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=assume_tz)


# -- games --


def _build(lines: _GameLines, path: Path, assume_tz: tzinfo) -> GameRecording:
    """The game recording of one game's lines, or :class:`_Refused` with the reason."""
    ticks = lines.ticks
    if lines.conflicts:
        raise _Refused("the same tick recorded with different prices: " + "; ".join(lines.conflicts[:3]))
    if lines.rug is None:
        last = f"the last active tick is {max(ticks)}" if ticks else "no active tick was recorded"
        raise _Refused(f"no rug: the recording stops before the game ended ({last})")
    rug_tick, rug = lines.rug
    if rug_tick < 1:
        raise _Refused(f"rug at tick {rug_tick}; the earliest possible rug is tick 1")
    late = sorted(t for t in ticks if t >= rug_tick)
    if late:
        raise _Refused(f"active ticks at or after the rug at tick {rug_tick}: {_ticks_text(late)}")
    missing = [t for t in range(rug_tick) if t not in ticks]
    if missing:
        raise _Refused(
            f"{len(missing)} of {rug_tick} pre-rug ticks missing ({_ticks_text(missing)}); this format has "
            "no seed to fill or check them, and prices are never invented"
        )
    prices = [ticks[t].price for t in range(rug_tick)]
    if prices[0] != STARTING_PRICE:
        raise _Refused(f"tick 0 has price {prices[0]!r}; every game starts at {STARTING_PRICE!r}")
    start, end = ticks[0].time, rug.time
    if end < start:
        raise _Refused(f"the rug's timestamp {end.isoformat()} is before tick 0's {start.isoformat()}")
    additions: dict[str, Any] = {}
    if lines.trade_count is not None:
        additions["trade_count"] = lines.trade_count
    try:
        return GameRecording.create(
            game_id=lines.game_id,
            start_time=start,
            end_time=end,
            prices=[*prices, rug.price],
            server_seed_hash=None,
            server_seed=None,
            verified=False,
            price_sources={PriceSource.TICK.value: rug_tick + 1},
            gaps_filled=0,
            source=GameSource.INGEST,
            ingest={"format": FORMAT_NAME, "file": path.name, "times": _times_note(ticks[0], assume_tz)},
            **additions,
        )
    except (ValidationError, ValueError) as exc:
        raise _Refused(f"not a valid game: {exc}") from None


def _times_note(tick0: _Tick, assume_tz: tzinfo) -> str:
    if tick0.time.tzinfo is not assume_tz:
        return "timestamps carried their UTC offset"
    zone = "UTC" if assume_tz is UTC else str(assume_tz)
    return f"timestamps are naive local times of an unknown zone, read as {zone}"


def _notes(lines: _GameLines) -> list[str]:
    """What was skipped or looked odd in a game, for the caller's log (the game may still be fine)."""
    notes = []
    gid = lines.game_id
    if lines.repeats:
        notes.append(f"{gid}: {lines.repeats} tick line(s) repeated with the same price; kept once")
    end, rug = lines.end, lines.rug
    if end is not None and rug is not None and lines.ticks:
        peak = max(t.price for t in lines.ticks.values())
        said_peak, said_final = end.get("peak_price"), end.get("final_price")
        if isinstance(said_peak, int | float) and said_peak != peak:
            notes.append(f"{gid}: game_end says peak {said_peak!r}, the active ticks give {peak!r}")
        if isinstance(said_final, int | float) and said_final != rug[1].price:
            notes.append(f"{gid}: game_end says final price {said_final!r}, the rug line {rug[1].price!r}")
    return notes


def _ticks_text(ticks: list[int]) -> str:
    shown = ", ".join(str(t) for t in ticks[:_SHOWN_TICKS])
    return shown + (", ..." if len(ticks) > _SHOWN_TICKS else "")
