"""Feed health: tick-interval statistics, latency spikes, connection changes and the stale-feed watchdog's
findings, for the progress line and the journal (``@health`` notes).

Nothing here drops, delays or rate-limits a message: it only watches. Tick intervals are measured between
the first arrivals of consecutive ticks of a game (receive times), over a rolling window, so memory stays
flat however long the recorder runs. A *spike* is an interval longer than ``spike_after`` seconds (1 s by
default: about four ticks of the real game).
"""

from __future__ import annotations

import statistics
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

WINDOW = 1024


@dataclass(slots=True)
class ConnectionHealth:
    """One feed connection's history."""

    connected: bool = False
    connects: int = 0
    disconnects: int = 0
    failures: int = 0  # connection attempts that failed
    stale: int = 0  # times the watchdog found the feed silent and reconnected
    events: int = 0
    last_event: float | None = None  # loop time of the last event


@dataclass(slots=True)
class FeedHealth:
    """Watches the feed (see the module docstring)."""

    spike_after: float = 1.0
    intervals: deque[float] = field(default_factory=lambda: deque(maxlen=WINDOW))
    ticks: int = 0
    spikes: int = 0
    skipped_ticks: int = 0  # ticks never seen between two seen ones (dropped messages)
    max_interval: float = 0.0
    connections: dict[int, ConnectionHealth] = field(default_factory=dict)
    _last: tuple[str, int, datetime] | None = None

    def conn(self, index: int) -> ConnectionHealth:
        if index not in self.connections:
            self.connections[index] = ConnectionHealth()
        return self.connections[index]

    # -- observations --------------------------------------------------------------------------------------
    def on_tick(self, at: datetime, game_id: str, tick: int) -> None:
        """The first arrival of a running tick (from the pipeline)."""
        self.ticks += 1
        last, self._last = self._last, (game_id, tick, at)
        if last is None or last[0] != game_id or tick <= last[1]:
            return
        if tick > last[1] + 1:
            self.skipped_ticks += tick - last[1] - 1
            return
        interval = (at - last[2]).total_seconds()
        self.intervals.append(interval)
        self.max_interval = max(self.max_interval, interval)
        if interval > self.spike_after:
            self.spikes += 1

    def on_event(self, index: int, now: float) -> None:
        c = self.conn(index)
        c.events += 1
        c.last_event = now

    def on_connect(self, index: int, now: float) -> None:
        c = self.conn(index)
        c.connected, c.last_event = True, now
        c.connects += 1

    def on_disconnect(self, index: int) -> None:
        c = self.conn(index)
        if c.connected:
            c.disconnects += 1
        c.connected = False

    def on_failure(self, index: int) -> None:
        self.conn(index).failures += 1

    def on_stale(self, index: int) -> None:
        self.conn(index).stale += 1

    # -- views ---------------------------------------------------------------------------------------------
    def tick_stats(self) -> dict[str, float | int]:
        data = list(self.intervals)
        if not data:
            return {"ticks": self.ticks, "spikes": self.spikes, "skipped": self.skipped_ticks}
        ordered = sorted(data)
        return {
            "ticks": self.ticks,
            "median_s": round(statistics.median(ordered), 4),
            "mean_s": round(statistics.fmean(ordered), 4),
            "p95_s": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))], 4),
            "max_s": round(self.max_interval, 4),
            "spikes": self.spikes,
            "skipped": self.skipped_ticks,
        }

    @property
    def reconnects(self) -> int:
        return sum(max(0, c.connects - 1) for c in self.connections.values())

    @property
    def stale(self) -> int:
        return sum(c.stale for c in self.connections.values())

    def up(self) -> tuple[int, int]:
        return sum(1 for c in self.connections.values() if c.connected), len(self.connections)

    def snapshot(self) -> dict[str, Any]:
        """Everything, as plain JSON data (for the journal's ``@health`` notes)."""
        return {
            "ticks": self.tick_stats(),
            "connections": {
                str(i): {
                    "connected": c.connected,
                    "connects": c.connects,
                    "disconnects": c.disconnects,
                    "failures": c.failures,
                    "stale": c.stale,
                    "events": c.events,
                }
                for i, c in sorted(self.connections.items())
            },
        }
