"""Ingest of the real captures, idempotence, the journal round trip, and hostile input.

- The Dec-12 raw capture yields its 12 seeded games bit-exact against their ``gameHistory`` entries (the
  2 watched live among them) and sessions for every player of its 31 trades; everything verifies.
- Ingesting twice (or the same files again in another order) gives the very same files.
- A journal written by :class:`recorder.journal.JournalWriter` re-derives exactly the recordings that the
  pipeline made from the same events.
- Hostile input (garbage payloads, wrong types, unknown events, absurd numbers, usernames with path
  separators and control characters, truncated journal lines) is counted and skipped, the pipeline keeps
  going, and nothing is written outside the output folder.
"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import RAW_CAPTURE, REALDATA, load_raw_events, load_seeded_games, payload_of
from hypothesis import given, settings
from hypothesis import strategies as st
from recorder_helpers import T0, Feed, history_entry, make_game, pipeline, trade

from recorder.checks_tree import check_recordings
from recorder.files import RecordingsLayout, read_game, read_session
from recorder.ingest import detect_format, detect_utc_offset, ingest_files
from recorder.journal import JournalWriter, ReadStats, read_journal

ROOT = Path(__file__).resolve().parent.parent
# The real `rugs` entry point, with only the subcommands under test registered (others may be mid-work).
RUNNER = "import sys; from rugs_env import cli; cli.COMMANDS = ('record', 'ingest'); sys.exit(cli.main())"
PER_TICK = sorted(REALDATA.glob("game_*.jsonl"))


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def ingested(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ingest") / "rec"
    report = ingest_files([RAW_CAPTURE, *PER_TICK], out, follow=["*"])
    assert report.errors == 0 and all(f.skipped is None for f in report.files), report
    return out


def test_formats_and_utc_offset() -> None:
    assert detect_format(RAW_CAPTURE) == "raw"
    assert {detect_format(p) for p in PER_TICK} == {"replayer"}
    assert detect_utc_offset(RAW_CAPTURE) == timedelta(hours=-5)


def test_real_capture_games_are_bit_exact(ingested: Path) -> None:
    seeded = load_seeded_games()
    games = {g.game_id: g for g in (read_game(p) for p in RecordingsLayout(ingested).game_files())}
    assert len(seeded) == 12
    for game_id, entry in seeded.items():
        game = games[game_id]
        assert list(game.prices) == entry["prices"], game_id  # bit for bit (floats compare exactly)
        assert game.meta.server_seed == entry["provablyFair"]["serverSeed"] and game.meta.verified is True
    live = {g for g, game in games.items() if game.meta.source == "ingest" and game.meta.server_seed}
    assert live == {"20251212-25dcb17086a24ad7", "20251212-6114b2ff44ef4b71"}
    assert games["20251212-25dcb17086a24ad7"].meta.price_sources == {"snapshot": 4, "tick": 226}
    assert len([g for g in games.values() if g.meta.server_seed is None]) == len(PER_TICK)
    report = check_recordings(ingested)
    assert report.ok, [str(p) for p in report.errors]


def test_real_capture_sessions(ingested: Path) -> None:
    trades = [payload_of(e["data"]) for e in load_raw_events() if e["event"] == "standard/newTrade"]
    assert len(trades) == 31
    sessions = {
        s.meta.player_id: s for s in (read_session(p) for p in RecordingsLayout(ingested).session_files())
    }
    for t in trades:
        session = sessions[t["playerId"]]
        ids = [a.trade_id for a in session.actions]
        assert t["id"] in ids, f"trade {t['id']} of {t['username']} missing"
    zer0 = sessions["did:privy:cmbmoqwxf00uxk40movpxyhjw"]
    sell = next(a for a in zer0.actions if a.trade_id == "9d33997e-2bad-4893-9de5-8e8ec708891a")
    assert sell.amount == 4_158_855_049 and sell.position_qty_after == 0  # the ledger matches the wire


def test_ingest_is_idempotent(ingested: Path, tmp_path: Path) -> None:
    before = tree_bytes(ingested)
    ingest_files([*reversed(PER_TICK), RAW_CAPTURE], ingested, follow=["*"])
    assert tree_bytes(ingested) == before
    again = tmp_path / "again"
    ingest_files([RAW_CAPTURE, *PER_TICK], again, follow=["*"])
    ingest_files([RAW_CAPTURE, *PER_TICK], again, follow=["*"])
    assert tree_bytes(again) == before


def test_cli_ingest(tmp_path: Path) -> None:
    out = tmp_path / "cli"
    cmd = [
        sys.executable,
        "-c",
        RUNNER,
        "ingest",
        str(RAW_CAPTURE),
        "--out",
        str(out),
        "--follow",
        "Zer02Her0",
        "GLOSS",
    ]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "12 games" in done.stdout and "UTC offset -5 h" in done.stdout
    assert len(RecordingsLayout(out).session_files()) == 2


def test_journal_re_derives_the_same_recordings(tmp_path: Path) -> None:
    game, nxt = make_game("journal"), make_game("journal-next")
    pid = "did:privy:cmjournal000000000000000000"
    feed = Feed()
    feed.game(
        *game,
        0.007,
        trades={2: [trade(game[1], pid, "J", "buy", 1, game[2][1], 0.01, round(0.01 / game[2][1], 9), "j1")]},
    )
    feed.game(*nxt, 0.01, history=[history_entry(*game, 0.007)], rug_message=False, post_rug=False)
    direct = feed.play(pipeline(tmp_path / "direct", follow=("*",)))
    writer = JournalWriter(tmp_path / "journaled", secrets=["s3cret-token"])
    for at, event, args in feed.events:
        writer.write(at, event, args)
    writer.close()
    assert writer.path is not None and b"s3cret" not in writer.path.read_bytes()
    ingest_files([writer.path], tmp_path / "journaled", follow=["*"])
    assert direct.counters.errors == 0
    mine = {k: v for k, v in tree_bytes(tmp_path / "journaled").items() if not k.startswith("journal")}
    assert mine == tree_bytes(tmp_path / "direct")


# -- hostile input -----------------------------------------------------------------------------------------
HOSTILE: list[tuple[str, Any]] = [
    ("gameStateUpdate", "garbage"),
    ("gameStateUpdate", None),
    ("gameStateUpdate", [1, 2, 3]),
    ("gameStateUpdate", {"gameId": 12345}),
    ("gameStateUpdate", {"gameId": "../../etc/passwd"}),
    (
        "gameStateUpdate",
        {
            "gameId": "20251212-0000000000000000",
            "price": "1.0",
            "tickCount": "12",
            "active": "true",
            "rugged": 0,
            "partialPrices": [1, 2],
            "gameHistory": "x",
        },
    ),
    (
        "gameStateUpdate",
        {
            "gameId": "20251212-0000000000000001",
            "active": True,
            "rugged": False,
            "price": 1e308 * 10,
            "tickCount": 10**30,
            "gameHistory": [None, 5, {"id": 3}],
        },
    ),
    ("standard/newTrade", {"gameId": "20251212-0000000000000000", "type": "buy"}),
    (
        "standard/newTrade",
        {
            "id": "x",
            "gameId": "20251212-0000000000000000",
            "playerId": "p",
            "type": "buy",
            "tickIndex": True,
            "price": 1,
            "amount": 1,
            "qty": 1,
        },
    ),
    ("playerUpdate", {"cash": "lots"}),
    ("usernameStatus", {"id": None}),
    ("currentSidebet", 7),
    ("gameStatePlayerUpdate", "nope"),
    ("totallyUnknownEvent", {"a": 1}),
    ("", None),
    ("\x00evil", {}),
]


def test_hostile_events_are_counted_and_skipped(tmp_path: Path) -> None:
    out = tmp_path / "inner" / "rec"
    p = pipeline(out, follow=("*",))
    game = make_game("hostile", 10, 20)
    feed = Feed()
    for event, payload in HOSTILE:
        feed.emit(event, payload)
    evil_names = ["../../escape", "a/b\\c", "con", "\x00\x1b[31mred", "..", "/etc/passwd", "ü" * 300]
    trades = {
        t: [
            trade(
                game[1],
                f"did:privy:evil{i}",
                name,
                "buy",
                t - 1,
                game[2][t - 1],
                0.01,
                round(0.01 / game[2][t - 1], 9),
                f"e{i}",
            )
        ]
        for i, (t, name) in enumerate(zip(range(2, 2 + len(evil_names)), evil_names, strict=True))
    }
    feed.game(*game, 0.003, trades=trades)
    feed.game(*make_game("hostile-next"), 0.01, history=[history_entry(*game, 0.003)], rug_message=False)
    feed.play(p)
    assert p.counters.malformed >= 10 and p.counters.unknown >= 3 and p.counters.errors == 0
    assert p.games.counters.verified == 1
    inside = out.resolve()
    for path in tmp_path.rglob("*"):
        assert path.resolve().is_relative_to(inside) or path.resolve() in inside.parents, path
    names = {read_session(f).meta.username for f in RecordingsLayout(out).session_files()}
    assert names == set(evil_names)
    for f in RecordingsLayout(out).session_files():
        assert f.parent.parent.parent == out and all(c.isprintable() and c not in "/\\" for c in f.name)


def test_truncated_and_garbage_journal_lines(tmp_path: Path) -> None:
    game = make_game("trunc", 10, 20)
    feed = Feed()
    feed.game(*game, 0.004)
    writer = JournalWriter(tmp_path / "rec")
    for at, event, args in feed.events:
        writer.write(at, event, args)
    writer.close()
    assert writer.path is not None
    text = writer.path.read_text()
    lines = text.splitlines(keepends=True)
    lines.insert(5, "not json at all\n")
    lines.insert(9, '{"seq": 1, "ts": "never", "event": "x", "args": []}\n')
    lines.insert(12, "[1, 2]\n")
    writer.path.write_text("".join(lines) + lines[-1][: len(lines[-1]) // 2])  # a truncated last line
    stats = ReadStats()
    events = list(read_journal(writer.path, stats))
    assert stats.bad_lines == 4 and len(events) == len(feed.events)
    report = ingest_files([writer.path], tmp_path / "rec")
    assert report.files[0].bad_lines == 4 and report.games == 1


def test_journal_reader_counts_bad_lines_of_real_capture_copy(tmp_path: Path) -> None:
    copy = tmp_path / "raw.jsonl"
    data = RAW_CAPTURE.read_bytes()
    copy.write_bytes(data[: len(data) - 5000])  # cut mid-line
    report = ingest_files([copy], tmp_path / "out", follow=["*"])
    assert report.files[0].bad_lines == 1 and report.games >= 11
    assert json.loads(RAW_CAPTURE.read_text().splitlines()[0])["event"] == "connect"
    assert T0.tzinfo is not None


# line breaks of every kind, invalid and truncated UTF-8
PIECES = [b"a", b'"gameHistory"', b"\n", b"\r", b"\r\n", b"\xff", b"\xc3\xa9", b"\xe2\x82"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PIECES)))
def test_the_history_lines_are_found_as_reading_the_text_finds_them(pieces: list[bytes]) -> None:
    """detect_utc_offset looks for its lines in the bytes: the same lines as text mode gives (universal
    newlines, invalid UTF-8 replaced; a line of ASCII as its bytes)."""
    import tempfile

    from recorder.ingest import _lines_with

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "capture.jsonl"
        path.write_bytes(b"".join(pieces))
        with open(path, encoding="utf-8", errors="replace") as fh:
            expected = [line.rstrip("\n") for line in fh if '"gameHistory"' in line]
        found = list(_lines_with(path, b'"gameHistory"'))
        assert [line.decode("ascii") if isinstance(line, bytes) else line for line in found] == expected
