"""Helpers of the live-play tests (no tests here): accounts, a lockstep driver, a hand-driven
server clock, patches of the server's order path and logins, readers of the session's journal notes, and
a live session against such a server with the checks of its orders against the server's ground truth.

The lockstep driver runs the server's clock by hand (``ServerConfig(manual_clock=True)``): it steps the
engine frame by frame, and on every presale or active frame waits until the environment has acted on it
(``env.last_acted``). Every order therefore executes on the very tick the agent observed, whatever the
machine's load: no timing in the tests.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rugs_env.game import constants as C
from rugs_env.live.options import LiveOptions
from rugs_env.live.session import LiveSession
from rugs_env.secrets import Secret
from rugs_env.server.config import PlayerSpec
from rugs_env.server.market import Phase

TOKEN = "tok-live-SECRET-7d1f0c9a"


def player(token: str = TOKEN, name: str = "agent", sol: int = 10) -> PlayerSpec:
    return PlayerSpec(token=token, player_id=f"did:privy:{name}0000000000000000000",
                      username=name, balance_lamports=sol * C.LAMPORTS_PER_SOL)  # fmt: skip


def acted(env: Any, want: tuple[str, int]) -> bool:
    last = env.unwrapped.last_acted
    return last is not None and last[0] == want[0] and last[1] >= want[1]


async def drive(server: Any, env: Any, stop: threading.Event) -> int:
    """Step ``server`` (manual clock) frame by frame, in lockstep with ``env``; returns the frames run."""
    frames = 0
    engine = server.engine
    while not stop.is_set():
        frame = await server.step()
        frames += 1
        if frame.wait is None:
            break
        mk = engine.market
        if mk.phase in (Phase.PRESALE, Phase.ACTIVE) and mk.spec is not None:
            want = (mk.spec.game_id, mk.tick if mk.phase is Phase.ACTIVE else -1)
            while not stop.is_set() and not acted(env, want):
                await asyncio.sleep(0.001)
        else:
            await asyncio.sleep(0)
    return frames


class Lockstep:
    """Runs :func:`drive` on the server thread's loop until :meth:`stop`."""

    def __init__(self, server_thread: Any, env: Any) -> None:
        self.stopped = threading.Event()
        self.future = asyncio.run_coroutine_threadsafe(
            drive(server_thread.server, env, self.stopped), server_thread.loop
        )

    def stop(self) -> int:
        self.stopped.set()
        return self.future.result(30)


class Manual:
    """A server thread with a manual clock, stepped from the test's thread."""

    def __init__(self, server_thread: Any) -> None:
        self.thread = server_thread
        self.server = server_thread.server

    def run(self, coro: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.thread.loop).result(timeout)

    def step(self, count: int = 1) -> None:
        self.run(self.server.step(count))

    def to_active(self, left: int = 40) -> tuple[str, int]:
        """Step until a game is active with at least ``left`` ticks before its rug; returns (game, tick)."""

        def ok(engine: Any) -> bool:
            mk = engine.market
            return mk.phase is Phase.ACTIVE and mk.spec is not None and mk.spec.rug_tick - mk.tick >= left

        if not ok(self.server.engine):
            self.run(self.server.step_until(ok))
        return self.where()

    def ticks(self, count: int) -> tuple[str, int]:
        """Step ``count`` active ticks (or until the game rugs)."""
        start = self.where()

        def moved(engine: Any) -> bool:
            mk = engine.market
            return mk.phase is not Phase.ACTIVE or mk.spec.game_id != start[0] or mk.tick >= start[1] + count

        self.run(self.server.step_until(moved))
        return self.where()

    def where(self) -> tuple[str, int]:
        mk = self.server.engine.market
        return (mk.spec.game_id if mk.spec is not None else "", mk.tick)


def caught_up(session: Any, where: tuple[str, int], timeout: float = 20.0) -> bool:
    """Wait until the live session's market shows the server's (game, tick)."""
    mk = session.market
    return session.wait_until(lambda: mk.game_id == where[0] and mk.tick >= where[1], timeout)


def journal_events(out: Path) -> list[dict[str, Any]]:
    lines: list[dict[str, Any]] = []
    for path in sorted((out / "journal").rglob("*.jsonl")):
        lines += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return lines


def notes(out: Path, kind: str) -> list[dict[str, Any]]:
    return [e["args"][0] for e in journal_events(out) if e.get("event") == f"@{kind}"]


def patch_order(manual: Manual, handler: Any) -> Any:
    """Replace the socket app's order path (the ``_order`` coroutine) until the returned undo is called."""
    app = manual.server.app
    app._order = handler.__get__(app)  # type: ignore[method-assign]
    return lambda: app.__dict__.pop("_order", None)


class Gate:
    """An asyncio event on the server's loop, opened from the test's thread (a late ack, held logins)."""

    def __init__(self, manual: Manual) -> None:
        self.loop = manual.thread.loop
        self.event = manual.run(_make_event())

    async def wait(self) -> None:
        await self.event.wait()

    def open(self) -> None:
        self.loop.call_soon_threadsafe(self.event.set)


async def _make_event() -> asyncio.Event:
    return asyncio.Event()


def hold_logins(manual: Manual) -> Any:
    """Hold every (re-)authentication at the server until the returned function is called."""
    app, loop = manual.server.app, manual.thread.loop
    gate = asyncio.Event()
    original = app._login

    async def held(sid: str, token: Any) -> dict[str, Any]:
        await gate.wait()
        return await original(sid, token)

    app._login = held  # type: ignore[method-assign]

    def release() -> None:
        loop.call_soon_threadsafe(gate.set)
        loop.call_soon_threadsafe(lambda: app.__dict__.pop("_login", None))

    return release


class Received:
    """The orders the server received from the test's start on, from its ground truth: iterating gives
    (player, event, payload, outcome) in the order received."""

    def __init__(self, manual: Manual) -> None:
        self.thread = manual.thread
        self.since = self.thread.call(lambda s: s.truth.order_log.received)

    def __iter__(self) -> Iterator[tuple[str, str, Any, str]]:
        since = self.since
        rows = self.thread.call(
            lambda s: [(r.player_id, r.event, r.payload, r.outcome) for r in s.truth.orders(since=since)]
        )
        return iter(rows)


def open_session(manual: Manual, out: Path, token: str, **extra: Any) -> LiveSession:
    options = LiveOptions(
        url=manual.thread.url, token=Secret(token), mode="live", out=out, ack_timeout=0.5,
        reconcile_grace=0.1, rate=100.0, burst=100, reconnect_delay=0.02, reconnect_max=0.1, stale_after=60.0,
        **extra,
    )  # fmt: skip
    return LiveSession(options).start(30.0)


def truth_of(manual: Manual, session: LiveSession) -> dict[str, Any]:
    pid = session.broker.player_id
    return manual.thread.call(lambda s: s.truth.player(pid).state)


def assert_matches_truth(manual: Manual, session: LiveSession) -> None:
    truth = truth_of(manual, session)
    ledger = session.broker.account
    assert (ledger.cash, ledger.position_qty) == (truth["cash_lamports"], truth["position_qty_nano"])
    assert ledger.total_invested == truth["total_invested_lamports"]


def ours(received: Received, session: LiveSession) -> list[tuple[str, Any]]:
    return [(event, payload) for pid, event, payload, _ in received if pid == session.broker.player_id]


def fates(received: Received, session: LiveSession) -> list[tuple[str, str]]:
    """(event, outcome) of each order the server received from the session's player."""
    return [(event, outcome) for pid, event, _, outcome in received if pid == session.broker.player_id]


def resolved(session: LiveSession, timeout: float = 20.0) -> bool:
    return session.wait_until(lambda: session.broker.inflight is None, timeout)
