"""Conformance: what our server sends has the real messages' key sets and value types.

Real references: the Dec-12-2025 raw capture and the Feb-2026 key samples (tests/fixtures/realdata), and for
the personal events (not in public captures) the examples of PROTOCOL.md §3.1-§3.8 transcribed in
tests/fixtures/protocol_examples.json. Ours: everything a real python-socketio client received over
loopback during two games with bots and an authenticated player who bought in presale and during the game,
sold, and had one sidebet win and one lose.

Keys must match exactly (the full shape is the Dec-2025 one; Feb 2026 renamed its record fields, see
FEB_RENAMES). Types are JSON types (number = int or float); ours must be among the types the real data shows
for that key across all its examples, and nested objects are compared the same way.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
from conftest import FIXTURES, load_key_samples, load_raw_events, payload_of

from rugs_env.game.constants import SOL_MINT
from rugs_env.game.money import to_nano
from rugs_env.server import PlayerSpec, RugsServer, ServerConfig
from rugs_env.server.market import Phase
from rugs_env.server.testing import FeedClient, find_games

TOKEN, PLAYER = "conformance", "did:privy:cmconformance0000000000001"
GAMES = [
    find_games(lambda p: 25 <= p.rug_tick <= 40)[0],
    find_games(lambda p: 50 <= p.rug_tick <= 90, start=1000)[0],
]
DYNAMIC_KEYS = {"values", "shitcoinBalances"}  # maps keyed by data (ticks, coins), not fixed fields
TRACEPARENT = re.compile(r"00-[0-9a-f]{32}-[0-9a-f]{16}-01")
# Fields whose documented type has an alternative some real examples do not show (PROTOCOL.md §3.1 and
# §3.3 tables: sideBet "null/obj", sidebetActive "true/null", autosellPrice "null/float",
# godCandle{N}x "float/null", ...Timestamp "int/null", ...MassiveJump "[float,float]/null").
NULLABLE = {"sideBet": {"object"}, "sidebetActive": {"bool"}, "autosellPrice": {"number"}} | {
    f"godCandle{n}x{suffix}": {"null"} for n in (2, 10, 50) for suffix in ("", "Timestamp", "MassiveJump")
}
FEB_RENAMES = {"highestTodayPrices": ("highestTodayGameId", "highestTodayServerSeed")} | {
    f"godCandle{n}xPrices": (f"godCandle{n}xGameId", f"godCandle{n}xServerSeed") for n in (2, 10, 50)
}


def jtype(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    return {str: "str", list: "list", dict: "object"}[type(value)]


def compare(ours: list[dict], real: list[dict], path: str, *, ignore: set[str] = frozenset()) -> None:
    """Same keys (minus ``ignore``), our types among the real ones, recursively."""
    assert ours, f"{path}: no messages of ours to compare"
    assert real, f"{path}: no real messages to compare with"
    real_keys = set().union(*(set(r) for r in real)) - ignore
    for msg in ours:
        assert set(msg) - ignore == real_keys, (
            f"{path}: keys differ: ours-real {set(msg) - ignore - real_keys}, "
            f"real-ours {real_keys - set(msg)}"
        )
    for key in real_keys:
        real_types = {jtype(r[key]) for r in real if key in r} | NULLABLE.get(key, set())
        our_types = {jtype(m[key]) for m in ours}
        assert our_types <= real_types, f"{path}.{key}: ours {our_types}, real {real_types}"
        if key in DYNAMIC_KEYS:
            continue
        ours_sub = [m[key] for m in ours if isinstance(m[key], dict)]
        real_sub = [r[key] for r in real if isinstance(r.get(key), dict)]
        if ours_sub and real_sub:
            compare(ours_sub, real_sub, f"{path}.{key}")
        ours_items = [x for m in ours if isinstance(m[key], list) for x in m[key] if isinstance(x, dict)]
        real_items = [x for r in real if isinstance(r.get(key), list) for x in r[key] if isinstance(x, dict)]
        if ours_items and real_items and key not in ("leaderboard", "gameHistory", "globalSidebets"):
            compare(ours_items, real_items, f"{path}.{key}[]")


# -- the real side ------------------------------------------------------------------------------------
def real_messages() -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = defaultdict(list)
    for e in load_raw_events():
        if e["event"] in ("gameStateUpdate", "standard/newTrade"):
            out[e["event"]].append(payload_of(e["data"]))
    for sample in load_key_samples().values():
        out[sample["event_type"] + ":feb"].append(sample["data"])
    return out


def classify(msg: dict) -> str:
    """minimal / tick / slim / full-prices / full / feb-full."""
    n = len(msg)
    if n == 7:
        return "minimal"
    if n == 14:
        return "slim"
    if n == 21:
        return "tick"
    if n == 40:
        return "feb-full"
    return "full-prices" if "prices" in msg else "full"


def rows_of(messages: list[dict]) -> dict[int, list[dict]]:
    rows: dict[int, list[dict]] = defaultdict(list)
    for m in messages:
        for row in m.get("leaderboard") or []:
            rows[len(row)].append(row)
    return rows


def history_of(messages: list[dict]) -> tuple[list[dict], dict[str, list[dict]]]:
    entries, bets = [], defaultdict(list)
    for m in messages:
        for g in m.get("gameHistory") or []:
            entries.append(g)
            for s in g["globalSidebets"]:
                kind = s["type"] if s["type"] == "placed" else ("win" if s["payout"] else "loss")
                bets[kind].append(s)
    return entries, bets


# -- our side ----------------------------------------------------------------------------------------
def _running(state: object, game_id: str) -> bool:
    """A state of game ``game_id`` under way: presale over, not rugged."""
    return (
        isinstance(state, dict)
        and state.get("gameId") == game_id
        and state.get("active") is True
        and not state.get("rugged")
    )


async def collect() -> FeedClient:
    config = ServerConfig(
        manual_clock=True,
        seed=8,
        bots=4,
        games=GAMES,
        max_games=3,
        players=[PlayerSpec(TOKEN, PLAYER, "conform", to_nano("5"), level=3)],
    )
    bet = {"amount": 0.01, "coinAddress": SOL_MINT, "xPayout": 5}
    async with RugsServer(config) as server:
        await server.step()
        client = FeedClient(server.url)
        await client.connect()
        await client.wait_for(lambda r: r.event == "gameStateUpdate")
        assert (await client.authenticate(TOKEN))["success"]
        for _ in GAMES:
            await server.step_until(lambda e: e.market.phase is Phase.PRESALE)
            await server.step(3)
            assert (await client.call("buyOrder", {"amount": 0.05}))["success"]
            assert (await client.call("requestSidebet", bet))["success"]
            await server.step(5)
            await server.step_until(lambda e: e.market.phase is Phase.ACTIVE and e.market.tick >= 2)
            assert (await client.call("buyOrder", {"amount": 0.02}))["success"]
            assert (await client.call("sellOrder", {"percentage": 25}))["success"]
            await server.step_until(lambda e: e.market.phase is Phase.RUGGED)
        await server.step_until(lambda e: e.market.phase is Phase.ACTIVE)  # the reveal of both games
        # the next game's first running tick comes after the reveal: once it is here, so is the reveal
        # (waited for, not slept: on a loaded machine the last messages can take a while)
        game = server.engine.market.game_id
        await client.wait_for(lambda r: r.event == "gameStateUpdate" and _running(r.payload, game))
        await client.close()
    return client


@pytest.fixture(scope="module")
def ours() -> FeedClient:
    return asyncio.run(asyncio.wait_for(collect(), 60))


@pytest.fixture(scope="module")
def real() -> dict[str, list[dict]]:
    return real_messages()


def our_states(ours: FeedClient) -> list[dict]:
    return [p for p in ours.payloads("gameStateUpdate") if isinstance(p, dict)]


@pytest.mark.parametrize("shape", ["minimal", "tick", "slim", "full", "full-prices"])
def test_game_state_update_shapes(ours: FeedClient, real: dict, shape: str) -> None:
    mine = [m for m in our_states(ours) if classify(m) == shape]
    dec = [m for m in real["gameStateUpdate"] if classify(m) == shape]
    ignore = {"leaderboard", "gameHistory"}  # compared row by row below
    compare(mine, dec, f"gameStateUpdate[{shape}]", ignore=ignore)
    feb = [m for m in real["gameStateUpdate:feb"] if classify(m) == shape]
    if shape == "full":  # Feb 2026 renamed the record fields (PROTOCOL.md §8)
        feb = [m for m in real["gameStateUpdate:feb"] if classify(m) == "feb-full"]
        renamed = [
            {k: v for k, v in m.items() if k not in FEB_RENAMES}
            | {new: None for k in FEB_RENAMES for new in FEB_RENAMES[k]}
            for m in mine
        ]
        compare(
            renamed,
            feb,
            "gameStateUpdate[feb full]",
            ignore=ignore | {new for pair in FEB_RENAMES.values() for new in pair},
        )
    elif feb:
        compare(mine, feb, f"gameStateUpdate[feb {shape}]", ignore=ignore)


def test_presale_flip_is_an_inactive_tick_message(ours: FeedClient, real: dict) -> None:
    flips = [m for m in our_states(ours) if classify(m) == "tick" and m["active"] is False]
    real_flips = [
        m
        for m in real["gameStateUpdate"] + real["gameStateUpdate:feb"]
        if classify(m) == "tick" and m["active"] is False
    ]
    assert flips and real_flips
    assert all(m["cooldownTimer"] == 10000 and m["allowPreRoundBuys"] for m in flips + real_flips)


def test_leaderboard_rows(ours: FeedClient, real: dict) -> None:
    mine = rows_of(our_states(ours))
    theirs = rows_of(real["gameStateUpdate"] + real["gameStateUpdate:feb"])
    assert set(mine) == {17, 14} == set(theirs)
    for size in (17, 14):
        compare(mine[size], theirs[size], f"leaderboard row[{size}]")
    examples = json.loads((FIXTURES / "protocol_examples.json").read_text())
    compare(
        [r for r in mine[17] if r["sideBet"]], [examples["leaderboardRowWithSidebet"]], "row with sideBet"
    )


def test_game_history_and_global_sidebets(ours: FeedClient, real: dict) -> None:
    mine, my_bets = history_of(our_states(ours))
    dec, dec_bets = history_of(real["gameStateUpdate"])
    feb, feb_bets = history_of(real["gameStateUpdate:feb"])
    compare(mine, dec, "gameHistory[]", ignore={"globalSidebets"})
    compare(mine, feb, "gameHistory[] (feb)", ignore={"globalSidebets", "prices"})
    for kind in ("placed", "win", "loss"):
        compare(my_bets[kind], dec_bets[kind] + feb_bets[kind], f"globalSidebets[{kind}]")


def test_new_trade(ours: FeedClient, real: dict) -> None:
    mine = ours.payloads("standard/newTrade")
    theirs = real["standard/newTrade"] + real["standard/newTrade:feb"]
    for kind in ("buy", "sell"):
        compare(
            [t for t in mine if t["type"] == kind],
            [t for t in theirs if t["type"] == kind],
            f"newTrade[{kind}]",
        )


@pytest.mark.parametrize(
    "event,example",
    [
        ("playerUpdate", "playerUpdate"),
        ("gameStatePlayerUpdate", "gameStatePlayerUpdate"),
        ("usernameStatus", "usernameStatus"),
        ("currentSidebet", "currentSidebet"),
        ("currentSidebetResult", "currentSidebetResult"),
        ("ack:buyOrder", "buyOrderAck"),
        ("ack:sellOrder", "sellOrderAck"),
        ("ack:requestSidebet", "requestSidebetAck"),
    ],
)
def test_player_events(ours: FeedClient, event: str, example: str) -> None:
    examples = json.loads((FIXTURES / "protocol_examples.json").read_text())
    mine = ours.payloads(event)
    if event == "gameStatePlayerUpdate":  # the example is of a player in the game (with its row)
        mine = [m for m in mine if "leaderboardEntry" in m]
    compare(mine, [examples[example]], event)


def test_trace_objects_where_the_real_server_puts_them(ours: FeedClient) -> None:
    traced = {"standard/newTrade", "usernameStatus", "currentSidebet", "currentSidebetResult"}
    plain = {"gameStateUpdate", "playerUpdate", "gameStatePlayerUpdate"}
    seen = {r.event for r in ours.events}
    assert traced | plain <= seen
    for rec in ours.events:
        if rec.event in traced:
            assert len(rec.args) == 2 and rec.args[0]["__trace"] is True
            assert TRACEPARENT.fullmatch(rec.args[0]["traceparent"])
        elif rec.event in plain:
            assert len(rec.args) == 1


def test_real_trace_object_format() -> None:
    traces = [e["data"][0] for e in load_raw_events() if isinstance(e["data"], list)]
    assert traces and all(
        set(t) == {"__trace", "traceparent"} and TRACEPARENT.fullmatch(t["traceparent"]) for t in traces
    )


def test_fixture_file_says_where_it_comes_from() -> None:
    meta = json.loads(Path(FIXTURES / "protocol_examples.json").read_text())["_meta"]
    assert "PROTOCOL.md" in meta["what"] and "transcribed" in meta["what"]
