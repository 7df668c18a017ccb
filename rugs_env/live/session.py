"""LiveSession: one connection to the live feed, its broker, and the recording of everything, on an event
loop of its own (a background thread), for synchronous callers (the environment, the play loop).

* The connection is the recorder's :class:`~recorder.feed.FeedConnection` (reconnection with backoff,
  stale-feed watchdog, authentication on every connect); orders go out on its connected client
  (``FeedConnection.client``), the same authenticated socket.
* Every event received is, in order: journaled (:class:`~recorder.journal.JournalWriter`, the token
  scrubbed), fed to the recorder's :class:`~recorder.pipeline.RecorderPipeline` (game files, and the
  authenticated player's session file with its ``playerUpdate`` verification: the bot's play is recorded
  exactly as a human's), then to the market tracker and the broker. Waiters are woken after each event.
* ``mode="live"``: the :class:`~rugs_env.brokers.socket_broker.SocketBroker` (needs a token);
  ``mode="paper"``: the :class:`~rugs_env.live.paper.PaperBroker` (simulated fills; the session file is
  written from its fills, marked ``agent.mode: paper``).
* The broker's orders, acks, unknown fates, reconciliations and halts are journaled as notes
  (``@order``, ``@order_result``, ``@order_unknown``, ``@reconciled``, ``@halt``); at the end the session
  file's meta gets an ``agent`` block (mode, policy, limits, order counts, verification).

The token is only ever revealed to the socket (the ``authenticate`` payload); exceptions raised from here
are scrubbed (:class:`LiveError`), and a redacting log filter is installed while the session runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from recorder.events import (
    Malformed,
    parse_game_state,
    parse_player_update,
    parse_sidebet,
    parse_trade,
    parse_username_status,
    payload_of,
)
from recorder.feed import AuthOptions, FeedConnection, FeedOptions
from recorder.health import FeedHealth
from rugs_env.brokers.orders import NotConnected
from rugs_env.brokers.risk import RiskGuard, TokenBucket
from rugs_env.brokers.socket_broker import SocketBroker
from rugs_env.live.market import MarketTracker
from rugs_env.live.options import LiveError, LiveOptions
from rugs_env.live.paper import PaperBroker
from rugs_env.live.recording import LiveRecording
from rugs_env.secrets import install_redaction, remove_redaction, scrub

log = logging.getLogger(__name__)
AUTH_TIMEOUT = 10.0  # seconds a connection may wait for the answer to its authentication


class LiveSession:
    """See the module docstring. ``start()`` connects (and authenticates); ``close()`` saves everything."""

    def __init__(self, options: LiveOptions) -> None:
        options.validate()
        self.options = options
        self.market = MarketTracker()
        self.health = FeedHealth()
        guard = RiskGuard(options.limits, TokenBucket(options.rate, options.burst))
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]  # set by start()
        if options.mode == "live":
            self.broker: SocketBroker | PaperBroker = SocketBroker(
                self.market,
                self,
                guard,
                ack_timeout=options.ack_timeout,
                reconcile_grace=options.reconcile_grace,
                tolerance=options.tolerance,
                patience=options.patience,
            )
        else:
            self.broker = PaperBroker(self.market, guard, options.paper_cash)
        self.lock = self.broker.lock
        self.cond = threading.Condition(self.lock)
        self.recording = LiveRecording(options, self) if options.out is not None else None
        self.events = 0
        self.errors = 0
        self.malformed = 0
        self._conn: FeedConnection | None = None
        self._thread: threading.Thread | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._redaction = None
        self.closed = False

    # -- life ----------------------------------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> LiveSession:
        """Connect (and authenticate, in live mode); raises :class:`LiveError` if that fails in time."""
        if self._thread is not None:
            return self
        self._redaction = install_redaction([self.options.token])
        if self.recording is not None:
            self.recording.open()
        self._thread = threading.Thread(target=self._main, name="rugs-live", daemon=True)
        self._thread.start()
        if not self._started.wait(10.0):
            raise LiveError("the live session's event loop did not start")
        ok = self.wait_until(self._ready_or_refused, timeout)
        error = getattr(self.broker, "auth_error", None)
        if error is not None or not ok:
            why = (
                f"authentication refused ({error})"
                if error is not None
                else f"no {'authenticated, synced ' if self.options.mode == 'live' else ''}feed from "
                f"{self.options.url} within {timeout:g} s"
            )
            self.close()
            raise LiveError(scrub(why, [self.options.token]))
        return self

    def _ready_or_refused(self) -> bool:
        if getattr(self.broker, "auth_error", None) is not None:
            return True
        if self.options.mode == "paper":
            return self.market.game_id is not None
        broker = self.broker
        assert isinstance(broker, SocketBroker)
        return broker.mirror.ready and broker.authenticated and not broker._needs_sync

    def close(self) -> None:
        """Stop the connection, then save: games and sessions written, indexes rebuilt, journal closed."""
        if self.closed:
            return
        self.closed = True
        if self._thread is not None and self.loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):
                self.loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(20.0)
        with contextlib.suppress(Exception):
            self.broker.close()
        if self.recording is not None:
            try:
                self.recording.close()
            except Exception:
                self.errors += 1
                log.exception("saving the live session's recordings failed")
        remove_redaction(self._redaction)

    def __enter__(self) -> LiveSession:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _main(self) -> None:
        loop = asyncio.new_event_loop()
        self.loop = loop
        try:
            loop.run_until_complete(self._run())
        finally:
            with contextlib.suppress(Exception):  # the socket library's own tasks (pings, readers)
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            with contextlib.suppress(Exception):
                loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    async def _run(self) -> None:
        self._stop = asyncio.Event()
        o = self.options
        auth = None
        if o.mode == "live" and o.token is not None:
            auth = AuthOptions(token=o.token.reveal(), event=o.auth_event, payload=o.auth_payload)
        feed = FeedOptions(url=o.url, headers=dict(o.headers), transports=o.transports, auth=auth,
                           stale_after=o.stale_after, connect_timeout=o.connect_timeout,
                           reconnect_delay=o.reconnect_delay, reconnect_max=o.reconnect_max)  # fmt: skip
        self._conn = FeedConnection(0, feed, self._on_event, self.health, on_connected=self._connected)
        task = asyncio.create_task(self._conn.run(self._stop), name="rugs-live-feed")
        watchdog = asyncio.create_task(self._auth_watchdog(), name="rugs-live-auth-watchdog")
        self._started.set()
        await self._stop.wait()
        watchdog.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, 10.0)

    def _connected(self, client: Any) -> None:
        """A connection is up (on the loop): in live mode its authentication is about to be sent."""
        if self.options.mode == "live":
            self.broker.begin_auth()

    async def _auth_watchdog(self) -> None:
        """A connection whose authentication never got an answer is replaced (live mode): without it no
        order could ever be sent on it, while the feed itself looks healthy to the stale-feed watchdog."""
        if self.options.mode != "live":
            return
        waiting_since: float | None = None
        while True:
            await asyncio.sleep(0.5)
            broker = self.broker
            stuck = (
                self._conn is not None
                and self._conn.client is not None
                and not broker.authenticated
                and broker.auth_error is None
            )
            now = time.monotonic()
            if not stuck:
                waiting_since = None
            elif waiting_since is None:
                waiting_since = now
            elif now - waiting_since > AUTH_TIMEOUT:
                log.warning("no answer to the authentication in %.0f s: reconnecting", AUTH_TIMEOUT)
                waiting_since = None
                self.force_reconnect()

    # -- waiting (any thread but the loop's) -----------------------------------------------------------------
    def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``predicate()`` (evaluated with the lock held, after each event) holds."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate():
                left = deadline - time.monotonic()
                if left <= 0 or self.closed:
                    return predicate()
                self.cond.wait(min(left, 0.25))
            return True

    # -- the transport the socket broker uses (on the loop) ------------------------------------------------
    async def emit(self, event: str, payload: Any, callback: Callable[..., None]) -> None:
        client = self._conn.client if self._conn is not None else None
        if client is None or not getattr(client, "connected", False):
            raise NotConnected()
        data = tuple(payload) if isinstance(payload, (tuple, list)) else payload
        try:
            await client.emit(event, data, callback=callback)
        except Exception as exc:
            import socketio

            if isinstance(exc, socketio.exceptions.BadNamespaceError):
                raise NotConnected() from None
            raise

    async def reauthenticate(self) -> bool:
        """Authenticate again on the current socket: the server replies with a fresh ``playerUpdate``."""
        client = self._conn.client if self._conn is not None else None
        token = self.options.token
        if client is None or not getattr(client, "connected", False) or token is None:
            return False
        auth = AuthOptions(
            token=token.reveal(), event=self.options.auth_event, payload=self.options.auth_payload
        )
        from rugs_env.brokers.orders import trace

        def acked(*args: Any) -> None:
            ack = args[-1] if args else None
            self.note("reauthenticate", {"success": isinstance(ack, dict) and ack.get("success") is True})
            with self.cond:
                self.broker.on_auth_ack(ack)
                self.cond.notify_all()

        self.broker.begin_auth()
        try:
            await client.emit(auth.event, (trace(), auth.render()), callback=acked)
        except Exception as exc:
            log.warning("re-authentication could not be sent: %s", type(exc).__name__)
            return False
        return True

    def force_reconnect(self) -> None:
        client = self._conn.client if self._conn is not None else None
        if client is not None:
            self.note("force_reconnect", {})
            asyncio.ensure_future(client.disconnect(), loop=self.loop)

    def note(self, kind: str, data: dict[str, Any]) -> None:
        if self.recording is not None:
            self.recording.note(kind, data)

    def inject(self, event: str, payload: dict[str, Any]) -> None:
        """A fill learnt by reconciliation: noted in the journal and given to the recorder's pipeline."""
        if self.recording is not None:
            self.recording.inject(event, payload)

    # -- events (on the loop) ------------------------------------------------------------------------------
    def _on_event(self, conn: int, event: str, args: tuple[Any, ...], text: str | None = None) -> None:
        self.events += 1
        if self.recording is not None:
            self.recording.feed(event, args, conn, text)
        with self.cond:
            try:
                self._dispatch(event, args)
            except Malformed:
                self.malformed += 1
            except Exception:  # a bug must not stop a live session: count it, keep the traceback in the log
                self.errors += 1
                log.exception("error while handling %s (skipped)", event)
            self.cond.notify_all()

    def _dispatch(self, event: str, args: tuple[Any, ...]) -> None:
        broker = self.broker
        payload = payload_of(args)
        if event == "gameStateUpdate":
            for tr in self.market.on_state(parse_game_state(payload)):
                broker.on_transition(tr)
        elif event == "standard/newTrade":
            broker.on_trade(parse_trade(payload))
        elif event == "playerUpdate":
            broker.on_player_update(parse_player_update(payload), payload)
        elif event == "usernameStatus":
            broker.on_identity(parse_username_status(payload).player_id)
        elif event == "currentSidebet":
            bet = parse_sidebet(payload, default_kind="placed")
            (broker.on_sidebet if bet.kind == "placed" else broker.on_sidebet_result)(bet)
        elif event == "currentSidebetResult":
            broker.on_sidebet_result(parse_sidebet(payload, default_kind="payout"))
        elif event == "connect":
            broker.on_connect()
        elif event == "disconnect":
            broker.on_disconnect()
        elif event == "@authenticate":
            broker.on_auth_ack(payload)

    # -- views ---------------------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        up, _ = self.health.up()
        return up > 0

    def summary(self) -> dict[str, Any]:
        out = dict(self.broker.summary())
        out.update({"events": self.events, "malformed": self.malformed, "errors": self.errors,
                    "reconnects": self.health.reconnects, "stale": self.health.stale})  # fmt: skip
        return out

    def __repr__(self) -> str:
        return f"LiveSession(url={self.options.url!r}, mode={self.options.mode!r})"


def now() -> datetime:
    return datetime.now(UTC)


__all__ = ["LiveError", "LiveOptions", "LiveSession"]
