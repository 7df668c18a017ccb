"""Strict reading: every kind of corruption is one RecordingFormatError naming the file and the field."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from test_files_common import real_games, real_sessions, small_game, write_tree

from recorder.files import (
    GameRecording,
    RecordingFormatError,
    SessionRecording,
    read_game,
    read_index,
    read_session,
    rebuild_all,
)


@pytest.fixture(scope="module")
def tree(tmp_path_factory, seeded_games, raw_events):
    root = tmp_path_factory.mktemp("recordings")
    write_tree(root, real_games(seeded_games), real_sessions(raw_events))
    rebuild_all(root)
    return root


def _files(root: Path, pattern: str) -> list[Path]:
    return sorted(root.glob(pattern))


def _expect_error(path: Path, data: bytes, reader: Any) -> RecordingFormatError:
    path.write_bytes(data)
    with pytest.raises(RecordingFormatError) as info:
        reader(path)
    err = info.value
    assert err.path == path and str(err).startswith(f"{path}: ")
    return err


def test_every_truncation_of_a_real_game_file_is_refused(tree, tmp_path):
    smallest = min(_files(tree, "*/games/*.game.json"), key=lambda p: p.stat().st_size)
    data = smallest.read_bytes()
    target = tmp_path / smallest.name
    for cut in range(len(data) - 1):  # data[:-1] only loses the trailing newline: still a whole document
        err = _expect_error(target, data[:cut], read_game)
        assert err.field is None and ("invalid JSON" in err.detail or err.detail == "empty file")


@pytest.mark.parametrize("pattern, reader", [
    ("*/games/*.game.json", read_game),
    ("*/sessions/*_session.json", read_session),
])  # fmt: skip
def test_random_truncations_of_real_files_are_refused(tree, tmp_path, pattern, reader):
    rng = random.Random(12)
    for source in _files(tree, pattern):
        data = source.read_bytes()
        for cut in rng.sample(range(len(data) - 1), 20):
            _expect_error(tmp_path / source.name, data[:cut], reader)


def test_truncated_index_is_refused(tree, tmp_path):
    data = (tree / "2025-12-12" / "index.json").read_bytes()
    day = tmp_path / "2025-12-12"
    day.mkdir()
    for cut in random.Random(3).sample(range(len(data) - 1), 30):
        (day / "index.json").write_bytes(data[:cut])
        with pytest.raises(RecordingFormatError, match=r"index\.json: "):
            read_index(day)


def _game_doc() -> dict[str, Any]:
    return json.loads(small_game(version="v3", verified=False, price_sources={"tick": 3}).to_json_bytes())


def _set(path: str, value: Any):
    """A mutation setting a dotted path (``meta.x``, ``prices[1]``) to a value (``...`` deletes it)."""

    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.replace("[", ".[").split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part[1:-1])] if part.startswith("[") else node[part]
        key: Any = int(last[1:-1]) if last.startswith("[") else last
        if value is ...:
            del node[key]
        else:
            node[key] = value

    return mutate


GAME_CORRUPTIONS = [
    ("meta.duration_ticks", 2, "meta.duration_ticks", "expected 3 (len(prices)), got 2"),
    ("meta.duration_ticks", "3", "meta.duration_ticks", "expected an integer, got string"),
    ("meta.duration_ticks", 3.0, "meta.duration_ticks", "expected an integer, got number"),
    ("meta.duration_ticks", True, "meta.duration_ticks", "expected an integer, got boolean"),
    ("meta.duration_ticks", ..., "meta.duration_ticks", "required field is missing"),
    ("meta.game_id", ..., "meta.game_id", "required field is missing"),
    ("meta.game_id", "../../etc/passwd", "meta.game_id", "not a game id"),
    ("meta.game_id", "20251212-0123456789ABCDEF", "meta.game_id", "not a game id"),
    ("meta.start_time", "2025-12-12 22:00:00", "meta.start_time", "expected a UTC time"),
    ("meta.start_time", "2025-12-12T22:00:00.123+00:00", "meta.start_time", "expected a UTC time"),
    ("meta.start_time", "2025-02-30T22:00:00.123Z", "meta.start_time", "not a valid date"),
    ("meta.start_time", 1765577876865, "meta.start_time", "expected a time string, got integer"),
    ("meta.end_time", "2025-12-12T21:00:00.000Z", "meta.end_time", "is before start_time"),
    ("meta.peak_multiplier", 1.5, "meta.peak_multiplier", "expected a price string"),
    ("meta.peak_multiplier", "NaN", "meta.peak_multiplier", "not a non-negative decimal price"),
    ("meta.peak_multiplier", "1e999", "meta.peak_multiplier", "out of range"),
    ("meta.peak_multiplier", "-1.5", "meta.peak_multiplier", "not a non-negative decimal price"),
    ("meta.server_seed_hash", "abc", "meta.server_seed_hash", "not 64 lowercase hex"),
    ("meta.server_seed_hash", ..., "meta.server_seed_hash", "required field is missing"),
    ("meta.rug_tick", 5, "meta.rug_tick", "expected 2 (len(prices) - 1), got 5"),
    ("meta.rug_tick", None, "meta.rug_tick", "null is not allowed"),
    ("meta.rug_price", "0.5", "meta.rug_price", "(the last price)"),
    ("meta.version", "v4", "meta.version", "expected one of v1, v2, v3"),
    ("meta.verified", "true", "meta.verified", "expected true or false"),
    ("meta.verified", True, "meta.verified", "server_seed is null"),
    ("meta.price_sources", {"tick": 2}, "meta.price_sources", "counts sum to 2, expected 3"),
    ("meta.price_sources", {"tick": 3.0}, "meta.price_sources.tick", "expected a count"),
    ("meta.source", "radio", "meta.source", 'unknown value "radio"'),
    ("meta.verification", {"mismatch_count": -1}, "meta.verification.mismatch_count", "must be >= 0"),
    ("meta.future", {"a": [1, {"b": 2}]}, None, None),  # unknown keys: any JSON value is fine
    ("meta", "x", "meta", "expected an object, got string"),
    ("prices", {"0": "1.0"}, "prices", "expected an array, got object"),
    ("prices", ["1.0"], "prices", "at least 2 prices"),
    ("prices[1]", 1.02, "prices[1]", 'expected a price string such as "1.0", got number 1.02'),
    ("prices[2]", None, "prices[2]", "got null"),
    ("prices[1]", "Infinity", "prices[1]", "not a non-negative decimal price"),
    ("prices[1]", " 1.0", "prices[1]", "not a non-negative decimal price"),
    ("prices[1]", "1_000.0", "prices[1]", "not a non-negative decimal price"),
    ("prices", ..., "prices", "required field is missing"),
]


@pytest.mark.parametrize("where, value, field, message", GAME_CORRUPTIONS)
def test_game_corruption_names_file_and_field(tmp_path, where, value, field, message):
    doc = _game_doc()
    _set(where, value)(doc)
    path = tmp_path / "20251212T220000_01234567.game.json"
    if field is None:
        path.write_text(json.dumps(doc))
        assert read_game(path).meta.extra_fields["future"] == value
        return
    err = _expect_error(path, json.dumps(doc).encode(), read_game)
    assert err.field == field, str(err)
    assert message in err.detail, str(err)
    assert str(err).startswith(f"{path}: {field}: ")


SESSION_CORRUPTIONS = [
    ("actions[0].action", "HODL", "actions[0].action", "unknown value \"HODL\""),
    ("actions[0].action", "buy", "actions[0].action", "unknown value"),
    ("actions[0].amount", 0.5, "actions[0].amount", "expected a decimal string"),
    ("actions[0].amount", "0.1234567891", "actions[0].amount", "up to 9 decimals"),
    ("actions[0].amount", "-1.0", "actions[0].amount", "must be >= 0"),
    ("actions[0].pnl", "1e-3", "actions[0].pnl", "not a decimal amount"),
    ("actions[0].tick", -1, "actions[0].tick", "must be >= 0"),
    ("actions[0].price", ..., "actions[0].price", "required field is missing"),
    ("actions[0].entry_price", ..., "actions[0].entry_price", "required field is missing"),
    ("actions[0].fraction", "1.5", "actions[0].fraction", "fraction must be in (0, 1]"),
    ("actions[0].game_id", "20251212-xyz", "actions[0].game_id", "not a game id"),
    ("actions[0]", [], "actions[0]", "expected an object, got array"),
    ("meta.player_id", "", "meta.player_id", "must not be empty"),
    ("meta.username", None, "meta.username", "expected a string, got null"),
    ("meta.session_end", "2000-01-01T00:00:00.000Z", "meta.session_end", "is before session_start"),
    ("meta.games_played", 0, "meta.games_played", "but the actions touch"),
    ("meta.authenticated", 1, "meta.authenticated", "expected true or false"),
    ("meta.verification", {"player_updates_checked": 1, "drift_count": 2, "max_drift_lamports": 0},
     "meta.verification.drift_count", "more than player_updates_checked"),
]  # fmt: skip


@pytest.mark.parametrize("where, value, field, message", SESSION_CORRUPTIONS)
def test_session_corruption_names_file_and_field(tmp_path, raw_events, where, value, field, message):
    doc = json.loads(real_sessions(raw_events)[0].to_json_bytes())
    _set(where, value)(doc)
    path = tmp_path / "20251212T220000_x_session.json"
    err = _expect_error(path, json.dumps(doc).encode(), read_session)
    assert (err.field, message in err.detail) == (field, True), str(err)


@pytest.mark.parametrize("data, detail", [
    (b"", "empty file"),
    (b"   ", "invalid JSON"),
    (b"[1, 2]", "expected a JSON object at the top level, got array"),
    (b'"meta"', "expected a JSON object at the top level"),
    (b'{"meta": {}, "meta": {}}', "duplicate key 'meta'"),
    (b'{"meta": NaN}', "NaN is not a JSON number"),
    (b'{"meta": -Infinity}', "-Infinity is not a JSON number"),
    (b'{"meta": 1e999}', "number out of range"),
    (b"\xef\xbb\xbf{}", "byte-order mark"),
    (b'{"meta": "\xff"}', "not UTF-8"),
    (b"{" * 100_000, "invalid JSON"),
    (b'{"meta": ' + b"9" * 5000 + b"}", "invalid JSON"),
    (b'{"meta": {}, "prices": []} trailing', "invalid JSON: Extra data"),
])  # fmt: skip
def test_malformed_json_is_refused(tmp_path, data, detail):
    err = _expect_error(tmp_path / "g.game.json", data, read_game)
    assert err.field is None and detail in err.detail, str(err)


def test_error_lists_every_problem():
    doc = _game_doc()
    doc["meta"]["game_id"] = "bad"
    doc["prices"][1] = 1.5
    with pytest.raises(RecordingFormatError) as info:
        GameRecording.from_file_dict(doc, "x.game.json")
    err = info.value
    assert [f for f, _ in err.problems] == ["meta.game_id", "prices[1]"]
    assert str(err).endswith("(and 1 more problem)")
    assert isinstance(err, ValueError)


def test_null_seed_is_allowed_but_verified_needs_it():
    doc = _game_doc()
    assert doc["meta"]["server_seed"] is None
    assert GameRecording.from_file_dict(doc).meta.server_seed is None
    doc["meta"]["server_seed_hash"] = None  # e.g. an ingested old capture: no commitment seen
    assert GameRecording.from_file_dict(doc).meta.server_seed_hash is None


def test_unknown_keys_must_hold_json_values():
    doc = _game_doc()
    doc["meta"]["future"] = {"x": [1.0, float("nan")]}
    with pytest.raises(RecordingFormatError, match=r"meta\.future\.x\[1\]: non-finite number nan"):
        GameRecording.from_file_dict(doc, "g.game.json")
    with pytest.raises(ValueError, match="not a JSON value"):
        small_game().meta.replace(future=object())


def test_in_memory_document_errors_have_no_path():
    with pytest.raises(RecordingFormatError) as info:
        SessionRecording.from_json_bytes(b'{"meta": {}, "actions": []}')
    assert info.value.path is None and str(info.value).startswith("meta.player_id: required field is missing")
