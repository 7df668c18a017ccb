"""The real captures, mutated at random places, ingested: no crash, no handler bug, no corrupt file.

Each example takes real events (the Dec-12 raw capture, that capture as our own journal on two connections,
a REPLAYER per-tick recording) and mutates some of them where a hostile or broken feed would: a key
deleted, a value replaced by one of the wrong type or an absurd one (huge integers, ``1e308``, ``1e-320``,
path separators, control characters), a number scaled, an unknown key added, another event's payload under
this event's name, the line's own fields (time, event name, connection) broken. The ingest must then

- return (never raise) and count no *error*: an error is an event whose handling failed on an exception
  other than a malformed payload, i.e. a bug (malformed events and bad lines are counted, not errors);
- leave only files that read back strictly (``rugs verify`` finds no corrupt file), all inside the output.

The parsers are also given real payloads with any JSON value (NaN, huge integers, nested lists...) put
anywhere in them: they return, or raise ``Malformed``, nothing else.

Found by this harness and fixed, each pinned by a test below (the folder case in test_env_fixtures.py): a
leaderboard row with an unhashable ``id``; a price that makes a missed trade's arithmetic overflow or divide
by zero (which escaped ``RecorderPipeline.feed`` and stopped the ingest); per-tick lines with an unhashable
``type``, a huge tick (the gap check walked every tick up to it), or an integer price beyond any double; a
folder named like a recording file; a lone surrogate the journal could not write.
"""

from __future__ import annotations

import copy
import json
import logging
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import RAW_CAPTURE, REALDATA, load_raw_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from recorder_helpers import lines_of, write_lines

from recorder.board_check import Unexplained, first_missed_trade
from recorder.checks_tree import check_recordings
from recorder.events import Malformed, parse_board_entry, parse_game_state, parse_history_entry
from recorder.events_players import parse_player_update, parse_sidebet, parse_trade, parse_username_status
from recorder.files import RecordingsLayout, read_session
from recorder.ingest import ingest_files
from recorder.ingest_replayer import is_replayer_file, scan_replayer_file
from recorder.journal import JournalWriter, ReadStats, read_journal
from recorder.sessions import PlayerSessionRecorder
from rugs_env.game.ledger_math import buy_qty
from rugs_env.game.ledger_types import LedgerState, Phase
from rugs_env.game.money import MoneyFormatError, floor_nano

WEIRD: list[Any] = [
    None, True, 0, -1, math.nan, -math.inf, 2**63, 10**400, -(10**400), 1e308, 1e-320, -0.5, "", "x",
    "../../etc/passwd", "a\x00b", "\u202e\n\t", "1.5", "NaN", [], [None], {}, {"a": 1}, "9" * 400,
    "20251212-25dcb17086a24ad7",
]  # fmt: skip
OPS = ["delete", "replace", "scale", "add_key", "other_payload", "line_field"]
Mutation = tuple[int, int, str, int]  # (which line, which place in it, what, which value)
MUTATIONS = st.lists(
    st.tuples(
        st.integers(0, 10**6), st.integers(0, 10**6), st.sampled_from(OPS), st.integers(0, len(WEIRD) - 1)
    ),
    min_size=1,
    max_size=40,
)
EXAMPLES = settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _places(value: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path in a JSON value (the first 20 items of each list)."""
    found = [at]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _places(item, (*at, key))
    elif isinstance(value, list):
        for i, item in enumerate(value[:20]):
            found += _places(item, (*at, i))
    return found


def _mutate_value(root: Any, pick: int, op: str, weird: Any) -> Any:
    """``root`` with one place changed (``pick`` chooses it); returns the new root."""
    places = _places(root)
    place = places[pick % len(places)]
    if not place:
        return weird
    parent = root
    for key in place[:-1]:
        parent = parent[key]
    key, old = place[-1], parent[place[-1]]
    if op == "delete":
        del parent[key]
    elif op == "scale" and isinstance(old, int | float) and not isinstance(old, bool):
        parent[key] = -old if abs(old) > 1e300 else old * 1000
    elif op == "add_key" and isinstance(parent, dict):
        parent["\x01unknown"] = weird
    else:
        parent[key] = weird
    return root


def mutated(lines: list[dict[str, Any]], body: str | None, mutations: list[Mutation]) -> list[dict[str, Any]]:
    """The lines with the mutations applied (``body``: the key of a line's payload, None: the whole line)."""
    out = copy.deepcopy(lines)
    for which, pick, op, value in mutations:
        i = which % len(out)
        weird = copy.deepcopy(WEIRD[value])
        if body is None:
            out[i] = _mutate_value(out[i], pick, op, weird)
        elif op == "other_payload":
            out[i][body] = copy.deepcopy(lines[pick % len(lines)].get(body))
        elif op == "line_field":
            out[i][sorted(out[i])[pick % len(out[i])]] = weird
        else:
            out[i][body] = _mutate_value(out[i].get(body), pick, op, weird)
    return out


class _Errors(logging.Handler):
    """Every record of level ERROR or above (handler bugs are logged with their traceback)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def ingest_and_check(path: Path, out: Path) -> None:
    errors = _Errors()
    logging.getLogger().addHandler(errors)
    try:
        report = ingest_files([path], out, follow=["*"])
    finally:
        logging.getLogger().removeHandler(errors)
    bugs = [r for r in errors.records if r.exc_info]
    assert not bugs, logging.Formatter().format(bugs[0])
    assert sum(f.errors for f in report.files) == 0
    for place in path.parent.iterdir():  # nothing beside the input and the output folder
        assert place in (path, out), place
    if out.exists():
        check = check_recordings(out)
        assert check.corrupt_files == 0, [str(p) for p in check.problems][:3]


def _as_journal(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The raw capture as our journal: UTC times (the capture is UTC-5), every other event on a second
    connection, the arguments as received."""
    lines: list[dict[str, Any]] = [
        {"seq": 0, "ts": "2025-12-12T22:16:58.000000Z", "conn": 1, "event": "connect", "args": []}
    ]
    for i, event in enumerate(events, start=1):
        at = datetime.fromisoformat(event["ts"]) + timedelta(hours=5)
        data = event.get("data")
        args = data if isinstance(data, list) else [] if data is None else [data]
        conn = 0 if event["event"] == "connect" else i % 2
        lines.append(
            {
                "seq": i,
                "ts": f"{at:%Y-%m-%dT%H:%M:%S.%f}Z",
                "conn": conn,
                "event": event["event"],
                "args": args,
            }
        )
    return lines


RAW_EVENTS = load_raw_events()
JOURNAL_HEADER = {
    "journal": "rugs-recorder",
    "version": 1,
    "run": "20251212T221658-fuzz",
    "started": "2025-12-12T22:16:58Z",
}
JOURNAL_LINES = _as_journal(RAW_EVENTS)
PER_TICK = REALDATA / "game_20251031_150453.jsonl"
PER_TICK_LINES = lines_of(PER_TICK)


@pytest.mark.slow
@EXAMPLES
@given(MUTATIONS)
def test_mutated_raw_capture(tmp_path_factory: pytest.TempPathFactory, mutations: list[Mutation]) -> None:
    folder = tmp_path_factory.mktemp("fuzz-raw")
    path = write_lines(folder / RAW_CAPTURE.name, mutated(RAW_EVENTS, "data", mutations))
    ingest_and_check(path, folder / "rec")


@pytest.mark.slow
@EXAMPLES
@given(MUTATIONS)
def test_mutated_journal(tmp_path_factory: pytest.TempPathFactory, mutations: list[Mutation]) -> None:
    folder = tmp_path_factory.mktemp("fuzz-journal")
    lines = [JOURNAL_HEADER, *mutated(JOURNAL_LINES, "args", mutations)]
    path = write_lines(folder / "20251212T221658_fuzz.journal.jsonl", lines)
    ingest_and_check(path, folder / "rec")


@settings(max_examples=60, deadline=None)
@given(MUTATIONS)
def test_mutated_per_tick_recording(
    tmp_path_factory: pytest.TempPathFactory, mutations: list[Mutation]
) -> None:
    folder = tmp_path_factory.mktemp("fuzz-tick")
    path = write_lines(folder / PER_TICK.name, mutated(PER_TICK_LINES, None, mutations))
    ingest_and_check(path, folder / "rec")


# -- what the harness found, pinned -------------------------------------------------------------------------
def test_leaderboard_rows_that_are_not_objects_or_have_odd_ids(tmp_path: Path) -> None:
    events = copy.deepcopy(RAW_EVENTS)
    for event in events:
        board = event["data"].get("leaderboard") if isinstance(event["data"], dict) else None
        if board:
            board[0]["id"] = {"a": 1}  # unhashable: was a TypeError in every such message
            board += [5, None, {"id": ["x"]}]
    path = write_lines(tmp_path / RAW_CAPTURE.name, events)
    ingest_and_check(path, tmp_path / "rec")
    assert ingest_files([path], tmp_path / "again", follow=["*"]).games == 12


@pytest.mark.parametrize("bad", [0.0, 1e-320, 1e308])
def test_missed_trade_search_skips_prices_no_trade_executes_at(bad: float) -> None:
    price = 2.0
    amount = 10**9
    qty = buy_qty(amount, price)
    start = LedgerState(cash=100 * 10**9, phase=Phase.ACTIVE, game_id="g")
    prices = {0: bad, 1: bad, 2: price}
    found = first_missed_trade(
        "g", [(3, qty, amount, 0)], [(0, start)], lambda _, t: prices.get(t), lambda _, t: None
    )
    assert found is not None and (found.kind, found.tick, found.qty) == ("buy", 2, qty)
    # a sale whose every candidate price overflows is unexplained, not an exception
    held = replace(start, position_qty=qty, cost_basis=amount, total_invested=amount)
    with pytest.raises(Unexplained):
        first_missed_trade("g", [(3, 0, amount, 5)], [(0, held)], lambda _, t: 1e308, lambda _, t: None)


def test_floor_nano_refuses_amounts_beyond_nano_units() -> None:
    for value in (1e300, -1e300, math.inf, math.nan):
        with pytest.raises(MoneyFormatError):
            floor_nano(value)
    assert floor_nano(1.5) == 1_500_000_000


def test_a_session_that_fails_to_seal_does_not_stop_the_others(tmp_path: Path, monkeypatch) -> None:
    refresh = PlayerSessionRecorder.refresh

    def failing(self: PlayerSessionRecorder, *args: Any, **kwargs: Any) -> bool:
        if self.username == "Manno1k":
            raise RuntimeError("a bug in one session")
        return refresh(self, *args, **kwargs)

    monkeypatch.setattr(PlayerSessionRecorder, "refresh", failing)
    report = ingest_files([RAW_CAPTURE], tmp_path / "rec", follow=["*"])  # used to raise out of feed()
    assert report.files[0].errors > 0 and report.errors > 0
    assert report.games == 12
    names = {read_session(p).meta.username for p in RecordingsLayout(tmp_path / "rec").session_files()}
    assert len(names) == 18 and "Manno1k" not in names


def test_per_tick_lines_with_odd_types_are_skipped_with_a_note(tmp_path: Path) -> None:
    lines = copy.deepcopy(PER_TICK_LINES)
    active = next(i for i, line in enumerate(lines) if line.get("active") and line.get("tick") == 5)
    lines[active + 1 : active + 1] = [
        {"type": ["tick"], "game_id": lines[0]["game_id"]},
        {**lines[active], "tick": 2**63},  # the gap check once walked every tick up to it
        {**lines[active], "price": 10**400},
    ]
    path = write_lines(tmp_path / PER_TICK.name, lines)
    scan = scan_replayer_file(path)
    assert len(scan.games) == 1 and len([n for n in scan.notes if "skipped" in n]) == 3
    bad_first = write_lines(tmp_path / "game_bad.jsonl", [{"type": [], "game_id": "x"}, *lines])
    assert not is_replayer_file(bad_first)


# -- the parsers alone: a real payload with any JSON value put anywhere in it -------------------------------
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**400), max_value=10**400)
    | st.floats()  # nan and +-inf too: python-socketio's json.loads accepts NaN and Infinity
    | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=8,
)


def _real_payloads() -> list[tuple[str, Any]]:
    examples = json.loads((REALDATA.parent / "protocol_examples.json").read_text())
    found: dict[str, Any] = {}
    for event in RAW_EVENTS:
        found.setdefault(
            event["event"], event["data"][-1] if isinstance(event["data"], list) else event["data"]
        )
    history = next(p["gameHistory"][0] for e in RAW_EVENTS if (p := e["data"]) and p.get("gameHistory"))
    return [
        ("gameStateUpdate", found["gameStateUpdate"]),
        ("standard/newTrade", found["standard/newTrade"]),
        ("history", history),
        ("leaderboard", examples["leaderboardRowWithSidebet"]),
        *((name, examples[name]) for name in ("playerUpdate", "usernameStatus", "currentSidebet")),
        ("currentSidebetResult", examples["currentSidebetResult"]),
    ]


PARSERS: dict[str, Any] = {
    "gameStateUpdate": parse_game_state,
    "standard/newTrade": parse_trade,
    "history": parse_history_entry,
    "leaderboard": parse_board_entry,
    "playerUpdate": parse_player_update,
    "usernameStatus": parse_username_status,
    "currentSidebet": lambda p: parse_sidebet(p, default_kind="placed"),
    "currentSidebetResult": lambda p: parse_sidebet(p, default_kind="payout"),
}
REAL_PAYLOADS = _real_payloads()


@settings(max_examples=400, deadline=None)
@given(
    st.integers(0, len(REAL_PAYLOADS) - 1),
    st.lists(st.tuples(st.integers(0, 10**6), JSON_VALUES), max_size=3),
)
def test_parsers_return_or_say_malformed(which: int, changes: list[tuple[int, Any]]) -> None:
    name, payload = REAL_PAYLOADS[which]
    payload = copy.deepcopy(payload)
    for pick, value in changes:
        payload = _mutate_value(payload, pick, "replace", value)
    try:
        PARSERS[name](payload)
    except Malformed:
        pass


def test_journal_keeps_lone_surrogates_escaped(tmp_path: Path) -> None:
    """A JSON escape like \\ud800 decodes to a lone surrogate, which UTF-8 cannot hold: the line is written
    with ASCII escapes instead of being lost, and reads back to the same values."""
    writer = JournalWriter(tmp_path / "rec")
    at = datetime(2025, 12, 12, 22, 0, tzinfo=UTC)
    args = [{"username": "bad\ud800name", "price": 1.5}]
    assert writer.write(at, "standard/newTrade", args) is not None
    writer.write(at, "gameStateUpdate\udfff", [{"plain": "é"}])
    writer.close()
    assert writer.errors == 0 and writer.path is not None
    events = list(read_journal(writer.path, ReadStats()))
    assert [(e.event, e.args) for e in events] == [
        ("standard/newTrade", args),
        ("gameStateUpdate\udfff", [{"plain": "é"}]),
    ]
