"""Lenient, typed views of the feed's payloads (PROTOCOL.md §3).

The wire is never trusted. Each ``parse_*`` function takes a payload (the *last* argument of an event; see
:func:`payload_of`) and returns a small immutable view in which every field is either of its documented type
or ``None`` ("not known"). A field of the wrong type is never coerced and never defaulted: it becomes
``None`` and is listed in ``problems``, so a partial message merges into what is known instead of inventing
a price 1.0 at tick 0 or a ``rugged=false``. A payload that cannot be used at all (not an object, no valid
game id, a trade without a player) raises :class:`Malformed` with a short reason, which the pipeline counts
and logs.

Numbers: JSON integers and doubles both arrive as Python ``int``/``float``; booleans are refused wherever a
number is expected (``True`` is an ``int`` in Python), and so are NaN and infinities. SOL amounts are turned
into exact lamports with :func:`lamports` (the double's shortest repr, rounded half up to 9 decimals), prices
stay doubles bit for bit.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rugs_env.game.money import MoneyFormatError, to_nano_rounded

GAME_ID_RE = re.compile(r"\d{8}-[0-9a-f]{16}", re.ASCII)
SEED_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)
_TICK_KEY_RE = re.compile(r"\d{1,6}", re.ASCII)
MAX_TICK = 100_000  # far beyond the algorithm's 5000: anything larger is garbage, not a tick
_INF = math.inf


class Malformed(ValueError):
    """A payload that cannot be used; ``str(exc)`` is a short reason for counters and logs."""


# -- scalar helpers ---------------------------------------------------------------------------------------
def payload_of(args: Sequence[Any] | None) -> Any:
    """The payload of an event: its last argument (a trace object may come first); None without args."""
    if not args:
        return None
    return args[-1]


def as_number(value: Any) -> float | None:
    """A finite JSON number as a float (ints converted exactly), else None (booleans are not numbers)."""
    if type(value) is float:  # the usual case, decided in one comparison (NaN fails it)
        return value if -_INF < value < _INF else None
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


def as_price(value: Any) -> float | None:
    """A price: a finite number >= 0 (``-0.0`` excluded), else None."""
    if type(value) is float and 0.0 < value < _INF:  # the usual wire price: as it is
        return value
    number = as_number(value)
    if number is None or number < 0 or math.copysign(1.0, number) < 0:
        return None
    return number


def as_prices(values: Sequence[Any]) -> tuple[float, ...] | None:
    """:func:`as_price` of each value, or None if any is not a price; an array of ordinary positive numbers
    (a history entry's ~200 prices) is checked at once."""
    if set(map(type, values)) <= {float, int}:
        try:
            prices = tuple(map(float, values))
        except OverflowError:  # an integer beyond any double: item by item says which
            prices = ()
        if prices and min(prices) > 0.0 and math.isfinite(sum(prices)):  # no 0, -0.0, NaN or infinity
            return prices
    parsed = [as_price(v) for v in values]
    return tuple(p for p in parsed if p is not None) if all(p is not None for p in parsed) else None


def as_int(value: Any, *, minimum: int = 0, maximum: int | None = None) -> int | None:
    """A JSON integer within bounds (not a bool, not a float), else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    if value < minimum or (maximum is not None and value > maximum):
        return None
    return value


def as_bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def as_str(value: Any, *, max_len: int = 512) -> str | None:
    return value if isinstance(value, str) and len(value) <= max_len else None


def as_game_id(value: Any) -> str | None:
    return value if isinstance(value, str) and GAME_ID_RE.fullmatch(value) else None


def as_seed(value: Any) -> str | None:
    return value if isinstance(value, str) and SEED_RE.fullmatch(value) else None


def lamports(value: Any) -> int | None:
    """SOL (a wire double) as exact lamports, or None when not a finite number."""
    number = as_number(value)
    if number is None:
        return None
    try:
        return to_nano_rounded(number)
    except (MoneyFormatError, ValueError, ArithmeticError):
        return None


def time_from_ms(value: Any) -> datetime | None:
    """A wire timestamp (Unix ms) as an aware UTC datetime, or None when absent or absurd."""
    ms = as_int(value, minimum=946_684_800_000, maximum=4_102_444_800_000)  # years 2000 .. 2100
    if ms is None:
        return None
    return datetime.fromtimestamp(ms // 1000, UTC).replace(microsecond=(ms % 1000) * 1000)


def _tick(value: Any) -> int | None:
    return as_int(value, maximum=MAX_TICK)


# -- gameStateUpdate --------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class GameState:
    """A ``gameStateUpdate``. Every field may be None (absent or of the wrong type); see ``problems``."""

    game_id: str
    active: bool | None = None
    rugged: bool | None = None
    price: float | None = None
    tick: int | None = None
    cooldown_timer: int | None = None
    presale: bool | None = None
    trade_count: int | None = None
    partial: dict[int, float] | None = None  # partialPrices values by tick (valid entries only)
    partial_end: int | None = None
    snapshot: tuple[float | None, ...] | None = None  # ``prices`` (first message after connecting)
    history: tuple[Any, ...] | None = None  # raw gameHistory entries (parsed lazily, by id first)
    seed_hash: str | None = None
    version: str | None = None
    leaderboard: tuple[Any, ...] | None = None
    problems: tuple[str, ...] = ()

    @property
    def running(self) -> bool:
        """An active, not rugged message: its ``price``/``tickCount`` are a real pre-rug tick."""
        return self.active is True and self.rugged is False


def _partial(value: Any, problems: list[str]) -> tuple[dict[int, float] | None, int | None]:
    if value is None:
        return None, None
    if not isinstance(value, dict) or not isinstance(value.get("values"), dict):
        problems.append("partialPrices")
        return None, None
    out: dict[int, float] = {}
    for key, raw in value["values"].items():
        price = as_price(raw)
        if not isinstance(key, str) or not _TICK_KEY_RE.fullmatch(key) or price is None:
            problems.append("partialPrices.values")
            continue
        out[int(key)] = price
    end = _tick(value.get("endTick"))
    if end is None and "endTick" in value:
        problems.append("partialPrices.endTick")
    if out and (end is None or end not in out):
        end = max(out)
    return (out or None), (end if out else None)


def _snapshot(value: Any, problems: list[str]) -> tuple[float | None, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_TICK:
        problems.append("prices")
        return None
    prices = tuple(as_price(v) for v in value)
    if any(p is None for p in prices):
        problems.append("prices[]")
    return prices


def _field(payload: dict[str, Any], key: str, conv: Any, problems: list[str]) -> Any:
    if key not in payload:
        return None
    value = conv(payload[key])
    if value is None and payload[key] is not None:
        problems.append(key)
    return value


def parse_game_state(payload: Any) -> GameState:
    """The view of a ``gameStateUpdate`` payload; :class:`Malformed` without a valid ``gameId``."""
    if type(payload) is dict:
        state = usual_game_state(payload)  # the usual message, read faster (recorder.events_usual)
        if state is not None:
            return state
    return _parse_game_state(payload)


def _parse_game_state(payload: Any) -> GameState:
    """:func:`parse_game_state` of any payload (every bad field listed in ``problems``)."""
    if not isinstance(payload, dict):
        raise Malformed(f"gameStateUpdate payload is {type(payload).__name__}, not an object")
    game_id = as_game_id(payload.get("gameId"))
    if game_id is None:
        raise Malformed("gameStateUpdate without a valid gameId")
    problems: list[str] = []
    partial, partial_end = _partial(payload.get("partialPrices"), problems)
    history = payload.get("gameHistory")
    if history is not None and not isinstance(history, list):
        problems.append("gameHistory")
        history = None
    board = payload.get("leaderboard")
    if board is not None and not isinstance(board, list):
        problems.append("leaderboard")
        board = None
    fair = payload.get("provablyFair")
    seed_hash = version = None
    if isinstance(fair, dict):
        seed_hash = as_seed(fair.get("serverSeedHash"))
        version = as_str(fair.get("version"), max_len=8)
    elif fair is not None:
        problems.append("provablyFair")
    version = as_str(payload.get("gameVersion"), max_len=8) or version
    return GameState(
        game_id=game_id,
        active=_field(payload, "active", as_bool, problems),
        rugged=_field(payload, "rugged", as_bool, problems),
        price=_field(payload, "price", as_price, problems),
        tick=_field(payload, "tickCount", _tick, problems),
        cooldown_timer=_field(payload, "cooldownTimer", as_int, problems),
        presale=_field(payload, "allowPreRoundBuys", as_bool, problems),
        trade_count=_field(payload, "tradeCount", as_int, problems),
        partial=partial,
        partial_end=partial_end,
        snapshot=_snapshot(payload.get("prices"), problems),
        history=tuple(history) if history is not None else None,
        seed_hash=seed_hash,
        version=version,
        leaderboard=tuple(board) if board is not None else None,
        problems=tuple(problems),
    )


# -- gameHistory entries ----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A finished game as ``gameHistory`` shows it (the seed revealed)."""

    game_id: str
    timestamp_ms: int | None
    prices: tuple[float, ...] | None  # None when absent (Feb 2026) or not all valid
    peak: float | None
    server_seed: str | None
    server_seed_hash: str | None
    version: str | None
    sidebets: tuple[Any, ...]


def history_id(entry: Any) -> str | None:
    """The game id of a raw history entry (cheap: used to skip entries already handled)."""
    return as_game_id(entry.get("id")) if isinstance(entry, dict) else None


def parse_history_entry(entry: Any) -> HistoryEntry:
    if not isinstance(entry, dict):
        raise Malformed("gameHistory entry is not an object")
    game_id = as_game_id(entry.get("id"))
    if game_id is None:
        raise Malformed("gameHistory entry without a valid id")
    raw_prices = entry.get("prices")
    prices: tuple[float, ...] | None = None
    if isinstance(raw_prices, list) and 2 <= len(raw_prices) <= MAX_TICK:
        prices = as_prices(raw_prices)
    fair = entry.get("provablyFair") if isinstance(entry.get("provablyFair"), dict) else {}
    sidebets = entry.get("globalSidebets")
    return HistoryEntry(
        game_id=game_id,
        timestamp_ms=as_int(entry.get("timestamp")),
        prices=prices,
        peak=as_price(entry.get("peakMultiplier")),
        server_seed=as_seed(fair.get("serverSeed")),
        server_seed_hash=as_seed(fair.get("serverSeedHash")),
        version=as_str(entry.get("gameVersion"), max_len=8),
        sidebets=tuple(sidebets) if isinstance(sidebets, list) else (),
    )


# The player events live in their own module; importing them from here keeps one import surface.
from recorder.events_players import (  # noqa: E402
    AccountUpdate,
    BoardEntry,
    Identity,
    SidebetEvent,
    Trade,
    parse_board_entry,
    parse_player_update,
    parse_sidebet,
    parse_trade,
    parse_username_status,
)
from recorder.events_usual import usual_game_state  # noqa: E402

__all__ = [
    "AccountUpdate",
    "BoardEntry",
    "GameState",
    "HistoryEntry",
    "Identity",
    "Malformed",
    "SidebetEvent",
    "Trade",
    "as_bool",
    "as_game_id",
    "as_int",
    "as_number",
    "as_price",
    "as_prices",
    "as_seed",
    "as_str",
    "history_id",
    "lamports",
    "parse_board_entry",
    "parse_game_state",
    "parse_history_entry",
    "parse_player_update",
    "parse_sidebet",
    "parse_trade",
    "parse_username_status",
    "payload_of",
    "time_from_ms",
]
