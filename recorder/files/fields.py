"""Field types of the recording files: exact in memory, decimal strings on disk.

==================  ===============================  =================================================
Type                In memory                        In a file
==================  ===============================  =================================================
``Price``           ``float`` (finite, >= 0)         ``repr`` string, e.g. ``"1.0"``, ``"0.0065507..."``
``Fraction``        ``float`` in (0, 1]              same as a price, e.g. ``"0.25"``
``Lamports``        ``int`` lamports (signed)        SOL with 9 decimals, e.g. ``"-0.004000000"``
``NonNegLamports``  ``int`` lamports >= 0            idem
``NanoTokens``      ``int`` 1e-9 tokens >= 0         tokens with 9 decimals, e.g. ``"6.035935803"``
``UtcTime``         aware ``datetime`` in UTC,       ``"2025-12-12T22:16:58.123Z"`` (always 3 decimals)
                    truncated to the millisecond
``Day``             ``datetime.date``                ``"2025-12-12"``
``GameId``          ``str`` ``YYYYMMDD-<16 hex>``    the same string
``SeedHex``         ``str``, 64 lowercase hex        the same string
==================  ===============================  =================================================

Validation has two modes. Reading a file (validation context ``{FILE_CONTEXT: True}``) demands the file
form (a price must be a string; a JSON number is an error, so a file never depends on a JSON parser's float
handling). Building a value in Python demands the memory form (a price is an ``int``/``float``, not a str).
Integers (ticks, counts) and booleans are plain JSON integers and booleans in both.
"""

from __future__ import annotations

import contextlib
import json
import math
import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

from pydantic import (
    Field,
    PlainSerializer,
    PlainValidator,
    Strict,
    ValidationInfo,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from rugs_env.game.money import NANO, MoneyFormatError, nano_str, parse_nano_str, price_str

FILE_CONTEXT = "recording_file"  # validation-context key: the data comes from a JSON file

GAME_ID_RE = re.compile(r"\d{8}-[0-9a-f]{16}", re.ASCII)
SEED_RE = re.compile(r"[0-9a-f]{64}", re.ASCII)
_PRICE_RE = re.compile(r"\d+(?:\.\d+)?(?:[eE][+-]?\d+)?", re.ASCII)
_AMOUNT_RE = re.compile(r"-?\d+(?:\.\d{1,9})?", re.ASCII)
_TIME_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})\.(\d{3})Z", re.ASCII)
_DAY_RE = re.compile(r"(\d{4})-(\d{2})-(\d{2})", re.ASCII)


# -- error helpers --


def value_error(message: str) -> PydanticCustomError:
    """An error about the value being validated (the field path comes from pydantic's location)."""
    return PydanticCustomError("recording_value", "{message}", {"message": message})


def field_error(path: str, message: str) -> PydanticCustomError:
    """An error about field ``path`` below the model being validated (for cross-field checks)."""
    if not path:
        return value_error(message)
    return PydanticCustomError("recording_field", "{sub}: {message}", {"sub": path, "message": message})


def json_type(value: Any) -> str:
    """The JSON name of a value's type, for messages (``null``, ``boolean``, ``integer``, ...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def from_file(info: ValidationInfo | None) -> bool:
    """True when validating data read from a file (the strict file form is required)."""
    context = info.context if info is not None else None  # a property: read once (called per field)
    return isinstance(context, dict) and bool(context.get(FILE_CONTEXT))


def short_value(value: Any, limit: int = 40) -> str:
    """A value for an error message, in JSON spelling where it is JSON (``true``, ``null``, ``"x"``)."""
    text = ""
    if value is None or isinstance(value, bool | int | float | str):
        with contextlib.suppress(ValueError):  # integers beyond the digit limit
            text = json.dumps(value, ensure_ascii=True)
    text = text or repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# -- prices --


def parse_price_text(text: Any) -> float:
    """A price string from a file: a plain decimal (``repr`` form) of a finite double >= 0."""
    if not isinstance(text, str):
        raise value_error(f'expected a price string such as "1.0", got {json_type(text)} {short_value(text)}')
    if not _PRICE_RE.fullmatch(text):
        raise value_error(f"not a non-negative decimal price: {short_value(text)}")
    value = float(text)
    if not math.isfinite(value):
        raise value_error(f"price out of range: {short_value(text)}")
    return value


def check_price(value: Any) -> float:
    """A price given in Python: an ``int`` or ``float``, finite and >= 0 (``-0.0`` is refused too)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise value_error(f"expected a float price, got {type(value).__name__} {short_value(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise value_error(f"price out of range: {short_value(value)}") from None
    if not math.isfinite(number) or number < 0 or math.copysign(1.0, number) < 0:
        raise value_error(f"price must be finite and >= 0, got {short_value(value)}")
    return number


def _validate_price(value: Any, info: ValidationInfo) -> float:
    return parse_price_text(value) if from_file(info) else check_price(value)


def _validate_fraction(value: Any, info: ValidationInfo) -> float:
    number = _validate_price(value, info)
    if not 0.0 < number <= 1.0:
        raise value_error(f"fraction must be in (0, 1], got {number!r}")
    return number


Price = Annotated[float, PlainValidator(_validate_price), PlainSerializer(price_str, when_used="json")]
Fraction = Annotated[float, PlainValidator(_validate_fraction), PlainSerializer(price_str, when_used="json")]

# A whole array of prices (a game's ~200), as the text of one regular expression: checked at once in C.
_PRICES_RE = re.compile(rf"{_PRICE_RE.pattern}(?:,{_PRICE_RE.pattern})*", re.ASCII)


def _validate_prices(value: Any, handler: ValidatorFunctionWrapHandler, info: ValidationInfo) -> Any:
    """``tuple[Price, ...]`` at the speed of a few C loops when every price is valid (a game file has
    hundreds); anything else goes to the item-by-item validation, which names each bad one."""
    if isinstance(value, list | tuple) and value:
        if from_file(info):
            try:  # join refuses a non-string; float refuses an item that is not one number
                if _PRICES_RE.fullmatch(",".join(value)):
                    prices = tuple(map(float, value))
                    if math.isfinite(max(prices)):  # all >= 0: only an overflow can be infinite
                        return prices
            except (TypeError, ValueError):
                pass
        elif set(map(type, value)) == {float} and min(value) > 0.0 and math.isfinite(sum(value)):
            return tuple(value)  # plain positive doubles (no -0.0, no NaN: min > 0 and a finite sum)
    return handler(value)


def _serialize_prices(value: tuple[float, ...]) -> list[str]:
    if set(map(type, value)) <= {float} and math.isfinite(sum(value)):
        return list(map(float.__repr__, value))  # what price_str gives each
    return [price_str(price) for price in value]


Prices = Annotated[
    tuple[Price, ...], WrapValidator(_validate_prices), PlainSerializer(_serialize_prices, when_used="json")
]


# -- amounts (lamports, nano-tokens) --


def _amount_validator(signed: bool, unit: str) -> Any:
    def validate(value: Any, info: ValidationInfo) -> int:
        if from_file(info):
            if not isinstance(value, str):
                raise value_error(
                    f'expected a decimal string with up to 9 decimals such as "0.5", got {json_type(value)} '
                    f"{short_value(value)}"
                )
            if not _AMOUNT_RE.fullmatch(value):
                raise value_error(f"not a decimal amount with up to 9 decimals: {short_value(value)}")
            try:
                units = _amount_units(value)
            except MoneyFormatError as exc:  # pragma: no cover - the pattern already excludes these
                raise value_error(str(exc)) from None
        else:
            if isinstance(value, bool) or not isinstance(value, int):
                raise value_error(
                    f"expected an int count of {unit}, got {type(value).__name__} {short_value(value)}"
                )
            units = value
        if not signed and units < 0:
            raise value_error(f"must be >= 0, got {nano_str(units)}")
        return units

    return validate


def _amount_units(text: str) -> int:
    """:func:`parse_nano_str` of a string matching ``_AMOUNT_RE``, in integers (no Decimal: a session file
    holds five amounts an action); the exact same count."""
    negative = text.startswith("-")
    whole, _, frac = (text[1:] if negative else text).partition(".")
    if len(whole) > 18:  # beyond Decimal's 28 digits once scaled: it rounds, let it say what it says
        return parse_nano_str(text)
    units = int(whole) * NANO + (int(frac.ljust(9, "0")) if frac else 0)
    return -units if negative else units


_SER_NANO = PlainSerializer(nano_str, when_used="json")
Lamports = Annotated[int, PlainValidator(_amount_validator(True, "lamports")), _SER_NANO]
NonNegLamports = Annotated[int, PlainValidator(_amount_validator(False, "lamports")), _SER_NANO]
NanoTokens = Annotated[int, PlainValidator(_amount_validator(False, "nano-tokens")), _SER_NANO]


# -- times --


def format_time(moment: datetime) -> str:
    """``2025-12-12T22:16:58.123Z``: UTC, milliseconds (truncated), ``Z``."""
    m = normalize_time(moment)
    return (
        f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}."
        f"{m.microsecond // 1000:03d}Z"
    )


def parse_time(text: str) -> datetime:
    """Inverse of :func:`format_time`; raises ``ValueError`` for any other form."""
    match = _TIME_RE.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f'expected a UTC time such as "2025-12-12T22:16:58.123Z", got {short_value(text)}')
    y, mo, d, h, mi, s, ms = (int(g) for g in match.groups())
    try:
        return datetime(y, mo, d, h, mi, s, ms * 1000, tzinfo=UTC)
    except ValueError as exc:
        raise ValueError(f"not a valid date and time: {text!r} ({exc})") from None


def normalize_time(moment: datetime) -> datetime:
    """An aware datetime converted to UTC and truncated to the millisecond (naive datetimes are refused)."""
    if not isinstance(moment, datetime):
        raise TypeError(f"expected a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("naive datetime: give a timezone-aware time (UTC)")
    utc = moment.astimezone(UTC)
    return utc.replace(microsecond=utc.microsecond - utc.microsecond % 1000)


def utc_from_ms(ms: int) -> datetime:
    """The UTC time of a Unix timestamp in milliseconds (the wire's ``timestamp`` fields)."""
    seconds, millis = divmod(int(ms), 1000)
    return datetime.fromtimestamp(seconds, UTC).replace(microsecond=millis * 1000)


def to_ms(moment: datetime) -> int:
    """Unix milliseconds of an aware datetime (exact for the millisecond times the files hold)."""
    delta = normalize_time(moment) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


def utc_now() -> datetime:
    """Now, in UTC, to the millisecond."""
    return normalize_time(datetime.now(UTC))


def _validate_time(value: Any, info: ValidationInfo) -> datetime:
    if from_file(info):
        if not isinstance(value, str):
            raise value_error(f"expected a time string, got {json_type(value)} {short_value(value)}")
        try:
            return parse_time(value)
        except ValueError as exc:
            raise value_error(str(exc)) from None
    try:
        return normalize_time(value)
    except (TypeError, ValueError) as exc:
        raise value_error(str(exc)) from None


def format_day(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def parse_day(text: str) -> date:
    """``YYYY-MM-DD`` to a date; raises ``ValueError`` otherwise."""
    match = _DAY_RE.fullmatch(text) if isinstance(text, str) else None
    if not match:
        raise ValueError(f'expected a date such as "2025-12-12", got {short_value(text)}')
    try:
        return date(*(int(g) for g in match.groups()))
    except ValueError as exc:
        raise ValueError(f"not a valid date: {text!r} ({exc})") from None


def _validate_day(value: Any, info: ValidationInfo) -> date:
    if from_file(info):
        try:
            return parse_day(value)
        except ValueError as exc:
            raise value_error(str(exc)) from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise value_error(f"expected a date, got {type(value).__name__}")
    return value


UtcTime = Annotated[datetime, PlainValidator(_validate_time), PlainSerializer(format_time, when_used="json")]
Day = Annotated[date, PlainValidator(_validate_day), PlainSerializer(format_day, when_used="json")]


# -- identifiers --


def is_game_id(text: Any) -> bool:
    """True for a well-formed game id, ``YYYYMMDD-`` and 16 lowercase hex digits."""
    return isinstance(text, str) and GAME_ID_RE.fullmatch(text) is not None


def _validate_game_id(value: Any) -> str:
    if not isinstance(value, str):
        raise value_error(f"expected a game id string, got {json_type(value)} {short_value(value)}")
    if not GAME_ID_RE.fullmatch(value):
        raise value_error(f"not a game id (YYYYMMDD-<16 lowercase hex>): {short_value(value)}")
    return value


def _validate_seed(value: Any) -> str:
    if not isinstance(value, str):
        raise value_error(f"expected a 64-hex string, got {json_type(value)} {short_value(value)}")
    if not SEED_RE.fullmatch(value):
        raise value_error(f"not 64 lowercase hex digits: {short_value(value)}")
    return value


GameId = Annotated[str, PlainValidator(_validate_game_id)]
SeedHex = Annotated[str, PlainValidator(_validate_seed)]

# Plain JSON scalars, strictly typed (no coercion from strings, floats or booleans).
NonNegInt = Annotated[int, Strict(), Field(ge=0)]
PositiveInt = Annotated[int, Strict(), Field(ge=1)]
StrictText = Annotated[str, Strict()]
NonEmptyText = Annotated[str, Strict(), Field(min_length=1)]
StrictFlag = Annotated[bool, Strict()]
