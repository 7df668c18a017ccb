"""Journals and captures are parsed with msgspec (:func:`recorder.journal.loads_line`): the very same values
as ``json.loads``, or the same exception.

Prices are bit-exact only if every number parses to the very double Python's ``json`` gives: checked on every
line (every number) of the bundled capture, then by property tests over floats written every way a server
may write them, integers of any size, whole documents, and the inputs where the two parsers part ways (there
the fallback to ``json`` decides).
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

from conftest import RAW_CAPTURE
from hypothesis import given, settings
from hypothesis import strategies as st

from recorder.journal import _DECODER, loads_line


def same(a: Any, b: Any) -> bool:
    """Equal values of the same types, floats bit for bit, dict keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack("<d", a) == struct.pack("<d", b) or (math.isnan(a) and math.isnan(b))
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    return bool(a == b)


def check(text: str) -> None:
    """``loads_line`` agrees with ``json.loads``; where msgspec itself accepts the text, so does it."""
    try:
        expected: Any = ("ok", json.loads(text))
    except (ValueError, RecursionError) as exc:
        expected = ("error", type(exc))
    try:
        got: Any = ("ok", loads_line(text))
    except (ValueError, RecursionError) as exc:
        got = ("error", type(exc))
    assert got[0] == expected[0], text[:200]
    assert same(got[1], expected[1]) if got[0] == "ok" else got[1] is expected[1], text[:200]
    try:
        direct = _DECODER.decode(text)
    except Exception:  # refused by msgspec: the fallback answered, checked above
        return
    assert expected[0] == "ok" and same(direct, expected[1]), text[:200]


def numbers(value: Any) -> int:
    if isinstance(value, bool):
        return 0
    if isinstance(value, int | float):
        return 1
    if isinstance(value, list):
        return sum(numbers(v) for v in value)
    if isinstance(value, dict):
        return sum(numbers(v) for v in value.values())
    return 0


def test_every_line_and_number_of_the_capture() -> None:
    count = 0
    for line in RAW_CAPTURE.read_text(encoding="utf-8").splitlines():
        direct = _DECODER.decode(line)  # msgspec itself, not the fallback
        assert same(direct, json.loads(line))
        check(line)
        count += numbers(direct)
    assert count == 84_102  # the capture's prices, ticks, amounts, timestamps...


EDGES = [
    "-0", "-0.0", "0e0", "-0e-0", "1E400", "-1e400", "1e-400", "[1e309]", "4.9e-324",
    "2.4703282292062327e-324", "2.4703282292062328e-324", "2.2250738585072011e-308", "1.7976931348623157e308",
    "1.7976931348623158e308",
    "1.7976931348623159e308", "0.30000000000000004", "9007199254740993", "9007199254740993.0",
    str(2**63), str(2**64), str(-(2**63) - 1), "1" + "0" * 30, "-" + "9" * 5000, "0." + "0" * 400 + "1",
    "1" + "0" * 400 + ".0", "123456789012345678901234567890.123456789e-10", "NaN", "Infinity", "-Infinity",
    '{"a":1,"a":2}', '"\\ud800"', '"\\udc00x"', '"\\ud83d\\ude00"', '"a\x01b"', '"\t"', '"\x7f"', '"\\u0000"',
    '"\u2028"', "[1,]", '{"a":1,}', "", " 1 ", "1 2", "\ufeff{}", "\u00a01", "\x0c{}", "1\r", "[1]\x00", "1e",
    "01", "1.", ".5", "-", "nul", "{1:2}", '"\\x41"', "[" * 300 + "]" * 300, "[" * 5000 + "]" * 5000,
]  # fmt: skip


def test_edge_cases() -> None:
    for text in EDGES:
        check(text)


@settings(max_examples=1500, deadline=None)
@given(st.floats(allow_nan=False, allow_infinity=False), st.integers(0, 25), st.sampled_from("reEfg"))
def test_floats_written_any_way(x: float, digits: int, style: str) -> None:
    text = repr(x) if style == "r" else f"{x:.{digits}{style}}"
    check(text)
    check(f"[{text}, -{text}]")


@settings(max_examples=1500, deadline=None)
@given(
    st.text("0123456789", min_size=1, max_size=40),
    st.text("0123456789", max_size=40),
    st.integers(-400, 400),
)
def test_decimal_strings(whole: str, fraction: str, exponent: int) -> None:
    whole = whole.lstrip("0") or "0"
    check(f"{whole}.{fraction}e{exponent}" if fraction else f"{whole}e{exponent}")
    check(f"{whole}.{fraction}" if fraction else whole)


@settings(max_examples=1000, deadline=None)
@given(st.integers(min_value=-(10**60), max_value=10**60))
def test_integers_of_any_size(n: int) -> None:
    check(str(n))
    check(f'{{"n": {n}}}')


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner, max_size=6),
    max_leaves=40,
)


@settings(max_examples=1000, deadline=None)
@given(JSON, st.booleans())
def test_documents(doc: Any, ascii_only: bool) -> None:
    check(json.dumps(doc, ensure_ascii=ascii_only))


# -- detect_utc_offset reads only the history timestamps (a typed decoder), with the same result ----------
def history_reference(line: str) -> tuple[Any, Any, list[Any] | None] | None:
    """What the generic reading gives: (event, ts, the timestamps of the gameHistory entries)."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    data = record.get("data")
    payload = (data[-1] if data else None) if isinstance(data, list) else data
    history = payload.get("gameHistory") if isinstance(payload, dict) else None
    if not isinstance(history, list):
        return record.get("event"), record.get("ts"), None
    return record.get("event"), record.get("ts"), [e.get("timestamp") for e in history if isinstance(e, dict)]


HISTORY_LINES = [
    '{"ts":"2025-12-12T17:16:58.9", "event":"gameStateUpdate", "data":{"gameHistory":[{"timestamp":5}]}}',
    '{"ts": "t", "event": "gameStateUpdate", "data": [{"trace": 1}, {"gameHistory": [{"timestamp": 7}]}]}',
    '{"ts": "t", "event": "gameStateUpdate", "data": []}',
    '{"ts": "t", "event": "gameStateUpdate", "data": "text"}',
    '{"ts": "t", "event": "gameStateUpdate", "data": {"gameHistory": {"timestamp": 1}}}',
    '{"ts": "t", "event": "gameStateUpdate", "data": {"gameHistory": [1, {"timestamp": 2}, null, []]}}',
    '{"ts":"t", "event":"gameStateUpdate", "data":{"gameHistory":[{"prices":[1, NaN]}, {"timestamp":3}]}}',
    '{"ts": "t", "ts": "u", "event": 3, "data": {"gameHistory": [{"timestamp": 1, "timestamp": "x"}]}}',
    '{"ts": "t", "event": "gameStateUpdate", "data": {"gameHistory": null}}',
    '{"ts": "t", "event": "gameStateUpdate", "data": null, "gameHistory": []}',
    '{"event": "gameStateUpdate", "data": {"gameHistory": [{"timestamp": 123456789012345678901234567890}]}}',
    '["gameHistory"]',
    '{"gameHistory": [',
    '{"ts": "t", "event": "gameStateUpdate", "data": {"gameHistory": [{"timestamp": 1e400}]}}',
]


def test_history_timestamps_read_like_the_generic_reading() -> None:
    from recorder.ingest import _history_stamps

    lines = HISTORY_LINES + [
        line for line in RAW_CAPTURE.read_text(encoding="utf-8").splitlines() if '"gameHistory"' in line
    ]
    for line in lines:
        got, expected = _history_stamps(line), history_reference(line)
        assert (got is None) == (expected is None), line[:120]
        if got is not None and expected is not None:
            assert got[:2] == expected[:2] and same(got[2], expected[2]), line[:120]
