"""A bot's journal re-derives its session file, reconciled fills included (``rugs ingest`` of a live run).

The live player writes every event it receives to the journal and, for a fill it learnt only by
reconciliation (the order's ack and trade event lost), the note ``@reconciled`` with the event it then hands
to the pipeline. Ingesting the journal must hand it over the same way: the session file that ingest writes
is the one the live run wrote (less the ``agent`` block that ``rugs play`` adds at the end), and so are the
game files. Offline first (a journal written by hand), then over real loopback sockets with the local server
losing an ack after executing the order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from recorder_helpers import Feed, history_entry, make_game, pick_games, pipeline, trade
from test_live_helpers import Gate, Manual, caught_up, hold_logins, notes, patch_order

from recorder.files import RecordingsLayout
from recorder.ingest import ingest_files
from recorder.journal import JournalWriter, read_journal

PID = "did:privy:cmreconciled0000000000000000"


def session_docs(root: Path) -> dict[str, dict[str, Any]]:
    """Session files by name, without the ``agent`` block of ``rugs play``."""
    docs = {}
    for path in RecordingsLayout(root).session_files():
        doc = json.loads(path.read_bytes())
        doc["meta"].pop("agent", None)
        docs[path.name] = doc
    return docs


def game_bytes(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in RecordingsLayout(root).game_files()}


def test_reconciled_note_is_fed_as_its_event(tmp_path: Path) -> None:
    """Offline: the live run fed a trade it never received; the journal holds it only as a note."""
    game, nxt = make_game("reconciled"), make_game("reconciled-next")
    buy = trade(game[1], PID, "R", "buy", 1, game[2][1], 0.01, round(0.01 / game[2][1], 9), "r1")
    feed = Feed()
    feed.game(*game, 0.007)
    feed.game(*nxt, 0.01, history=[history_entry(*game, 0.007)], rug_message=False, post_rug=False)
    live = pipeline(tmp_path / "live", follow=("*",))
    writer = JournalWriter(tmp_path / "ingested")
    injected = False
    for at, event, args in feed.events:
        writer.write(at, event, args)
        live.feed(at, event, args)
        if not injected and event == "gameStateUpdate" and args[-1].get("tickCount") == 2:
            # what reconciliation learnt: the note, then the event the pipeline never received
            writer.note(at, "reconciled", {"event": "standard/newTrade", "payload": buy})
            live.feed(at, "standard/newTrade", [buy])
            injected = True
    live.finish()
    writer.close()
    assert injected and writer.path is not None
    assert [e.event for e in read_journal(writer.path)].count("@reconciled") == 1
    report = ingest_files([writer.path], tmp_path / "ingested", follow=["*"])
    assert report.errors == 0 and report.files[0].notes == []
    live_sessions = session_docs(tmp_path / "live")
    assert len(live_sessions) == 1
    (doc,) = live_sessions.values()
    assert doc["actions"][0]["trade_id"] == "r1" and doc["actions"][0]["action"] == "BUY"
    assert session_docs(tmp_path / "ingested") == live_sessions
    assert game_bytes(tmp_path / "ingested") == game_bytes(tmp_path / "live")


def test_malformed_reconciled_notes_are_reported_and_skipped(tmp_path: Path) -> None:
    game = make_game("bad-notes")
    feed = Feed()
    feed.game(*game, 0.007)
    writer = JournalWriter(tmp_path)
    for at, event, args in feed.events:
        writer.write(at, event, args)
    at = feed.events[-1][0]
    for data in ({"event": 3, "payload": {}}, {"payload": {}}, "text", {"event": "@stop", "payload": {}}):
        writer.note(at, "reconciled", data)
    writer.close()
    assert writer.path is not None
    report = ingest_files([writer.path], tmp_path, follow=["*"])
    assert report.errors == 0 and len(report.files[0].notes) == 4
    assert all("malformed @reconciled" in n for n in report.files[0].notes)


# -- over loopback: a live run whose ack is lost ------------------------------------------------------------
@pytest.fixture(scope="module")
def manual() -> Iterator[Manual]:
    from rugs_env.server.config import ServerConfig
    from rugs_env.server.runner import ServerThread

    games = pick_games(6, 150, 400, salt="reconciled")
    config = ServerConfig(speed=1.0, seed=13, manual_clock=True, open_registration=True, games=games)
    with ServerThread(config) as thread:
        yield Manual(thread)


@pytest.mark.e2e
def test_live_journal_re_derives_the_session_with_its_reconciled_fill(manual: Manual, tmp_path: Path) -> None:
    from rugs_env.brokers.base import Order, OrderStatus
    from rugs_env.live.options import LiveOptions
    from rugs_env.live.session import LiveSession
    from rugs_env.secrets import Secret
    from rugs_env.server.app import now_ms

    out = tmp_path / "live"
    options = LiveOptions(
        url=manual.thread.url, token=Secret("tok-reconciled-ingest"), mode="live", out=out, ack_timeout=0.5,
        reconcile_grace=0.1, rate=100.0, burst=100, reconnect_delay=0.02, reconnect_max=0.1, stale_after=60.0,
    )  # fmt: skip
    session = LiveSession(options).start(30.0)
    try:
        caught_up(session, manual.to_active())
        late_ack = Gate(manual)

        async def execute_then_lose(app: Any, sid: str, event: str, payload: Any) -> dict[str, Any]:
            conn = app.hub.connections[sid]
            outcome = app.engine.submit(conn.player_id, event, payload, now_ms())  # filled, events dropped
            await late_ack.wait()
            return outcome.ack

        undo = patch_order(manual, execute_then_lose)
        release = hold_logins(manual)
        result = session.broker.submit(Order.buy(50_000_000))
        undo()
        assert result.status is OrderStatus.ACCEPTED and result.code == "unknown"
        release()
        assert session.wait_until(lambda: session.broker.inflight is None, 20.0)
        assert session.broker.orders[0].resolution == "reconciled"
        late_ack.open()
        session.wait_until(lambda: session.broker.counters.late_acks == 1, 10.0)
        caught_up(session, manual.ticks(12))
        assert session.broker.submit(Order.sell(1.0)).status is OrderStatus.FILLED
        caught_up(session, manual.ticks(400))  # past the rug: the game is revealed and sealed
        caught_up(session, manual.to_active())
    finally:
        session.close()
    assert notes(out, "reconciled")
    live_sessions = session_docs(out)
    assert len(live_sessions) == 1
    (doc,) = live_sessions.values()
    assert [a["action"] for a in doc["actions"]][:2] == ["BUY", "SELL"]
    assert doc["actions"][0]["trade_id"].startswith("reconciled-")
    assert doc["meta"]["verification"]["drift_count"] == 0

    again = tmp_path / "ingested"
    journals = sorted((out / "journal").rglob("*.journal.jsonl"))
    report = ingest_files(journals, again)
    assert report.errors == 0 and report.files[0].notes == []
    assert session_docs(again) == live_sessions
    assert game_bytes(again) == game_bytes(out)
