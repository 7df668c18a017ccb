"""The feed connection against the local server over loopback: the connected client is public (the live
player sends its orders on it), and stopping leaves no task behind (no "Task was destroyed but it is
pending!" at exit)."""

from __future__ import annotations

import asyncio
import gc
import logging
from typing import Any

import pytest

from recorder.feed import FeedConnection, FeedOptions
from recorder.health import FeedHealth
from rugs_env.server import ServerConfig, ServerThread


def test_connected_client_is_public_and_nothing_is_left_pending(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger="asyncio")
    seen: list[tuple[str, Any]] = []
    hooked: list[Any] = []

    async def watch(url: str) -> FeedConnection:
        stop = asyncio.Event()
        conn: FeedConnection

        def on_event(index: int, event: str, args: tuple[Any, ...], text: str | None) -> None:
            seen.append((event, conn.client))
            if event == "gameStateUpdate" and sum(e == event for e, _ in seen) >= 3:
                stop.set()

        conn = FeedConnection(
            0, FeedOptions(url=url, headers={}), on_event, FeedHealth(), on_connected=hooked.append
        )
        await asyncio.wait_for(conn.run(stop), 30.0)
        return conn

    server = ServerThread(ServerConfig(speed=20.0, seed=3)).start()
    try:
        conn = asyncio.run(watch(server.url))
    finally:
        server.stop()
    assert hooked and all(type(client).__name__ == "RawTextClient" for client in hooked)
    assert seen[0] == ("connect", hooked[0]), "the client is set before the connect event is reported"
    assert all(client in hooked for event, client in seen if event != "disconnect")
    assert seen[-1] == ("disconnect", None) and conn.client is None, "cleared before disconnect is reported"
    gc.collect()  # a task left pending on a closed loop is reported when it is collected
    assert not [r for r in caplog.records if "destroyed but it is pending" in r.getMessage()]
