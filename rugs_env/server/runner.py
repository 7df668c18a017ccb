"""Running the server: the async clock, the HTTP server, and handles to start and stop it.

In async code::

    async with RugsServer(ServerConfig(speed=100, seed=1)) as server:
        client = socketio.AsyncClient(); await client.connect(server.url)
        await server.wait_for_games(3)
        server.truth.games()

In sync code (tests, the demo)::

    with ServerThread(ServerConfig(speed=100)) as server:
        ... server.url ...; server.call(lambda s: s.truth.games_json())

The clock runs the engine step by step, sleeping each step's game time divided by ``speed``. Waits under
2 ms are not slept (at high speed the steps go out in small batches, the schedule staying exact on
average); when it falls behind (a busy machine) it produces without sleeping, yielding to the sockets every
5 ms, and after a stall of over a second it stops trying to catch up rather than bursting.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import math
import random
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from aiohttp import web

from rugs_env.server.app import SocketApp, now_ms
from rugs_env.server.config import ServerConfig
from rugs_env.server.engine import Frame, GameEngine, seeded
from rugs_env.server.routes import add_routes
from rugs_env.server.wire import TraceIds

log = logging.getLogger(__name__)
T = TypeVar("T")
# Further behind than this much *game* time, the clock stops trying to catch up. In game time, not wall
# time: a stalled server at speed 50 would otherwise replay 50 s of game in one burst, and every per-
# connection fault due in those 50 s (disconnects above all) would strike at once.
MAX_LAG_GAME_S = 1.0
MIN_SLEEP_S = 0.002  # shorter waits are not slept: the step goes out with the next batch
BATCH_S = 0.005  # when producing without sleeping, yield to the sockets this often
SHUTDOWN_TIMEOUT_S = 3.0


class RugsServer:
    """The local rugs.fun server in this event loop (an async context manager)."""

    def __init__(self, config: ServerConfig | None = None, engine: GameEngine | None = None) -> None:
        self.config = config or ServerConfig()
        self.engine = engine or GameEngine(self.config)
        self.app = SocketApp(self.engine, TraceIds(seeded(self.config.seed, "traces") or random.Random()))
        self.web = web.Application(middlewares=[self.app.track_upgrades])
        self.app.sio.attach(self.web)
        add_routes(self.web, self.engine, self.status)
        self.frames = 0
        self.clock_error: BaseException | None = None
        self._runner: web.AppRunner | None = None
        self._clock: asyncio.Task[None] | None = None
        self._games_done = asyncio.Event()
        self._port = 0
        self._disconnect_faults = self.config.faults.disconnect_every_s > 0

    # -- lifecycle ---------------------------------------------------------------------------------------
    async def start(self) -> RugsServer:
        """Listen on the configured host/port (0 = a free port) and start the game clock."""
        self._runner = web.AppRunner(
            self.web, handle_signals=False, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        await site.start()
        addresses = self._runner.addresses  # the bound (host, port, ...) tuples: port 0 resolved
        self._port = int(addresses[0][1]) if addresses else self.config.port
        if not self.config.manual_clock:
            self._clock = asyncio.create_task(self._run_clock(), name="rugs-serve-clock")
        return self

    async def stop(self) -> None:
        """Stop the clock, close every socket and the listener."""
        if self._clock is not None:
            self._clock.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._clock
            self._clock = None
        # Close each Engine.IO socket without waiting for its queue to drain: a client that is already
        # gone (or stopped reading) would make engineio's disconnect(wait=True) wait forever.
        for sock in list(self.app.sio.eio.sockets.values()):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(sock.close(wait=False), SHUTDOWN_TIMEOUT_S)
        for _ in range(100):  # let the websocket handlers see the close and finish (else cleanup waits)
            if not self.app.sio.eio.sockets:
                break
            await asyncio.sleep(0.01)
        with contextlib.suppress(Exception):
            await self.app.sio.shutdown()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> RugsServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- views -------------------------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        host = self.config.host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self._port}"

    @property
    def truth(self) -> Any:
        return self.engine.truth

    def status(self) -> dict[str, Any]:
        hub, mk = self.app.hub, self.engine.market
        return {
            "url": self.url,
            "phase": str(mk.phase),
            "game_id": mk.game_id,
            "tick": mk.tick,
            "games_started": self.engine.games_started,
            "ticks": self.engine.ticks_played,
            "frames": self.frames,
            "game_time": self.engine.game_time,
            "connections": len(hub.connections),
            "players_online": len(hub.by_player),
            "counters": dataclasses.asdict(hub.counters)
            | {"handler_errors": self.app.errors, "faults": hub.fault_counts()},  # open connections too
            "clock_error": repr(self.clock_error) if self.clock_error else None,
        }

    async def order(self, player_id: str, event: str, payload: Any) -> dict[str, Any]:
        """Place an order for ``player_id`` in-process, exactly as if it came from one of their sockets:
        same order path, same events to everyone, in the truth's orders received (``connection`` None);
        returns the ack."""
        now = now_ms()
        record = self.engine.receive_order(player_id, event, payload, now, None)
        outcome = self.engine.submit(player_id, event, payload, now)
        record.settle(outcome.ack)
        await self.app.hub.deliver(outcome.emissions)
        return outcome.ack

    async def wait_for_games(self, count: int, timeout: float = 60.0) -> None:
        """Wait until ``count`` games (not counting invented history) have finished."""

        async def poll() -> None:
            while len(self.truth.games(include_prefilled=False, finished_only=True)) < count:
                if self.clock_error is not None:
                    raise RuntimeError("the game clock died") from self.clock_error
                if self._games_done.is_set():
                    raise RuntimeError(f"the server ran out of games before {count} finished")
                await asyncio.sleep(0.02)

        await asyncio.wait_for(poll(), timeout)

    async def wait_finished(self, timeout: float = 60.0) -> None:
        """Wait until the engine has no more games (``max_games`` reached or replay exhausted)."""
        await asyncio.wait_for(self._games_done.wait(), timeout)

    # -- the clock ---------------------------------------------------------------------------------------
    async def _run_clock(self) -> None:
        try:
            await self._tick_forever()
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # recorded for status() and wait_for_games(); the sockets stay up
            self.clock_error = exc
            log.exception("game clock stopped")
            self._games_done.set()

    async def _step(self) -> Frame:
        """One engine step, delivered: late updates now due, the frame's events, the players' own updates,
        due disconnects."""
        engine, hub = self.engine, self.app.hub
        await hub.on_step(engine.game_time)  # the time of this step (advance moves it to the next one's)
        frame = engine.advance(now_ms())
        await hub.deliver(frame.emissions)
        if frame.player_updates and hub.by_player:
            desk = engine.desk
            for player_id in hub.players_online():
                await hub.to_player(
                    player_id, "gameStatePlayerUpdate", desk.game_state_player_update(player_id)
                )
        if self._disconnect_faults:
            await hub.apply_disconnect_faults(engine.game_time)
        self.frames += 1
        if frame.wait is None and not self._games_done.is_set():
            await hub.on_step(math.inf)  # no more steps to release what is still held
            self._games_done.set()
            log.info("no more games to play (%d played); still serving", engine.games_started)
        return frame

    async def step(self, count: int = 1) -> Frame:
        """Manual clock (``ServerConfig(manual_clock=True)``): run ``count`` steps now; returns the last."""
        frame = Frame(wait=None)
        for _ in range(count):
            frame = await self._step()
            if frame.wait is None:
                break
        return frame

    async def step_until(self, condition: Callable[[GameEngine], bool], max_steps: int = 1_000_000) -> Frame:
        """Manual clock: step until ``condition(engine)`` holds after a step (or the games run out)."""
        frame = Frame(wait=None)
        for _ in range(max_steps):
            frame = await self._step()
            if condition(self.engine) or frame.wait is None:
                return frame
        raise TimeoutError(f"condition not met in {max_steps} steps")

    async def _tick_forever(self) -> None:
        loop = asyncio.get_running_loop()
        speed = self.config.speed
        max_lag = MAX_LAG_GAME_S / speed
        next_at = yield_at = loop.time()
        while True:
            frame = await self._step()
            if frame.wait is None:
                return
            next_at += frame.wait / speed
            now = loop.time()
            delay = next_at - now
            if delay >= MIN_SLEEP_S:
                await asyncio.sleep(delay)
                yield_at = loop.time() + BATCH_S
            elif now >= yield_at:
                # Behind schedule (or steps too short to sleep for): keep producing, but let the sockets
                # write every BATCH_S. Each socket's writer then wakes once per batch instead of once per
                # step, which is what makes high speeds affordable.
                if delay < -max_lag:
                    next_at = now
                await asyncio.sleep(0)
                yield_at = loop.time() + BATCH_S


async def serve_until_stopped(
    config: ServerConfig,
    on_ready: Callable[[RugsServer], None],
    on_games_done: Callable[[RugsServer], None] | None = None,
) -> None:
    """Run until SIGINT/SIGTERM (the CLI's main loop); ``on_games_done`` when the games run out."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    async with RugsServer(config) as server:
        on_ready(server)

        async def notify() -> None:
            await server._games_done.wait()
            if on_games_done is not None:
                on_games_done(server)

        watcher = asyncio.create_task(notify())
        await stop.wait()
        watcher.cancel()


def _cancel_leftovers(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the tasks still pending on the server's own loop before it is closed, as ``asyncio.run`` does.

    engineio's server starts a ping task per socket (``AsyncSocket._send_ping``, asleep for the ping
    interval) and closing the socket does not cancel it; a loop closed with it pending makes Python print
    "Task was destroyed but it is pending!" when the task is collected."""
    tasks = asyncio.all_tasks(loop)
    for task in tasks:
        task.cancel()
    if tasks:  # gather() of nothing looks for the thread's current loop, and this thread has none
        loop.run_until_complete(asyncio.gather(*tasks, return_exceptions=True))
    loop.run_until_complete(loop.shutdown_asyncgens())


class ServerThread:
    """A :class:`RugsServer` on its own event loop in a background thread, for synchronous code."""

    def __init__(self, config: ServerConfig | None = None) -> None:
        self.config = config or ServerConfig()
        self.server: RugsServer | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 30.0) -> ServerThread:
        self._thread = threading.Thread(target=self._main, name="rugs-serve", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError("the server did not start in time")
        if self._error is not None:
            raise RuntimeError("the server failed to start") from self._error
        return self

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self.server = RugsServer(self.config)
            loop.run_until_complete(self.server.start())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(self.server.stop())
        _cancel_leftovers(loop)
        loop.close()

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._thread is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        assert self.server is not None, "not started"
        return self.server.url

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The server's event loop (for ``asyncio.run_coroutine_threadsafe``)."""
        assert self._loop is not None, "not started"
        return self._loop

    def order(self, player_id: str, event: str, payload: Any, timeout: float = 30.0) -> dict[str, Any]:
        """:meth:`RugsServer.order` from synchronous code; returns the ack."""
        assert self.server is not None, "not started"
        fut = asyncio.run_coroutine_threadsafe(self.server.order(player_id, event, payload), self.loop)
        return fut.result(timeout)

    def call(self, fn: Callable[[RugsServer], T], timeout: float = 30.0) -> T:
        """Run ``fn(server)`` on the server's loop (a consistent view: no step runs meanwhile)."""
        assert self._loop is not None and self.server is not None, "not started"
        server = self.server

        async def run() -> T:
            return fn(server)

        return asyncio.run_coroutine_threadsafe(run(), self._loop).result(timeout)

    def wait_for_games(self, count: int, timeout: float = 60.0) -> None:
        assert self._loop is not None and self.server is not None, "not started"
        fut = asyncio.run_coroutine_threadsafe(self.server.wait_for_games(count, timeout), self._loop)
        fut.result(timeout + 5)
