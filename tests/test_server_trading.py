"""End-to-end trading against a real server over loopback sockets (python-socketio AsyncClient).

The server runs with a manual clock: the test decides when the game moves, so orders land at known ticks
whatever the machine's load, while every message still crosses a real socket. Games are pinned with seeds
found for the purpose: one rugs inside a presale sidebet's window (the bet wins), one after it (it loses).
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

from rugs_env.game.constants import SOL_MINT
from rugs_env.game.ledger import Ledger
from rugs_env.game.money import from_nano, to_nano
from rugs_env.game.prng import generate
from rugs_env.server import PlayerSpec, RugsServer, ServerConfig
from rugs_env.server.market import Phase
from rugs_env.server.testing import FeedClient, Received, find_games

TOKEN = "e2e-token"
PLAYER = "did:privy:cme2etestplayer000000001"
START = to_nano("2")
GAME_WIN = find_games(lambda p: 25 <= p.rug_tick <= 40)[0]  # a presale sidebet (ticks 1-40) wins
WIN_RUG_TICK = generate(*GAME_WIN).rug_tick
GAME_LOSE = find_games(lambda p: 50 <= p.rug_tick <= 90, start=1000)[0]  # ... loses at tick 41


def config(**kw: Any) -> ServerConfig:
    base: dict[str, Any] = dict(
        manual_clock=True,
        seed=11,
        bots=2,
        max_games=2,
        games=[GAME_WIN, GAME_LOSE],
        players=[PlayerSpec(TOKEN, PLAYER, "tester", START, level=7)],
    )
    base.update(kw)
    return ServerConfig(**base)


def sidebet(amount: Any, **kw: Any) -> dict[str, Any]:
    return {"amount": amount, "coinAddress": SOL_MINT, "xPayout": 5, **kw}


def ledger_of(server: RugsServer) -> Ledger:
    return server.engine.desk.accounts.by_id[PLAYER].ledger


def assert_matches_ledger(update: dict[str, Any], ledger: Ledger, price: float) -> None:
    """A playerUpdate carries exactly the ledger's numbers (as the server's doubles)."""
    assert update["id"] == PLAYER and update["authenticated"] is True
    assert update["cash"] == from_nano(ledger.cash)
    assert update["positionQty"] == from_nano(ledger.position_qty)
    assert update["avgCost"] == ledger.avg_cost
    assert update["totalInvested"] == from_nano(ledger.total_invested)
    assert update["cumulativePnL"] == from_nano(ledger.pnl(price))
    assert update["sidebetPnl"] == from_nano(ledger.sidebet_pnl)
    bet = ledger.sidebet
    assert (update["sideBet"] is None) == (bet is None)
    if bet is not None:
        assert update["sideBet"]["startedAtTick"] == bet.start_tick
        assert update["sideBet"]["betAmount"] == from_nano(bet.stake)


def events_between(client: FeedClient, start: int, ack_event: str) -> list[Received]:
    """The events after index ``start`` up to and including the ack of ``ack_event``."""
    out = []
    for rec in client.events[start:]:
        out.append(rec)
        if rec.event == f"ack:{ack_event}":
            break
    return out


def personal(events: list[Received]) -> list[str]:
    """Event names without the public feed's state messages and other players' trades."""
    names = []
    for rec in events:
        if rec.event in ("gameStateUpdate",):
            continue
        if rec.event == "standard/newTrade" and rec.payload.get("playerId") != PLAYER:
            continue
        names.append(rec.event)
    return names


async def run_session() -> None:
    async with RugsServer(config()) as server:
        await server.step()  # game A's first cooldown message
        async with FeedClient(server.url) as c:
            first = await c.wait_for(lambda r: r.event == "gameStateUpdate")
            assert first.index == 0 and "prices" in first.payload and "partialPrices" not in first.payload

            # -- refused before authentication, and with a bad token ---------------------------------------
            assert (await c.call("buyOrder", {"amount": 0.01}))["reason"] == "not_authenticated"
            assert (await c.call("requestSidebet", sidebet(0.01)))["success"] is False
            assert (await c.authenticate("not-a-token"))["reason"] == "invalid_token"
            mark = len(c.events)
            ack = await c.authenticate(TOKEN)
            assert ack == {"success": True, "id": PLAYER, "username": "tester"}
            assert personal(events_between(c, mark, "authenticate")) == [
                "usernameStatus",
                "playerUpdate",
                "ack:authenticate",
            ]
            status = c.of("usernameStatus")[0]
            assert status.args[0]["__trace"] is True and status.payload["username"] == "tester"
            assert_matches_ledger(c.payloads("playerUpdate")[-1], ledger_of(server), 1.0)

            # -- cooldown: nothing can be done ---------------------------------------------------------------
            assert (await c.call("buyOrder", {"amount": 0.01}))["reason"] == "trading_closed"

            # -- presale: buy at 1.0, sidebet (start 0), no sells ----------------------------------
            await server.step_until(lambda e: e.market.phase is Phase.PRESALE)
            mark = len(c.events)
            assert await c.call("buyOrder", {"amount": 0.1}) == {"success": True}
            seq = personal(events_between(c, mark, "buyOrder"))
            assert seq == ["standard/newTrade", "playerUpdate", "gameStatePlayerUpdate", "ack:buyOrder"]
            trade = [r for r in c.of("standard/newTrade") if r.payload["playerId"] == PLAYER][-1]
            assert trade.args[0]["__trace"] is True
            assert (trade.payload["type"], trade.payload["price"], trade.payload["tickIndex"]) == (
                "buy",
                1,
                0,
            )
            assert trade.payload["qty"] == 0.1 and trade.payload["amount"] == 0.1
            assert_matches_ledger(c.payloads("playerUpdate")[-1], ledger_of(server), 1.0)
            assert (await c.call("sellOrder", {"percentage": 100}))["reason"] == "presale_sell"
            mark = len(c.events)
            ack = await c.call("requestSidebet", sidebet(0.01))
            assert ack["success"] is True and ack["message"] == "Side bet placed"
            assert (ack["sidebet"]["startTick"], ack["sidebet"]["endTick"], ack["sidebet"]["betAmount"]) == (
                0,
                40,
                0.01,
            )
            assert personal(events_between(c, mark, "requestSidebet")) == [
                "playerUpdate",
                "currentSidebet",
                "ack:requestSidebet",
            ]
            assert (await c.call("requestSidebet", sidebet(0.01)))["reason"] == "sidebet_active"
            await check_invalid_orders(server, c)

            # -- active: buy and sell at the current tick --------------------------------------------------
            await server.step_until(lambda e: e.market.phase is Phase.ACTIVE and e.market.tick >= 3)
            tick, price = server.engine.market.tick, server.engine.market.price
            assert await c.call("buyOrder", {"amount": 0.05}) == {"success": True}
            fill = server.truth.player(PLAYER).fills[-1]
            assert (fill["kind"], fill["tick"], fill["price"]) == ("buy", tick, price)
            assert await c.call("sellOrder", {"percentage": 50}) == {"success": True}
            sell = [r.payload for r in c.of("standard/newTrade") if r.payload["playerId"] == PLAYER][-1]
            assert (sell["type"], sell["tickIndex"], sell["price"]) == ("sell", tick, price)
            assert_matches_ledger(c.payloads("playerUpdate")[-1], ledger_of(server), price)

            # -- the rug: sidebet paid, position liquidated, all before the rug message -------------
            mark = len(c.events)
            await server.step_until(lambda e: e.market.phase is Phase.RUGGED)
            rug = await c.wait_state(lambda p: p.get("rugged") is True, after=mark)
            rug_tick, rug_price = WIN_RUG_TICK, rug.payload["price"]
            assert rug.payload["tickCount"] == rug_tick and rug.payload["active"] is True
            last_tick = max(r.index for r in c.events[mark : rug.index] if r.event == "gameStateUpdate")
            before = [e for e in personal(c.events[last_tick : rug.index]) if e != "gameStatePlayerUpdate"]
            assert before == ["currentSidebetResult", "standard/newTrade", "playerUpdate"]
            result = c.of("currentSidebetResult")[-1].payload
            assert (result["payout"], result["profit"], result["tickIndex"]) == (0.05, 0.04, rug_tick)
            forced = [r.payload for r in c.events[mark : rug.index] if r.event == "standard/newTrade"][-1]
            assert (forced["type"], forced["price"], forced["tickIndex"]) == ("sell", rug_price, rug_tick)
            update = c.payloads("playerUpdate")[-1]
            assert update["positionQty"] == 0 and update["sideBet"] is None
            assert_matches_ledger(update, ledger_of(server), rug_price)
            rows = [r for r in rug.payload["leaderboard"] if r["id"] == PLAYER]
            assert rows and rows[0]["positionQty"] == 0 and rows[0]["avgCost"] == 0

            # -- game B: a sidebet that loses when its window closes, a holding liquidated ---------
            await server.step_until(lambda e: e.market.phase is Phase.PRESALE)
            assert (await c.call("requestSidebet", sidebet(0.02)))["success"] is True
            assert (await c.call("buyOrder", {"amount": 0.03}))["success"] is True
            mark = len(c.events)
            await server.step_until(lambda e: e.market.phase is Phase.ACTIVE and e.market.tick >= 41)
            lost = await c.wait_for(lambda r: r.event == "currentSidebetResult", after=mark)
            assert (lost.payload["payout"], lost.payload["profit"], lost.payload["tickIndex"]) == (
                0,
                -0.02,
                0,
            )
            await server.step_until(lambda e: e.market.phase is Phase.RUGGED)
            await c.wait_state(lambda p: p.get("rugged") is True, after=mark)
            assert_matches_ledger(
                c.payloads("playerUpdate")[-1], ledger_of(server), server.engine.market.price
            )
            await asyncio.sleep(0.05)

            check_updates_follow_fills(server, c)
        assert server.engine.audit() == []
        assert server.app.errors == 0


async def check_invalid_orders(server: RugsServer, c: FeedClient) -> None:
    """Malformed and impossible orders get success:false and change nothing."""
    before_state = ledger_of(server).snapshot()
    before_fills = len(server.truth.player(PLAYER).fills)
    before_trades = server.engine.desk.trade_count
    bad: list[tuple[str, Any, str]] = [
        ("buyOrder", {"amount": 0.0005}, "below_minimum"),
        ("buyOrder", {"amount": 6}, "above_maximum"),
        ("buyOrder", {"amount": 1.95}, "insufficient_cash"),
        ("buyOrder", {"amount": -1}, "invalid_amount"),
        ("buyOrder", {"amount": 0}, "invalid_amount"),
        ("buyOrder", {"amount": "0.01"}, "invalid_payload"),
        ("buyOrder", {"amount": True}, "invalid_payload"),
        ("buyOrder", {"amount": None}, "invalid_payload"),
        ("buyOrder", {"amount": math.inf}, "invalid_amount"),
        ("buyOrder", {"amount": 1e308}, "above_maximum"),
        ("buyOrder", {}, "invalid_payload"),
        ("buyOrder", "garbage", "invalid_payload"),
        ("buyOrder", [1, 2, 3], "invalid_payload"),
        ("buyOrder", None, "invalid_payload"),
        ("sellOrder", {"percentage": 150}, "presale_sell"),
        ("sellOrder", {"pct": 50}, "invalid_payload"),
        ("requestSidebet", {"amount": 0.01}, "invalid_payload"),
        ("requestSidebet", sidebet(0.01), "sidebet_active"),
        ("requestSidebet", sidebet(0.01, coinAddress="0xPractice"), "unsupported_coin"),
        ("requestSidebet", sidebet(0.01, xPayout=10), "invalid_payout"),
        ("requestSidebet", sidebet("lots"), "invalid_payload"),
        ("requestSidebet", 42, "invalid_payload"),
    ]
    for event, payload, reason in bad:
        ack = await c.call(event, payload)
        assert ack["success"] is False, (event, payload, ack)
        assert ack["reason"] == reason, (event, payload, ack)
    # without a trace object, and with no payload at all
    assert (await c.call("buyOrder", {"amount": "x"}, trace=False))["success"] is False
    assert (await c.sio.call("sellOrder", timeout=10))["success"] is False
    assert ledger_of(server).snapshot() == before_state
    assert len(server.truth.player(PLAYER).fills) == before_fills
    assert server.engine.desk.trade_count == before_trades


def check_updates_follow_fills(server: RugsServer, c: FeedClient) -> None:
    """Every playerUpdate received shows the account right after one of its fills (or the start)."""
    record = server.truth.player(PLAYER)
    states = {(START, 0, 0.0)} | {
        (f["cash_after_lamports"], f["position_qty_after_nano"], f["avg_cost_after"]) for f in record.fills
    }
    updates = c.payloads("playerUpdate")
    assert len(updates) >= 10
    for update in updates:
        assert (to_nano(update["cash"]), to_nano(update["positionQty"]), update["avgCost"]) in states
    kinds = [f["kind"] for f in record.fills]
    assert kinds.count("sidebet_win") == 1 and kinds.count("sidebet_lose") == 1
    assert kinds.count("liquidation") == 2


def test_trading_session_over_sockets() -> None:
    asyncio.run(asyncio.wait_for(run_session(), 60))


async def run_unauthenticated_garbage() -> None:
    """Garbage from an unauthenticated socket is refused or ignored; the server keeps serving."""
    async with RugsServer(config(max_games=1)) as server:
        await server.step()
        async with FeedClient(server.url) as c:
            for event in ("buyOrder", "sellOrder", "requestSidebet"):
                for payload in (None, "x", 1, [], {"amount": 1}):
                    assert (await c.call(event, payload))["success"] is False
            await c.sio.emit("noSuchEvent", {"a": 1})
            await c.sio.emit("authenticate")
            assert await c.call("ping", {"lastPing": 12.5}) is None
            await server.step(5)
            await c.wait_for(lambda r: r.event == "gameStateUpdate" and "prices" not in r.payload)
        assert server.app.errors == 0 and server.truth.player(PLAYER).fills == []


def test_unauthenticated_and_garbage_events() -> None:
    asyncio.run(asyncio.wait_for(run_unauthenticated_garbage(), 60))


async def run_other_ways_in() -> None:
    """Open registration, and a token given in the Socket.IO connect ``auth`` instead of ``authenticate``."""
    async with RugsServer(config(open_registration=True, max_games=1)) as server:
        await server.step()
        async with FeedClient(server.url) as c:
            ack = await c.authenticate("somebody-new")
            assert ack["success"] is True and ack["id"].startswith("did:privy:cm") and len(ack["id"]) == 35
            assert c.payloads("playerUpdate")[-1]["cash"] == 10
            assert (await c.authenticate("somebody-new"))["id"] == ack["id"]  # same token, same account
        client = FeedClient(server.url)
        await client.connect(auth={"token": TOKEN})
        status = await client.wait_for(lambda r: r.event == "usernameStatus")
        update = await client.wait_for(lambda r: r.event == "playerUpdate")
        assert status.payload["id"] == PLAYER and update.payload["cash"] == from_nano(START)
        await server.step_until(lambda e: e.market.phase is Phase.PRESALE)
        assert (await client.call("buyOrder", {"amount": 0.01}))["success"] is True
        await client.close()


def test_open_registration_and_connect_auth() -> None:
    asyncio.run(asyncio.wait_for(run_other_ways_in(), 60))
