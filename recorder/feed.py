"""The live feed: Socket.IO connections with reconnection, a stale-feed watchdog and authentication.

Each :class:`FeedConnection` runs one python-socketio ``AsyncClient`` (its own reconnection is off: this
loop does it, so every connect, disconnect and failure is seen and journaled). Every event the server sends
reaches the callback, with all its arguments, through the catch-all handler, in the order received on that
connection: nothing is filtered, dropped or rate-limited here. ``connect`` and ``disconnect`` are reported
as events too (as in the raw captures).

Reconnection: right away after a connection that had worked (it received events: the server or the network
dropped it), and with exponential backoff (``reconnect_delay`` doubling up to ``reconnect_max``, with
jitter) while attempts
fail. The watchdog drops and reopens a connection that has received nothing for ``stale_after`` seconds.

Authentication (``AuthOptions``): after connecting, emit ``event`` (default ``authenticate``) with the
payload template in which the string ``"{token}"`` is replaced by the token (default ``{"token":
"{token}"}``, what ``rugs serve`` expects), preceded by a trace object like the web client's; optionally the
same payload also goes in the Socket.IO ``auth`` of the connection. The ack is reported as ``@authenticate``
(it holds the player id, never the token). The token is never logged.

The connected client: :attr:`FeedConnection.client` is the python-socketio ``AsyncClient`` of the
connection while it is up (None otherwise), for callers that send on the same socket (the live player's
orders). It is set before the ``connect`` event is reported and cleared before ``disconnect`` is;
``on_connected(client)``, when given, is called at that moment too, before the authentication is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from recorder.health import FeedHealth

log = logging.getLogger(__name__)
DEFAULT_URL = "https://backend.rugs.fun?frontend-version=1.0"
DEFAULT_HEADERS = {"Origin": "https://rugs.fun"}
STABLE_AFTER = 5.0  # seconds up after which a drop is retried at once
# (connection, event, args, the args' JSON text as received or None)
EventCallback = Callable[[int, str, tuple[Any, ...], str | None], None]
ConnectedCallback = Callable[[Any], None]  # called with the connected python-socketio AsyncClient
_CLIENT: Any = None


@dataclass(slots=True)
class AuthOptions:
    token: str
    event: str = "authenticate"
    payload: Any = field(default_factory=lambda: {"token": "{token}"})
    in_connect: bool = False
    trace: bool = True

    def render(self) -> Any:
        """The payload with the token put in place of every ``"{token}"`` string."""

        def fill(value: Any) -> Any:
            if isinstance(value, str):
                return value.replace("{token}", self.token)
            if isinstance(value, dict):
                return {k: fill(v) for k, v in value.items()}
            if isinstance(value, list):
                return [fill(v) for v in value]
            return value

        return fill(self.payload)

    def __repr__(self) -> str:  # never show the token
        return f"AuthOptions(event={self.event!r}, in_connect={self.in_connect})"


@dataclass(slots=True)
class FeedOptions:
    url: str = DEFAULT_URL
    headers: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_HEADERS))
    transports: list[str] | None = field(default_factory=lambda: ["websocket"])
    auth: AuthOptions | None = None
    stale_after: float = 15.0
    connect_timeout: float = 10.0
    reconnect_delay: float = 0.5
    reconnect_max: float = 30.0


def _client_class() -> Any:
    """python-socketio's client, remembering the raw text of the message being handled: the journal then
    stores the arguments exactly as received instead of encoding them again (the costliest step)."""
    global _CLIENT
    if _CLIENT is None:
        import socketio

        class RawTextClient(socketio.AsyncClient):  # type: ignore[misc]
            raw: str | None = None

            async def _handle_eio_message(self, data: Any) -> None:
                self.raw = data if isinstance(data, str) else None
                try:
                    await super()._handle_eio_message(data)
                finally:
                    self.raw = None

        _CLIENT = RawTextClient
    return _CLIENT


def args_text(raw: str | None) -> str | None:
    """The JSON array of an EVENT packet's arguments, cut from its raw text (``2/ns,12["name",a,b]`` ->
    ``[a,b]``); None when the packet is not a plain event (then the arguments are encoded again)."""
    if not raw or raw[0] != "2":
        return None
    i = 1
    if raw.startswith("/", 1):
        i = raw.find(",", 1) + 1
        if i == 0:
            return None
    while i < len(raw) and raw[i].isdigit():
        i += 1
    if not raw.startswith('["', i):
        return None
    try:
        _, end = json.decoder.scanstring(raw, i + 2)
    except ValueError:
        return None
    rest = raw[end:].lstrip()
    if rest.startswith("]"):
        return "[]"
    return "[" + rest[1:] if rest.startswith(",") else None


def _trace() -> dict[str, Any]:
    return {"__trace": True, "traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"}


class FeedConnection:
    """One connection to the feed, kept open until ``stop`` is set (see the module docstring)."""

    def __init__(
        self,
        index: int,
        options: FeedOptions,
        on_event: EventCallback,
        health: FeedHealth,
        *,
        on_connected: ConnectedCallback | None = None,
    ) -> None:
        self.index = index
        self.options = options
        self.on_event = on_event
        self.health = health
        self.on_connected = on_connected
        self.failures = 0
        self.client: Any = None  # the connected python-socketio AsyncClient, None while not connected

    def _deliver(self, event: str, args: tuple[Any, ...], text: str | None = None) -> None:
        self.health.on_event(self.index, asyncio.get_running_loop().time())
        self.on_event(self.index, event, args, text)

    async def run(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            events_before = self.health.conn(self.index).events
            up_since = await self._session(stop)
            if stop.is_set():
                break
            worked = self.health.conn(self.index).events > events_before + 1  # more than our own "connect"
            if up_since is not None and (worked or loop.time() - up_since >= STABLE_AFTER):
                self.failures = 0
                continue  # it had been working (the server or the network dropped it): reconnect at once
            self.failures += 1
            delay = min(self.options.reconnect_max, self.options.reconnect_delay * 2 ** (self.failures - 1))
            delay *= random.uniform(0.8, 1.2)
            log.info("connection %d: reconnecting in %.2f s", self.index, delay)
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)

    async def _session(self, stop: asyncio.Event) -> float | None:
        """Connect, watch until the connection ends (or goes stale, or we stop); returns when it came up."""
        loop = asyncio.get_running_loop()
        opts = self.options
        # The standard json module: engineio's wrapper parses every integer in Python (slow), and Python
        # 3.11 already refuses absurdly long integers.
        sio = _client_class()(
            reconnection=False, logger=False, engineio_logger=False, json=json, handle_sigint=False
        )
        ended = asyncio.Event()

        async def catch_all(event: str, *args: Any) -> None:
            self._deliver(event, args, args_text(sio.raw))

        async def on_disconnect(reason: Any = None) -> None:
            if self.client is sio:
                self.client = None
            self.health.on_disconnect(self.index)
            self._deliver("disconnect", (str(reason),) if reason is not None else ())
            ended.set()

        sio.on("*", catch_all)
        sio.on("disconnect", on_disconnect)
        auth = opts.auth.render() if opts.auth is not None and opts.auth.in_connect else None
        try:
            await sio.connect(
                opts.url,
                headers=dict(opts.headers),
                auth=auth,
                transports=opts.transports,
                wait_timeout=opts.connect_timeout,
            )
        except Exception as exc:  # socketio.exceptions.ConnectionError, OSError, timeouts, bad URLs...
            self.health.on_failure(self.index)
            log.warning("connection %d: cannot connect: %s", self.index, _clean(exc, opts))
            with contextlib.suppress(Exception):
                await sio.disconnect()
            return None
        up_since = loop.time()
        self.health.on_connect(self.index, up_since)
        self.client = sio
        if self.on_connected is not None:
            try:
                self.on_connected(sio)
            except Exception:  # the caller's bug must not take the connection down
                log.exception("connection %d: the on_connected callback failed", self.index)
        self._deliver("connect", ())
        log.info("connection %d: connected", self.index)
        if opts.auth is not None:
            await self._authenticate(sio)
        waits = {asyncio.ensure_future(stop.wait()), asyncio.ensure_future(ended.wait())}
        try:
            while True:
                done, _ = await asyncio.wait(waits, timeout=0.25, return_when=asyncio.FIRST_COMPLETED)
                if done:
                    break
                last = self.health.conn(self.index).last_event or up_since
                if loop.time() - last > opts.stale_after:
                    self.health.on_stale(self.index)
                    log.warning(
                        "connection %d: nothing received for %.1f s; reconnecting",
                        self.index,
                        opts.stale_after,
                    )
                    break
        finally:
            for task in waits:
                task.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(sio.disconnect(), 5.0)
        if self.client is sio:
            self.client = None
        if not ended.is_set():  # we closed it ourselves: no disconnect callback may come
            self.health.on_disconnect(self.index)
            self._deliver("disconnect", ("recorder",))
        return up_since

    async def _authenticate(self, sio: Any) -> None:
        """Emit the authentication; its ack is reported when it comes (never waited for: a connection
        dropped meanwhile must be replaced at once, not after a timeout)."""
        auth = self.options.auth
        assert auth is not None
        payload = auth.render()
        data = (_trace(), payload) if auth.trace else payload

        def acked(*args: Any) -> None:
            ack = args[-1] if args else None
            self.on_event(self.index, "@authenticate", (ack,), None)
            if isinstance(ack, dict) and ack.get("success") is False:
                log.error("connection %d: authentication refused: %s", self.index, ack.get("reason"))

        try:
            await sio.emit(auth.event, data, callback=acked)
        except Exception as exc:
            log.error("connection %d: cannot send the authentication: %s", self.index, type(exc).__name__)


def _clean(exc: BaseException, opts: FeedOptions) -> str:
    """An error message with the token (should it ever appear) removed."""
    text = f"{type(exc).__name__}: {exc}"
    if opts.auth is not None and opts.auth.token:
        text = text.replace(opts.auth.token, "<redacted>")
    return text
