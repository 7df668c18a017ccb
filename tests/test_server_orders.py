"""The ground truth of the orders received, and the lost-ack and late-update faults, over real sockets.

The server runs with a manual clock: orders land at known ticks and a held update is released by a known
step, whatever the machine's load. Absence of an event is shown with a round trip (a ``ping`` acked after
everything the server queued before it), never with a timeout.
"""

from __future__ import annotations

import asyncio
import math
from typing import Any

import aiohttp
import pytest

from rugs_env.cli import build_parser
from rugs_env.cli.common import CliError
from rugs_env.cli.serve import build_config
from rugs_env.game.constants import SOL_MINT
from rugs_env.game.money import to_nano
from rugs_env.server import UNAUTHENTICATED, FaultConfig, PlayerSpec, RugsServer, ServerConfig
from rugs_env.server.config import ConfigError
from rugs_env.server.faults import ConnectionFaults
from rugs_env.server.market import Phase
from rugs_env.server.order_log import MAX_PAYLOAD_CHARS, OrderLog
from rugs_env.server.testing import TRACE, FeedClient, find_games

TOKEN = "orders-token"
PLAYER = "did:privy:cmorderstestplayer0000001"
GAME = find_games(lambda p: p.rug_tick >= 150, start=2000)[0]
SIDEBET = {"amount": 0.01, "coinAddress": SOL_MINT, "xPayout": 5}


def config(**kw: Any) -> ServerConfig:
    base: dict[str, Any] = dict(
        manual_clock=True, seed=17, bots=2, max_games=1, games=[GAME],
        players=[PlayerSpec(TOKEN, PLAYER, "orders", to_nano("5"))],
    )  # fmt: skip
    return ServerConfig(**(base | kw))


def active(tick: int) -> Any:
    return lambda e: e.market.phase is Phase.ACTIVE and e.market.tick >= tick


async def settled(server: RugsServer, count: int) -> list[Any]:
    """The first ``count`` orders received, once every one of them has been handled."""

    async def poll() -> list[Any]:
        while True:
            orders = server.truth.orders()
            if len(orders) >= count and all(r.outcome != "pending" for r in orders[:count]):
                return orders[:count]
            await asyncio.sleep(0.005)

    return await asyncio.wait_for(poll(), 20)


async def round_trip(c: FeedClient) -> None:
    """Everything the server queued for this socket before now has arrived once this returns."""
    assert await c.call("ping", {"lastPing": 1.0}) is None


# -- the ground truth of orders ------------------------------------------------------------------------------
async def run_orders_truth() -> None:
    async with RugsServer(config()) as server:
        await server.step()
        async with FeedClient(server.url) as c:
            assert (await c.call("buyOrder", {"amount": 0.01}))["reason"] == "not_authenticated"
            assert (await c.authenticate(TOKEN))["success"] is True
            assert (await c.call("buyOrder", {"amount": 0.01}))["reason"] == "trading_closed"
            await server.step_until(active(3))
            tick = server.engine.market.tick
            assert await c.call("buyOrder", {"amount": 0.05}) == {"success": True}
            assert (await c.call("buyOrder", "garbage"))["reason"] == "invalid_payload"
            assert (await c.call("sellOrder", {"percentage": 50}, trace=False)) == {"success": True}
            assert (await c.call("requestSidebet", SIDEBET))["success"] is True
            huge = {"amount": "x" * (2 * MAX_PAYLOAD_CHARS)}
            assert (await c.call("buyOrder", huge))["reason"] == "invalid_payload"
            assert (await c.sio.call("sellOrder", timeout=10))["reason"] == "invalid_payload"  # no payload
            assert (await server.order(PLAYER, "sellOrder", {"percentage": 100}))["success"] is True
            await round_trip(c)
            async with aiohttp.ClientSession() as http:
                mine = await get_json(http, f"{server.url}/truth/orders?player={PLAYER}")
                later = await get_json(http, f"{server.url}/truth/orders?since=5")
                anonymous = await get_json(http, f"{server.url}/truth/orders?player={UNAUTHENTICATED}")
                async with http.get(f"{server.url}/truth/orders?since=x") as bad:
                    assert bad.status == 400
        truth = server.truth
        game_id = GAME[1]
        assert mine == truth.orders_json(PLAYER) and later == truth.orders_json(since=5)
        assert [r["seq"] for r in truth.orders_json()] == list(range(1, 10))  # bots' orders are not in it
        (first,) = truth.orders(UNAUTHENTICATED)
        assert anonymous == [first.to_json()]
        assert (first.event, first.payload, first.outcome, first.reason) == (
            "buyOrder", {"amount": 0.01}, "refused", "not_authenticated",
        )  # fmt: skip
        assert (first.connection, first.phase, first.game_id) == (0, "cooldown", game_id)
        rows = [(r.event, r.outcome, r.reason, r.connection) for r in truth.orders(PLAYER)]
        assert rows == [
            ("buyOrder", "refused", "trading_closed", 0),
            ("buyOrder", "filled", None, 0),
            ("buyOrder", "refused", "invalid_payload", 0),
            ("sellOrder", "filled", None, 0),
            ("requestSidebet", "filled", None, 0),
            ("buyOrder", "refused", "invalid_payload", 0),
            ("sellOrder", "refused", "invalid_payload", 0),
            ("sellOrder", "filled", None, None),  # in-process (RugsServer.order)
        ]
        orders = truth.orders(PLAYER)
        assert [r.payload for r in orders[1:5]] == [{"amount": 0.05}, "garbage", {"percentage": 50}, SIDEBET]
        assert orders[4].payload_note is None and orders[6].payload is None
        assert orders[5].payload_note == "truncated" and orders[5].payload.startswith('{"amount": "xxx')
        assert all((r.game_id, r.phase, r.tick) == (game_id, "active", tick) for r in orders[1:])
        assert not any(r.ack_lost for r in orders)
        # the orders filled are exactly the fills orders made
        fills = [f for f in truth.player(PLAYER).fills if f["kind"] in ("buy", "sell", "sidebet_place")]
        assert len(fills) == sum(r.filled for r in orders) == 4
        assert server.app.errors == 0


async def get_json(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as resp:
        assert resp.status == 200
        return await resp.json()


def test_every_order_received_is_in_the_truth() -> None:
    asyncio.run(asyncio.wait_for(run_orders_truth(), 60))


def test_the_order_log_is_bounded() -> None:
    log = OrderLog(max_orders=3)
    for i in range(5):
        log.receive(None, "buyOrder", {"amount": i}, time_ms=i, game_id="g", phase="active", tick=i,
                    connection=0)  # fmt: skip
    assert [r.seq for r in log] == [3, 4, 5] and log.received == 5 and log.dropped == 2
    assert [r.seq for r in log.select(since=4)] == [5] and log.select("did:privy:x") == []
    record = log.receive("did:privy:x", "sellOrder", b"\x00bytes", time_ms=9, game_id="g", phase="active",
                         tick=9, connection=None)  # fmt: skip
    assert record.payload_note == "not_json" and isinstance(record.payload, str)
    record.settle(None)
    assert (record.outcome, record.reason) == ("refused", "refused")
    with pytest.raises(ConfigError):
        config(truth_max_orders=0).validate()


# -- lost acknowledgements -----------------------------------------------------------------------------------
async def run_lost_acks(seed: int) -> list[bool]:
    async with RugsServer(config(seed=seed, faults=FaultConfig(lost_ack_rate=0.5))) as server:
        await server.step()
        async with FeedClient(server.url) as c:
            assert (await c.authenticate(TOKEN))["success"] is True
            await server.step_until(active(2))
            acks: dict[int, Any] = {}
            count = 16
            for i in range(count):  # buys and, every third, one the server refuses
                payload = {"amount": "bad"} if i % 3 == 2 else {"amount": 0.001 * (i + 1)}

                def on_ack(*args: Any, i: int = i) -> None:
                    acks[i] = args[-1]

                await c.sio.emit("buyOrder", (TRACE, payload), callback=on_ack)
                await settled(server, i + 1)  # handled one at a time: known order, known fates
            await round_trip(c)  # every ack that was sent has arrived
            counted = server.app.hub.fault_counts()["acks_lost"]
        orders = server.truth.orders(PLAYER)
        lost = [r.ack_lost for r in orders]
        assert len(orders) == count and 0 < sum(lost) < count
        assert set(acks) == {i for i, r in enumerate(orders) if not r.ack_lost}  # no ack at all for the rest
        assert all(acks[i]["success"] is r.filled for i, r in enumerate(orders) if i in acks)
        # a lost ack loses nothing else: the order was executed, its trade went out
        assert any(r.ack_lost and r.filled for r in orders)
        assert any(r.ack_lost and not r.filled for r in orders)
        trades = [p for p in c.payloads("standard/newTrade") if p.get("playerId") == PLAYER]
        assert len(trades) == sum(r.filled for r in orders) == len(server.truth.player(PLAYER).fills)
        assert counted == sum(lost)
        assert server.engine.audit() == [] and server.app.errors == 0
        return lost


def test_lost_acks_are_executed_recorded_and_reproducible() -> None:
    first = asyncio.run(asyncio.wait_for(run_lost_acks(5), 60))
    assert asyncio.run(asyncio.wait_for(run_lost_acks(5), 60)) == first  # same seed, same acks lost


# -- late personal updates -----------------------------------------------------------------------------------
def personal(c: FeedClient, start: int) -> list[str]:
    skip = ("gameStateUpdate", "standard/newTrade", "ack:ping")
    return [r.event for r in c.events[start:] if r.event not in skip]


async def run_late_updates() -> None:
    faults = FaultConfig(late_update_rate=1.0, late_update_s=0.5)
    async with RugsServer(config(faults=faults)) as server:
        await server.step()
        async with FeedClient(server.url) as c:
            mark = len(c.events)
            assert (await c.authenticate(TOKEN))["success"] is True
            assert personal(c, mark) == ["usernameStatus", "playerUpdate", "ack:authenticate"]  # never held
            await server.step_until(active(5))
            await round_trip(c)
            tick = server.engine.market.tick
            mark = len(c.events)
            assert await c.call("buyOrder", {"amount": 0.2}) == {"success": True}
            assert await c.call("sellOrder", {"percentage": 50}) == {"success": True}
            await server.step()  # tick + 1: a quarter of a second of game time, not yet due
            await round_trip(c)
            assert personal(c, mark) == [  # no playerUpdate: both held
                "gameStatePlayerUpdate", "ack:buyOrder", "gameStatePlayerUpdate", "ack:sellOrder",
                "gameStatePlayerUpdate",  # (the step's)
            ]  # fmt: skip
            await server.step()  # tick + 2: half a second after the orders' step: both go out, in order
            first = await c.wait_for(lambda r: r.event == "playerUpdate", after=mark)
            second = await c.wait_for(lambda r: r.event == "playerUpdate", after=first.index + 1)
            assert server.app.hub.fault_counts()["updates_late"] == 2
        fills = server.truth.player(PLAYER).fills
        assert [to_nano(u.payload["cash"]) for u in (first, second)] == [
            f["cash_after_lamports"] for f in fills
        ]
        # the next tick's state message overtook them
        overtaking = [
            r for r in c.events[mark : first.index]
            if r.event == "gameStateUpdate" and r.payload.get("tickCount") == tick + 1
        ]  # fmt: skip
        assert overtaking
        assert server.app.errors == 0


def test_late_player_updates_are_held_then_sent_in_order() -> None:
    asyncio.run(asyncio.wait_for(run_late_updates(), 60))


def test_late_update_and_lost_ack_faults_alone() -> None:
    cfg = FaultConfig(late_update_rate=0.25, late_update_s=2.0, lost_ack_rate=0.1)
    f = ConnectionFaults.seeded(cfg, 3, 0, 0.0)
    held = [f.hold("playerUpdate", i, i * 0.25) for i in range(4000)]
    assert 800 < sum(held) < 1200 and len(f.late) == f.updates_late == sum(held)
    assert not f.hold("gameStatePlayerUpdate", "x", 0.0) and not f.hold("currentSidebet", "x", 0.0)
    assert all(t1 <= t2 for (t1, _), (t2, _) in zip(f.late, list(f.late)[1:], strict=False))
    due = f.due(100.0)
    assert due == [i for i, h in enumerate(held) if h and i * 0.25 + 2.0 <= 100.0]  # in the order held
    assert len(f.due(math.inf)) == sum(held) - len(due) and not f.late
    lost = [f.lose_ack() for _ in range(4000)]
    assert 300 < sum(lost) < 500 and f.acks_lost == sum(lost)
    g = ConnectionFaults.seeded(FaultConfig(late_update_rate=1.0, late_state_updates=True), 3, 0, 0.0)
    assert g.hold("gameStatePlayerUpdate", "x", 0.0) and g.counts()["updates_late"] == 1
    # each family has its own generator: acks drawn or not, the state faults and the holds are the same
    a, b = ConnectionFaults.seeded(cfg, 9, 4, 0.0), ConnectionFaults.seeded(cfg, 9, 4, 0.0)
    for _ in range(50):
        a.lose_ack()
    assert [a.hold("playerUpdate", 1, 0.0) for _ in range(50)] == [
        b.hold("playerUpdate", 1, 0.0) for _ in range(50)
    ]


def test_cli_maps_the_new_fault_options() -> None:
    parse = build_parser().parse_args
    args = parse(["serve", "--lose-acks", "0.1", "--late-updates", "0.2", "--late-by", "0.5",
                  "--late-state-updates", "--seed", "4"])  # fmt: skip
    faults = build_config(args).faults
    assert (faults.lost_ack_rate, faults.late_update_rate, faults.late_update_s) == (0.1, 0.2, 0.5)
    assert faults.late_state_updates and faults.per_connection
    assert build_config(parse(["serve"])).faults == FaultConfig()
    with pytest.raises(CliError):
        build_config(parse(["serve", "--lose-acks", "1.5"]))
    with pytest.raises(CliError):
        build_config(parse(["serve", "--late-updates", "0.1", "--late-by", "nan"]))
