"""Helpers for tests that talk to the server over real sockets (also handy for recorder/player tests).

- :class:`FeedClient`: a python-socketio ``AsyncClient`` that records every event it receives, in order,
  with all its arguments, and can wait for one matching a predicate.
- :func:`find_games`: deterministic (seed, game id) pairs whose price path satisfies a condition, to pin a
  test's games (``ServerConfig(games=...)``): e.g. a game that rugs within a sidebet's 40-tick window.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import socketio

from rugs_env.game.prng import GamePath, generate

TRACE = {"__trace": True, "traceparent": "00-0123456789abcdef0123456789abcdef-0123456789abcdef-01"}


@dataclass(slots=True)
class Received:
    """One event as received: its name and every argument (payload last)."""

    event: str
    args: tuple[Any, ...]
    index: int

    @property
    def payload(self) -> Any:
        return self.args[-1] if self.args else None


@dataclass(slots=True)
class FeedClient:
    """Connects to a server, records everything, sends orders with acks."""

    url: str
    timeout: float = 20.0
    events: list[Received] = field(default_factory=list)
    sio: socketio.AsyncClient = field(default_factory=lambda: socketio.AsyncClient(reconnection=False))
    _changed: asyncio.Event = field(default_factory=asyncio.Event)

    def __post_init__(self) -> None:
        self.sio.on("*", self._record)

    async def _record(self, event: str, *args: Any) -> None:
        self.events.append(Received(event, args, len(self.events)))
        self._changed.set()

    async def connect(self, auth: dict[str, Any] | None = None) -> FeedClient:
        await self.sio.connect(self.url, transports=["websocket"], auth=auth, wait_timeout=self.timeout)
        return self

    async def close(self) -> None:
        await self.sio.disconnect()

    async def __aenter__(self) -> FeedClient:
        return await self.connect()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def call(self, event: str, payload: Any = None, *, trace: bool = True) -> Any:
        """Emit with an ack (trace object first, like the web client) and return the ack's payload.

        The ack is also recorded in :attr:`events` as ``ack:<event>``, in arrival order, so a test can
        check which events came before it.
        """
        data: Any = (TRACE, payload) if trace else payload
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def on_ack(*args: Any) -> None:
            self.events.append(Received(f"ack:{event}", args, len(self.events)))
            self._changed.set()
            if not done.done():
                done.set_result(args[-1] if args else None)

        await self.sio.emit(event, data, callback=on_ack)
        return await asyncio.wait_for(done, self.timeout)

    async def authenticate(self, token: str) -> Any:
        return await self.call("authenticate", {"token": token})

    def of(self, event: str) -> list[Received]:
        return [r for r in self.events if r.event == event]

    def payloads(self, event: str) -> list[Any]:
        return [r.payload for r in self.events if r.event == event]

    async def wait_for(
        self, predicate: Callable[[Received], bool], *, after: int = 0, timeout: float | None = None
    ) -> Received:
        """The first event at index >= ``after`` satisfying ``predicate`` (waits for it to arrive)."""

        async def scan() -> Received:
            i = after
            while True:
                while i < len(self.events):
                    if predicate(self.events[i]):
                        return self.events[i]
                    i += 1
                self._changed.clear()
                await self._changed.wait()

        return await asyncio.wait_for(scan(), timeout or self.timeout)

    async def wait_state(
        self, predicate: Callable[[dict[str, Any]], bool], *, after: int = 0, timeout: float | None = None
    ) -> Received:
        """The first ``gameStateUpdate`` (a dict payload) satisfying ``predicate``."""
        return await self.wait_for(
            lambda r: r.event == "gameStateUpdate" and isinstance(r.payload, dict) and predicate(r.payload),
            after=after,
            timeout=timeout,
        )


def find_games(
    predicate: Callable[[GamePath], bool], count: int = 1, *, day: str = "20250101", start: int = 0
) -> list[tuple[str, str]]:
    """``count`` deterministic ``(server_seed, game_id)`` pairs whose path satisfies ``predicate``."""
    found: list[tuple[str, str]] = []
    i = start
    while len(found) < count:
        seed, game_id = f"{i:064x}", f"{day}-{i:016x}"
        if predicate(generate(seed, game_id)):
            found.append((seed, game_id))
        i += 1
        if i - start > 1_000_000:  # pragma: no cover - a predicate nothing satisfies
            raise ValueError("no game satisfies the predicate in a million tries")
    return found
