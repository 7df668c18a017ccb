"""The socket broker against the local server when things go wrong, over real loopback sockets.

Each case gets its own account on one server whose clock the test drives by hand, and bends the server's
order path (in-process patches of the socket app, never of the broker): an order rejected by the server, an
acknowledgement lost after the order executed, one lost when it did not, a disconnection in the middle of
an order, and a server whose account disagrees (drift). Late ``playerUpdate`` messages come from the
server's own late-update fault (a server of their own). Every case checks that the server received each
order once (the server's ground truth of the orders it received), that the broker's ledger ends equal to
the server's ground truth, that nothing crashed, and that the journal tells what happened. The risk-limit
case watches the server's received orders: nothing over ``max_stake``, no buy or sidebet past ``max_loss``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from recorder_helpers import pick_games
from test_live_helpers import (
    Gate,
    Manual,
    Received,
    assert_matches_truth,
    caught_up,
    fates,
    hold_logins,
    notes,
    open_session,
    ours,
    patch_order,
    resolved,
)

from rugs_env.brokers.base import Order, OrderStatus
from rugs_env.brokers.risk import RiskLimits
from rugs_env.live.options import LiveOptions
from rugs_env.live.session import LiveSession
from rugs_env.secrets import Secret
from rugs_env.server import player_views
from rugs_env.server.app import now_ms
from rugs_env.server.config import FaultConfig, ServerConfig
from rugs_env.server.market import Phase
from rugs_env.server.runner import ServerThread

pytestmark = pytest.mark.e2e
LONG_GAMES = pick_games(12, 150, 400, salt="robust")


@pytest.fixture(scope="module")
def manual() -> Iterator[Manual]:
    config = ServerConfig(speed=1.0, seed=11, manual_clock=True, open_registration=True, games=LONG_GAMES)
    with ServerThread(config) as thread:
        yield Manual(thread)


@pytest.fixture
def received(manual: Manual) -> Received:
    return Received(manual)


def test_rejected_order_changes_nothing_and_is_recorded(
    manual: Manual, received: Received, tmp_path: Path
) -> None:
    session = open_session(manual, tmp_path, "tok-reject")
    try:
        caught_up(session, manual.to_active())

        async def refuse(app: Any, sid: str, event: str, payload: Any) -> dict[str, Any]:
            return {"success": False, "reason": "trading_closed", "message": "closed for the test"}

        undo = patch_order(manual, refuse)
        before = session.broker.account.snapshot()
        result = session.broker.submit(Order.buy(10_000_000))
        undo()
        assert result.status is OrderStatus.REJECTED and result.code == "trading_closed"
        assert session.broker.account.snapshot() == before
        ok = session.broker.submit(Order.buy(10_000_000))  # the next order goes through normally
        assert ok.status is OrderStatus.FILLED and ok.fill is not None
        assert_matches_truth(manual, session)
    finally:
        session.close()
    assert fates(received, session) == [("buyOrder", "refused"), ("buyOrder", "filled")]
    results = notes(tmp_path, "order_result")
    assert [r["state"] for r in results] == ["rejected", "filled"]
    summary = session.summary()
    assert summary["orders"]["rejected"] == 1 and summary["verification"]["drift_count"] == 0


def test_lost_ack_after_execution_is_reconciled_as_filled(
    manual: Manual, received: Received, tmp_path: Path
) -> None:
    session = open_session(manual, tmp_path, "tok-lost-filled")
    try:
        caught_up(session, manual.to_active())

        late_ack = Gate(manual)

        async def execute_then_lose(app: Any, sid: str, event: str, payload: Any) -> dict[str, Any]:
            conn = app.hub.connections[sid]
            outcome = app.engine.submit(conn.player_id, event, payload, now_ms())  # filled, events dropped
            await late_ack.wait()  # the ack comes far too late
            return outcome.ack

        undo = patch_order(manual, execute_then_lose)
        gate = hold_logins(manual)
        result = session.broker.submit(Order.buy(50_000_000))
        undo()
        assert result.status is OrderStatus.ACCEPTED and result.code == "unknown"
        assert session.broker.submit(Order.buy(10_000_000)).code == "order_pending"  # blocked, never sent
        gate()  # now let the server answer the broker's re-authentication
        assert resolved(session)
        rec = session.broker.orders[0]
        assert (rec.state, rec.resolution) == ("filled", "reconciled")
        assert rec.fill is not None and rec.fill.amount == 50_000_000
        assert_matches_truth(manual, session)
        late_ack.open()
        session.wait_until(lambda: session.broker.counters.late_acks == 1, 10.0)
        caught_up(session, manual.ticks(12))  # late updates and checks settle
        assert session.broker.submit(Order.sell(1.0)).status is OrderStatus.FILLED
        assert_matches_truth(manual, session)
    finally:
        session.close()
    assert fates(received, session) == [("buyOrder", "filled"), ("sellOrder", "filled")]  # each sent once
    summary = session.summary()
    assert summary["orders"]["reconciled_filled"] == 1 and summary["orders"]["late_acks"] == 1
    assert summary["verification"]["drift_count"] == 0 and summary["halted"] is None
    assert notes(tmp_path, "order_unknown") and notes(tmp_path, "reconciled")
    session_file = next((tmp_path).rglob("*_session.json"))
    doc = json.loads(session_file.read_text())
    assert doc["meta"]["verification"]["drift_count"] == 0
    assert [a["action"] for a in doc["actions"]][:2] == ["BUY", "SELL"]


def test_lost_ack_without_execution_is_reconciled_as_not_filled(
    manual: Manual, received: Received, tmp_path: Path
) -> None:
    session = open_session(manual, tmp_path, "tok-lost-not-filled")
    try:
        caught_up(session, manual.to_active())
        before = session.broker.account.snapshot()

        late_ack = Gate(manual)

        async def lose(app: Any, sid: str, event: str, payload: Any) -> dict[str, Any]:
            await late_ack.wait()  # received (the truth has it), not executed
            return {"success": False, "reason": "internal_error"}

        undo = patch_order(manual, lose)
        result = session.broker.submit(Order.sidebet(5_000_000))
        undo()
        assert result.code == "unknown"
        assert resolved(session)
        rec = session.broker.orders[0]
        assert (rec.state, rec.resolution) == ("not_filled", "reconciled_not_filled")
        assert session.broker.account.snapshot() == before
        late_ack.open()  # the late failure agrees with the reconciliation: no halt
        assert session.wait_until(lambda: session.broker.counters.late_acks == 1, 10.0)
        assert session.broker.submit(Order.sidebet(5_000_000)).status is OrderStatus.FILLED
        assert_matches_truth(manual, session)
    finally:
        session.close()
    assert fates(received, session) == [("requestSidebet", "refused"), ("requestSidebet", "filled")]
    summary = session.summary()
    assert summary["orders"]["reconciled_not_filled"] == 1 and summary["halted"] is None


def test_disconnect_in_the_middle_of_an_order(manual: Manual, received: Received, tmp_path: Path) -> None:
    session = open_session(manual, tmp_path, "tok-disconnect")
    try:
        caught_up(session, manual.to_active())
        assert session.broker.submit(Order.buy(100_000_000)).status is OrderStatus.FILLED

        async def execute_then_cut(app: Any, sid: str, event: str, payload: Any) -> dict[str, Any]:
            conn = app.hub.connections[sid]
            outcome = app.engine.submit(conn.player_id, event, payload, now_ms())
            await app.hub.drop(sid)  # the network fails before anything goes out
            return outcome.ack

        undo = patch_order(manual, execute_then_cut)
        result = session.broker.submit(Order.sell(0.5))
        undo()
        assert result.code == "unknown"
        assert resolved(session)
        rec = session.broker.orders[-1]
        assert (rec.state, rec.resolution) == ("filled", "reconciled")
        assert_matches_truth(manual, session)
        caught_up(session, manual.ticks(10))
        assert session.broker.submit(Order.sell(1.0)).status is OrderStatus.FILLED
        assert_matches_truth(manual, session)
    finally:
        session.close()
    assert fates(received, session) == [
        ("buyOrder", "filled"),
        ("sellOrder", "filled"),
        ("sellOrder", "filled"),
    ]
    summary = session.summary()
    assert summary["reconnects"] >= 1 and summary["verification"]["drift_count"] == 0
    assert summary["halted"] is None


def test_sale_awaiting_its_ack_when_a_winning_sidebet_rugs_the_game(
    manual: Manual, received: Received, tmp_path: Path
) -> None:
    """The sale's trade is in, its ack is not, and the rug comes: the sidebet's win (the first sign of the
    rug) must not close the game in the ledger before the sale that happened at an earlier tick."""
    session = open_session(manual, tmp_path, "tok-sale-before-rug")
    try:

        def near_rug(engine: Any) -> bool:
            mk = engine.market
            return mk.phase is Phase.ACTIVE and mk.spec is not None and 5 <= mk.spec.rug_tick - mk.tick <= 30

        manual.run(manual.server.step_until(near_rug))
        game, tick = manual.where()
        caught_up(session, (game, tick))
        assert session.broker.submit(Order.sidebet(10_000_000)).status is OrderStatus.FILLED
        assert session.broker.submit(Order.buy(50_000_000)).status is OrderStatus.FILLED
        late_ack = Gate(manual)

        async def execute_ack_late(app: Any, sid: str, event: str, payload: Any) -> dict[str, Any]:
            outcome = app.engine.submit(app.hub.connections[sid].player_id, event, payload, now_ms())
            await app.hub.deliver(outcome.emissions)  # the trade and the updates go out now...
            await late_ack.wait()  # ...the ack only after the rug
            return outcome.ack

        def last_tick(engine: Any) -> bool:
            mk = engine.market
            return mk.phase is not Phase.ACTIVE or mk.spec.rug_tick - mk.tick <= 1

        manual.run(manual.server.step_until(last_tick))  # the sale's tick is the last before the rug
        caught_up(session, manual.where())
        undo = patch_order(manual, execute_ack_late)
        release_logins = hold_logins(manual)  # no fresh account until the rug is through
        result = session.broker.submit(Order.sell(0.5))
        undo()
        assert result.code == "unknown"
        manual.step()  # the rug: the sidebet won, the rest of the position sold at the rug price
        assert session.wait_until(lambda: session.market.rug_of(game) is not None, 20.0)
        late_ack.open()
        release_logins()
        assert resolved(session)
        caught_up(session, manual.to_active())
        assert session.broker.submit(Order.buy(10_000_000)).status is OrderStatus.FILLED
        assert_matches_truth(manual, session)
    finally:
        session.close()
    assert fates(received, session) == [
        ("requestSidebet", "filled"), ("buyOrder", "filled"), ("sellOrder", "filled"), ("buyOrder", "filled")
    ]  # fmt: skip
    summary = session.summary()
    assert summary["verification"]["drift_count"] == 0 and summary["halted"] is None
    assert summary["ledger"]["ledger_rejects"] == 0


def test_late_player_updates_are_not_drift(tmp_path: Path) -> None:
    faults = FaultConfig(late_update_rate=1.0, late_update_s=0.4)  # every playerUpdate of a trade, late
    config = ServerConfig(speed=1.0, seed=11, manual_clock=True, open_registration=True, games=LONG_GAMES,
                          faults=faults)  # fmt: skip
    with ServerThread(config) as thread:
        manual = Manual(thread)
        session = open_session(manual, tmp_path, "tok-late-updates")
        try:
            caught_up(session, manual.to_active())
            for order in (
                Order.buy(20_000_000),
                Order.buy(30_000_000),
                Order.sell(0.5),
                Order.sidebet(1_000_000),
            ):
                assert session.broker.submit(order).status is OrderStatus.FILLED
            caught_up(session, manual.ticks(2))  # half a second of game time: the held updates go out
            session.wait_until(lambda: session.broker.mirror.verifier.checked >= 4, 10.0)
            caught_up(session, manual.ticks(10))
            assert_matches_truth(manual, session)
            late = thread.call(lambda s: s.app.hub.fault_counts()["updates_late"])
        finally:
            session.close()
    summary = session.summary()
    assert summary["verification"]["drift_count"] == 0 and summary["halted"] is None
    assert summary["verification"]["player_updates_checked"] >= 4 and late >= 4


def test_drift_halts_trading_and_says_why(
    manual: Manual, received: Received, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = open_session(manual, tmp_path, "tok-drift", patience=3)
    pid = session.broker.player_id
    original = player_views.player_update

    def wrong(account: Any, numbers: dict[str, Any]) -> dict[str, Any]:
        msg = original(account, numbers)
        if account.player_id == pid:
            msg["cash"] = msg["cash"] + 0.25  # the server's account no longer matches the trades
        return msg

    try:
        caught_up(session, manual.to_active())
        monkeypatch.setattr(player_views, "player_update", wrong)
        assert session.broker.submit(Order.buy(10_000_000)).status is OrderStatus.FILLED
        caught_up(session, manual.ticks(6))
        assert session.wait_until(lambda: session.broker.halted is not None, 10.0)
        assert "drift" in session.broker.halted
        refused = session.broker.submit(Order.buy(10_000_000))
        assert refused.status is OrderStatus.REJECTED and refused.code == "halted"
    finally:
        session.close()
    assert fates(received, session) == [("buyOrder", "filled")]  # nothing after the halt
    assert notes(tmp_path, "halt")


def test_limits_are_enforced_before_orders_leave(manual: Manual, received: Received, tmp_path: Path) -> None:
    limits = RiskLimits(max_stake=50_000_000, max_loss=200_000_000)  # 0.05 SOL per order, 0.2 SOL in all
    session = open_session(manual, tmp_path, "tok-limits", limits=limits)
    results = []
    try:
        caught_up(session, manual.to_active(left=60))
        results.append(session.broker.submit(Order.buy(100_000_000)))  # over max_stake
        results.append(session.broker.submit(Order.sidebet(100_000_000)))  # over max_stake
        for _ in range(6):  # 0.05 each: the fifth would take the possible loss past 0.2
            results.append(session.broker.submit(Order.buy(50_000_000)))
            caught_up(session, manual.ticks(1))
        results.append(session.broker.submit(Order.sidebet(1_000_000)))  # past max_loss too
        results.append(session.broker.submit(Order.sell(1.0)))  # reducing risk is always allowed
    finally:
        session.close()
    codes = [r.code if r.status is OrderStatus.REJECTED else r.status.value for r in results]
    assert codes == ["max_stake", "max_stake"] + ["filled"] * 4 + ["max_loss"] * 2 + ["max_loss", "filled"]
    sent = ours(received, session)
    assert len(sent) == 5 and all(outcome == "filled" for _, outcome in fates(received, session))
    assert all(p["amount"] <= 0.05 for e, p in sent if e in ("buyOrder", "requestSidebet"))
    assert [e for e, _ in sent] == ["buyOrder"] * 4 + ["sellOrder"]


def test_token_never_leaks(manual: Manual, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    token = "tok-LEAK-CANARY-5e3b9f1d"
    caplog.set_level(logging.DEBUG)
    raw: list[str] = []

    class Raw(logging.Handler):  # added after the session starts: no redacting filter on it
        def emit(self, record: logging.LogRecord) -> None:
            raw.append(self.format(record))

    errors: list[str] = []
    session = open_session(manual, tmp_path / "rec", token)
    handler = Raw(level=logging.DEBUG)
    logging.getLogger().addHandler(handler)
    try:
        caught_up(session, manual.to_active())

        async def lose(app: Any, sid: str, event: str, payload: Any) -> dict[str, Any]:
            await asyncio.sleep(1.0)
            return {"success": False, "reason": "internal_error"}

        undo = patch_order(manual, lose)
        session.broker.submit(Order.buy(10_000_000))  # lost ack: re-authentication with the token
        undo()
        resolved(session)
        errors += [repr(session), repr(session.broker), repr(session.options), str(session.options)]
        try:  # a refused authentication (a payload the server does not understand)
            open_session(manual, tmp_path / "bad", token, auth_payload={"wrong": "{token}"})
        except Exception as exc:
            errors += [str(exc), repr(exc)]
        try:  # nobody listening
            LiveSession(LiveOptions(url="http://127.0.0.1:9", token=Secret(token), mode="live",
                                    connect_timeout=0.5)).start(2.0)  # fmt: skip
        except Exception as exc:
            errors += [str(exc), repr(exc)]
    finally:
        logging.getLogger().removeHandler(handler)
        session.close()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert any(p.name.endswith(".jsonl") for p in files) and any(
        p.name.endswith("_session.json") for p in files
    )
    texts = [p.read_text(errors="replace") for p in files] + raw + [caplog.text] + errors
    assert any("authenticate" in t for t in texts)  # the journal shows the (re)authentications
    for text in texts:
        assert token not in text
