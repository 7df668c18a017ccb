"""The files' fast paths (whole price arrays, 9-decimal amounts, models without unknown keys) decide exactly
as the item-by-item validation they shortcut: same values, same errors at the same places."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from recorder.files import RecordingFormatError, SessionRecording
from recorder.files.fields import FILE_CONTEXT, Price, Prices, _amount_units
from rugs_env.game.money import parse_nano_str

FILE = {FILE_CONTEXT: True}
ARRAY = TypeAdapter(Prices)
ITEMS = TypeAdapter(tuple[Price, ...])  # the item-by-item validation

price_texts = st.one_of(
    st.floats(min_value=0.0, allow_nan=False, allow_infinity=False).map(repr),
    st.sampled_from(["1.0", "0", "7", "1e400", "1e-400", "-1.0", "-0.0", " 1.0", "1_0.0", "1.0,2.0", "inf"]),
    st.sampled_from(["nan", "1.", ".5", "1e5", "2E-3", "", "0x10", "١.٠"]),
)
special_floats = st.sampled_from([0.0, -0.0, math.inf, -math.inf, math.nan, 1e308, 5e-324, -1.0])
float_lists = st.lists(st.one_of(st.floats(min_value=1e-9, max_value=1e6), special_floats), max_size=6)
items = st.one_of(
    price_texts,
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
)


def outcome(adapter: TypeAdapter, value: object, context: dict | None) -> object:
    try:
        return [p.hex() for p in adapter.validate_python(value, context=context)]
    except ValidationError as exc:
        return [(e["loc"], e["msg"]) for e in exc.errors(include_url=False)]


@settings(max_examples=300, deadline=None)
@given(st.lists(items, max_size=6), st.booleans(), st.booleans())
def test_a_price_array_is_judged_as_item_by_item(values: list, from_file: bool, as_tuple: bool) -> None:
    value = tuple(values) if as_tuple else values
    context = FILE if from_file else None
    assert outcome(ARRAY, value, context) == outcome(ITEMS, value, context)


@settings(max_examples=300, deadline=None)
@given(float_lists, st.booleans())
def test_an_array_of_doubles_is_judged_as_item_by_item(values: list[float], as_tuple: bool) -> None:
    value = tuple(values) if as_tuple else values
    assert outcome(ARRAY, value, None) == outcome(ITEMS, value, None)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(min_value=0.0, allow_nan=False, allow_infinity=False), max_size=6))
def test_a_price_array_writes_each_price_as_price_str(values: list[float]) -> None:
    assert ARRAY.dump_python(tuple(values), mode="json") == ITEMS.dump_python(tuple(values), mode="json")


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"-?[0-9]{1,30}(\.[0-9]{1,9})?", fullmatch=True))
def test_amounts_parse_to_the_same_count_as_parse_nano_str(text: str) -> None:
    assert _amount_units(text) == parse_nano_str(text)


def test_null_and_unknown_keys_are_still_refused_in_the_order_of_the_file() -> None:
    from test_files_roundtrip import action, session_of

    doc = session_of(action()).to_file_dict()
    doc["actions"][0] = {"zz": math.inf, "trade_id": None, **doc["actions"][0]}  # two problems, in this order
    try:
        SessionRecording.from_file_dict(doc)
    except RecordingFormatError as exc:
        assert exc.field == "actions[0].zz"
    else:  # pragma: no cover - would be the bug
        raise AssertionError("accepted")
