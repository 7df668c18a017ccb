#!/usr/bin/env python
"""How many ticks per second `rugs serve` sustains while broadcasting to connected clients.

The server runs as its own process (``rugs serve --speed max --bots 5``); this process connects N Socket.IO
clients over loopback (minimal Engine.IO v4 websocket clients: handshake, namespace connect, pong, and a
count of every event frame) and samples the server's ``GET /`` status. Reported:

- ticks/s: active ticks broadcast per wall second, and the game-time speed-up (x real time); a tick is
  250 ms of game time, so speed-up x 4 is the equivalent tick rate including cooldown/presale traffic;
- per client: events received per second, and the server's count of messages it skipped because a client
  was too far behind (bounded-backlog policy: memory stays flat whatever the clients do);
- the server's resident memory at the start and end of the measurement.

Usage: .venv/bin/python scripts/bench_server.py [--clients 10] [--bots 5] [--seconds 20] [--speed max]
With ``--speed 250`` it checks instead that the server holds 250x real time (1,000 ticks/s) steadily.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


class RawClient:
    """A minimal Socket.IO client: enough protocol to stay connected and count what arrives.

    A ``stalled`` client connects and then never reads again (its TCP window fills up): the server must
    skip it, not buffer for it.
    """

    def __init__(self, url: str, stalled: bool = False) -> None:
        self.stalled = stalled
        self.url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        self.state_messages = 0
        self.other_events = 0
        self.bytes = 0
        self.connected = asyncio.Event()

    async def run(self, session: aiohttp.ClientSession, stop: asyncio.Event) -> None:
        async with session.ws_connect(self.url, max_msg_size=0) as ws:
            await ws.receive_str()  # "0{...}" Engine.IO open
            await ws.send_str("40")  # Socket.IO connect to "/"
            if self.stalled:
                await ws.receive()  # the namespace connect reply, then silence
                self.connected.set()
                await stop.wait()
                return
            while not stop.is_set():
                msg = await ws.receive()
                if msg.type != aiohttp.WSMsgType.TEXT:
                    break
                data = msg.data
                if data == "2":
                    await ws.send_str("3")
                elif data.startswith("40"):
                    self.connected.set()
                elif data.startswith('42["gameStateUpdate"'):
                    self.state_messages += 1
                    self.bytes += len(data)
                elif data.startswith("42"):
                    self.other_events += 1
                    self.bytes += len(data)


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


async def status(session: aiohttp.ClientSession, url: str) -> dict:
    async with session.get(url + "/") as resp:
        return await resp.json()


async def measure(url: str, pid: int, clients: int, seconds: float, warmup: float, stalled: int = 0) -> dict:
    stop = asyncio.Event()
    async with aiohttp.ClientSession() as session:
        raw = [RawClient(url) for _ in range(clients)]
        stuck = [RawClient(url, stalled=True) for _ in range(stalled)]
        tasks = [asyncio.create_task(c.run(session, stop)) for c in raw + stuck]
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in stuck)), 30)
        await asyncio.wait_for(asyncio.gather(*(c.connected.wait() for c in raw)), 30)
        await asyncio.sleep(warmup)
        s0, t0, rss0 = await status(session, url), time.perf_counter(), rss_kib(pid)
        m0 = [c.state_messages + c.other_events for c in raw]
        await asyncio.sleep(seconds)
        s1, t1, rss1 = await status(session, url), time.perf_counter(), rss_kib(pid)
        m1 = [c.state_messages + c.other_events for c in raw]
        stop.set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    wall = t1 - t0
    received = [(b - a) / wall for a, b in zip(m0, m1, strict=True)]
    return {
        "wall_s": wall,
        "ticks_per_s": (s1["ticks"] - s0["ticks"]) / wall,
        "frames_per_s": (s1["frames"] - s0["frames"]) / wall,
        "speedup": (s1["game_time"] - s0["game_time"]) / wall,
        "games": s1["games_started"] - s0["games_started"],
        "client_events_per_s_min": min(received),
        "client_events_per_s_max": max(received),
        "skipped_slow": s1["counters"]["skipped_slow"] - s0["counters"]["skipped_slow"],
        "slow_disconnects": s1["counters"]["slow_disconnects"],
        "connections": s1["connections"],
        "rss_kib_start": rss0,
        "rss_kib_end": rss1,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=10)
    ap.add_argument("--bots", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=3.0)
    ap.add_argument("--speed", default="max", help="server --speed (default max = unthrottled)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--stalled", type=int, default=0, help="extra clients that connect and never read")
    ap.add_argument("--json", action="store_true", help="print the result as one JSON object")
    args = ap.parse_args()

    cmd = [
        sys.executable,
        "-c",
        "import sys; from rugs_env.cli import main; sys.exit(main())",
        "serve",
        "--speed",
        args.speed,
        "--bots",
        str(args.bots),
        "--seed",
        str(args.seed),
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http"):
            print(f"server did not start: {url!r}", file=sys.stderr)
            return 1
        result = asyncio.run(measure(url, proc.pid, args.clients, args.seconds, args.warmup, args.stalled))
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
    result.update(clients=args.clients, bots=args.bots, speed=args.speed, stalled=args.stalled)
    if args.json:
        print(json.dumps(result))
        return 0
    print(
        f"rugs serve --speed {args.speed} --bots {args.bots}, {args.clients} clients"
        f"{f' + {args.stalled} stalled' if args.stalled else ''}, {result['wall_s']:.1f} s"
    )
    print(f"  ticks/s            {result['ticks_per_s']:10.0f}   (active ticks broadcast per wall second)")
    print(
        f"  speed-up           {result['speedup']:10.1f}x  (game time per wall time; x4 = "
        f"{result['speedup'] * 4:.0f} tick-equivalents/s incl. cooldown)"
    )
    print(f"  frames/s           {result['frames_per_s']:10.0f}   (every gameStateUpdate step)")
    print(f"  games              {result['games']:10d}")
    lo, hi = result["client_events_per_s_min"], result["client_events_per_s_max"]
    print(f"  per client events/s {lo:9.0f} .. {hi:.0f}")
    print(
        f"  skipped (slow)     {result['skipped_slow']:10d}   slow disconnects {result['slow_disconnects']}"
    )
    rss0, rss1 = result["rss_kib_start"] / 1024, result["rss_kib_end"] / 1024
    print(f"  server RSS         {rss0:8.1f} MiB -> {rss1:.1f} MiB (the ground truth of every game is kept)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
