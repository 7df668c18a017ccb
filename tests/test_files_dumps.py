"""The recording files' bytes: :func:`recorder.files.jsonio.dumps_document` is byte for byte
``json.dumps(doc, indent=2, ensure_ascii=True, allow_nan=False) + "\\n"``, only faster.

Property-tested over arbitrary JSON documents (any text, including non-ASCII, control characters and lone
surrogates; floats of every magnitude; integers of any size; str and int subclasses such as the files'
enums; tuples), checked on every file of the bundled sample and of the real capture's recordings, and the
errors are json's (non-finite floats, values that are not JSON, keys json would convert).
"""

from __future__ import annotations

import json
import math
from enum import IntEnum, StrEnum
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_files_common import real_games, real_sessions

from recorder.files import RecordingsLayout
from recorder.files.jsonio import dumps_document

ROOT = Path(__file__).resolve().parent.parent


def reference(doc: Any) -> bytes:
    return (json.dumps(doc, indent=2, ensure_ascii=True, allow_nan=False) + "\n").encode("ascii")


class Kind(StrEnum):
    A = "a"
    B = "é"


class Level(IntEnum):
    LOW = 1


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=-(10**40), max_value=10**40)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from([Kind.A, Kind.B, Level.LOW])
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=8)
        | st.lists(inner, max_size=8).map(tuple)
        | st.lists(st.text(), max_size=20)
        | st.dictionaries(st.text(max_size=10) | st.sampled_from([Kind.A, Kind.B]), inner, max_size=8)
    ),
    max_leaves=60,
)


@settings(max_examples=600, deadline=None)
@given(DOCS)
def test_same_bytes_as_json(doc: Any) -> None:
    assert dumps_document(doc) == reference(doc)


def test_same_bytes_on_real_files(seeded_games: dict, raw_events: list) -> None:
    docs = [g.to_file_dict() for g in real_games(seeded_games)]
    docs += [s.to_file_dict() for s in real_sessions(raw_events)]
    sample = RecordingsLayout(ROOT / "datasets" / "sample")
    paths = [*sample.game_files(), *sample.session_files()]
    docs += [json.loads(p.read_bytes()) for p in paths]
    assert len(docs) > 30
    for doc in docs:
        assert dumps_document(doc) == reference(doc)
    for path in paths:  # the files on disk are exactly what it writes
        assert dumps_document(json.loads(path.read_bytes())) == path.read_bytes()


@pytest.mark.parametrize(
    "doc",
    [
        {3: "int key", 2.5: "float key", True: "bool key", None: "null key"},
        {"nested": {(1, 2): "tuple key"}},
        {"x": object()},
        {"x": [1, {2, 3}]},
        [math.nan],
        {"a": [1.0, math.inf]},
        {"a": -math.inf},
        {},
        [],
        {"a": {}, "b": [], "c": [[]], "d": [{}]},
    ],
)
def test_unusual_documents_and_errors_are_json_s(doc: Any) -> None:
    try:
        expected: Any = reference(doc)
    except (TypeError, ValueError) as exc:
        expected = (type(exc), str(exc))
    try:
        got: Any = dumps_document(doc)
    except (TypeError, ValueError) as exc:
        got = (type(exc), str(exc))
    assert got == expected


def test_circular_and_deep_documents() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference"):
        dumps_document({"a": loop})
    deep: Any = "x"
    for _ in range(200):
        deep = [deep]
    assert dumps_document(deep) == reference(deep)
