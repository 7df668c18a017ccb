"""Live recording: feed connections -> journal -> pipeline -> files, with progress and a clean shutdown.

:class:`LiveRecorder` wires the parts together. For every event a connection receives, in this order: the
receive time is taken (UTC), the event is appended to the journal, then fed to the
:class:`~recorder.pipeline.RecorderPipeline` (which writes finished games and sessions). The recorder stops
after ``games`` games watched live were recorded, after ``duration`` seconds, or on SIGINT/SIGTERM (a second
signal stops at once); stopping saves what is complete (games waiting for their reveal are saved
unverified, sessions rewritten, indexes rebuilt) and closes the journal. Several ``connections`` watch the
same feed for redundancy: an event missed by one (a drop, a reconnect) is usually seen by another, and the
pipeline uses each event once.

On start, temporary files older than a minute (left by a killed recorder) are removed and stale daily
indexes rebuilt, so a restart continues where the killed run left off.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from recorder.feed import FeedConnection, FeedOptions
from recorder.files import index_status, rebuild_index
from recorder.health import FeedHealth
from recorder.journal import JournalWriter
from recorder.pipeline import PipelineConfig, RecorderPipeline
from recorder.sink import KEEP_KNOWN, RecordingSink

log = logging.getLogger(__name__)
RECENT_KEYS = 4096  # recent events remembered to recognise copies from other connections
# Per-connection events are never copies of each other; the authentication result is per connection too.
_CONNECTION_EVENTS = frozenset({"connect", "disconnect", "@authenticate", "usernameStatus"})


@dataclass(slots=True)
class RecordOptions:
    out: Path = Path("recordings")
    feed: FeedOptions = field(default_factory=FeedOptions)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    games: int | None = None  # stop after this many games watched live were recorded
    duration: float | None = None  # ... or after this many seconds
    connections: int = 1
    journal: bool = True
    spike_after: float = 1.0
    index_interval: float = 30.0
    progress: str = "auto"  # auto (a live line on a terminal, else every 30 s) | off
    health_every: float = 30.0  # seconds between @health notes in the journal


@dataclass(slots=True)
class RecordSummary:
    games: int
    live_games: int
    verified: int
    unverified: int
    sessions: int
    events: int
    journal: Path | None
    reason: str


class LiveRecorder:
    """Records the live feed until told to stop (see the module docstring)."""

    def __init__(self, options: RecordOptions, *, stream: IO[str] | None = None) -> None:
        self.options = options
        self.stream = stream if stream is not None else sys.stderr
        self.health = FeedHealth(spike_after=options.spike_after)
        self.sink = RecordingSink(
            options.out, index_interval=options.index_interval, background=True, keep_known=KEEP_KNOWN
        )
        self.pipeline = RecorderPipeline(self.sink, options.pipeline, self.health)
        token = options.feed.auth.token if options.feed.auth is not None else None
        self.journal = (
            JournalWriter(
                options.out,
                secrets=[token] if token else (),
                header={
                    "url": options.feed.url,
                    "connections": options.connections,
                    "authenticated": options.feed.auth is not None,
                },
            )
            if options.journal
            else None
        )
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self.reason = "stopped"
        self._signals = 0
        self._last_health = time.monotonic()
        self._recent: OrderedDict[tuple[str, int], None] = OrderedDict()

    # -- control -------------------------------------------------------------------------------------------
    def stop(self, reason: str = "stopped") -> None:
        """Ask the recorder to stop (thread-safe)."""
        if self._loop is None or self._stop is None:
            return
        self._loop.call_soon_threadsafe(self._set_stop, reason)

    def _set_stop(self, reason: str) -> None:
        if self._stop is not None and not self._stop.is_set():
            self.reason = reason
            self._stop.set()

    def _on_signal(self, signame: str) -> None:
        self._signals += 1
        if self._signals > 1:
            log.error("second %s: stopping at once", signame)
            raise SystemExit(130)
        self._set_stop(f"{signame} received")

    # -- events --------------------------------------------------------------------------------------------
    def _on_event(self, conn: int, event: str, args: tuple[Any, ...], text: str | None = None) -> None:
        at = datetime.now(UTC)
        body = self.journal.write(at, event, args, conn, text) if self.journal is not None else text
        # The same message from several connections is handled once (every copy is journaled).
        key = (event, hash(body)) if body is not None and event not in _CONNECTION_EVENTS else None
        if key is not None and key in self._recent:
            self.pipeline.duplicate(at, event, args, conn)
        else:
            if key is not None:
                self._recent[key] = None
                if len(self._recent) > RECENT_KEYS:
                    self._recent.popitem(last=False)
            self.pipeline.feed(at, event, args, conn)
        target = self.options.games
        if target is not None and self.pipeline.games.counters.live >= target:
            self._set_stop(f"{target} games recorded")
        if self.journal is not None and time.monotonic() - self._last_health >= self.options.health_every:
            self._last_health = time.monotonic()
            self.journal.note(at, "health", self.health.snapshot())

    # -- running -------------------------------------------------------------------------------------------
    def _prepare(self) -> None:
        removed = self.sink.layout.cleanup_temp_files(60.0)
        if removed:
            log.info("removed %d temporary files left by an interrupted run", len(removed))
        for day in self.sink.layout.days():
            with contextlib.suppress(OSError, ValueError):
                if index_status(day).stale:
                    rebuild_index(day)

    async def run(self) -> RecordSummary:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.options.out.mkdir(parents=True, exist_ok=True)
        self._prepare()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self._loop.add_signal_handler(sig, self._on_signal, sig.name)
        tasks = [
            asyncio.create_task(
                FeedConnection(i, self.options.feed, self._on_event, self.health).run(self._stop),
                name=f"feed-{i}",
            )
            for i in range(max(1, self.options.connections))
        ]
        progress = asyncio.create_task(self._progress_loop(), name="progress")
        try:
            if self.options.duration is not None:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), self.options.duration)
                self._set_stop(f"{self.options.duration:g} s elapsed")
            await self._stop.wait()
        finally:
            self._stop.set()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), 10.0)
            progress.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await progress
            self._shutdown()
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    self._loop.remove_signal_handler(sig)
        return self.summary()

    def _shutdown(self) -> None:
        at = datetime.now(UTC)
        self.pipeline.finish(at)
        self.sink.close()  # flushed by finish: stops the session-writer thread
        if self.journal is not None:
            self.journal.note(at, "health", self.health.snapshot())
            self.journal.note(at, "stop", {"reason": self.reason})
            self.journal.close()
        if self.options.progress != "off":
            self._print(final=True)

    def summary(self) -> RecordSummary:
        c = self.pipeline.games.counters
        return RecordSummary(
            c.recorded,
            c.live,
            c.verified,
            c.unverified,
            len(self.pipeline.sessions),
            self.pipeline.counters.events,
            self.journal.path if self.journal else None,
            self.reason,
        )

    # -- progress ------------------------------------------------------------------------------------------
    def progress_line(self) -> str:
        g, p, h = self.pipeline.games.counters, self.pipeline, self.health
        drift = sum(s.verifier.drift_count for s in p.sessions.values() if s.verifier is not None)
        stats = h.tick_stats()
        ticks = (
            f"tick {stats['median_s']:.3f}s p95 {stats['p95_s']:.3f}s" if "median_s" in stats else "tick -"
        )
        up, total = h.up()
        bad = p.counters.malformed + p.counters.unknown
        return (
            f"games {g.live} live + {g.history} history ({g.verified} verified, {g.unverified} unverified)"
            f" | gaps filled {g.gaps_filled} | sessions {len(p.sessions)}, drift {drift}"
            f" | {ticks}, {h.spikes} spikes, {h.skipped_ticks} skipped"
            f" | conn {up}/{total}, {h.reconnects} reconnects, {h.stale} stale"
            f" | {p.counters.events} events, {bad} bad"
        )

    def _print(self, final: bool = False) -> None:
        line = self.progress_line()
        try:
            if self.stream.isatty():
                self.stream.write(f"\r\x1b[2K{line}" + ("\n" if final else ""))
            else:
                self.stream.write(f"rugs record: {line}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    async def _progress_loop(self) -> None:
        if self.options.progress == "off":
            return
        tty = False
        with contextlib.suppress(Exception):
            tty = self.stream.isatty()
        every = 0.5 if tty else 30.0
        while True:
            await asyncio.sleep(every)
            self._print()
