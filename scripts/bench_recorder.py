"""Recorder benchmarks: ingest throughput on the shared capture, and memory over 1,000 live games.

    .venv/bin/python scripts/bench_recorder.py [--repeat 20] [--games 1000] [--speed max] [--journal]

1. Ingest: the Dec-12 raw capture (554 events, 12 games, 19 players followed) ingested ``--repeat`` times
   (every run writes its games, sessions and indexes, fsynced, into a fresh folder). Prints events/s for
   the whole ingest (reading, parsing, the pipeline, the files) and for the pipeline alone (files to a
   throw-away sink that does not write), each as the median run (and the range: the machine is shared).
   Aim: 5,000 events/s or more.
2. Memory: ``rugs serve`` (a subprocess, ``--speed max``, 8 bots) and ``rugs record --games N`` (a
   subprocess, following everyone); the recorder's resident memory (VmRSS) is sampled every 100 games. It
   should stay flat: nothing the recorder keeps grows with the number of games, except the sessions of the
   players it follows (their actions), which is what a session is. Run with ``--follow`` none to see the
   floor. The journal is off unless ``--journal`` (at full speed it grows by ~1 MB per game). At full
   speed every game falls on today: past ``recorder.sink.KEEP_KNOWN`` (5,000) games, more than a real day
   can hold, each index rebuild reads the rest of the day's files back, and memory grows again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURE = ROOT / "tests" / "fixtures" / "realdata" / "2025-12-12_17-16-58_raw.jsonl"
sys.path.insert(0, str(ROOT))


def bench_ingest(repeat: int) -> None:
    from recorder.files import GameRecording, SessionRecording
    from recorder.ingest import ingest_config, ingest_files, read_raw_capture
    from recorder.journal import ReadStats
    from recorder.pipeline import RecorderPipeline
    from recorder.sink import RecordingSink

    events = sum(1 for line in CAPTURE.read_text().splitlines() if line.strip())
    with tempfile.TemporaryDirectory() as tmp:
        ingest_files([CAPTURE], Path(tmp) / "warm", follow=["*"])  # imports, caches
        times = []
        for i in range(repeat):
            start = time.perf_counter()
            ingest_files([CAPTURE], Path(tmp) / f"run{i}", follow=["*"])
            times.append(time.perf_counter() - start)
    print(f"ingest, files written: {repeat} x {events} events: {_rates(events, times)}")

    class NullSink(RecordingSink):
        def write_game(self, game: GameRecording) -> Path | None:
            game.to_json_bytes()  # still build and check the file's bytes
            return None

        def write_session(self, session: SessionRecording) -> Path | None:
            session.to_json_bytes()
            return None

        def flush(self) -> None:
            pass

    loaded = list(read_raw_capture(CAPTURE, ReadStats()))
    times = []
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            start = time.perf_counter()
            # configured as ingest_files configures it for a raw capture (sessions written once, at the end)
            config = ingest_config("raw", follow=("*",))
            pipeline = RecorderPipeline(NullSink(tmp, index_interval=-1), config)
            for e in loaded:
                pipeline.feed(e.at, e.event, e.args, e.conn)
            pipeline.finish()
            times.append(time.perf_counter() - start)
    print(f"pipeline alone (parsed events, no disk): {_rates(len(loaded), times)}")


def _rates(events: int, times: list[float]) -> str:
    """``median events/s (min-max)`` over the runs."""
    if not times:
        return "no run"
    rates = sorted(events / t for t in times)
    return (
        f"median {statistics.median(rates):,.0f} events/s "
        f"(range {rates[0]:,.0f}-{rates[-1]:,.0f}, {statistics.median(times) * 1000:.0f} ms a run)"
    )


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def bench_memory(games: int, speed: str, journal: bool, follow: list[str]) -> None:
    # `rugs serve` and `rugs record` through the real entry point (only these two subcommands registered)
    runner = "import sys; from rugs_env import cli; cli.COMMANDS = ('serve', 'record'); sys.exit(cli.main())"
    rugs = [sys.executable, "-c", runner]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "rec"
        server = subprocess.Popen(
            [*rugs, "serve", "--speed", speed, "--bots", "8", "--seed", "1"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            cmd = [*rugs, "record", "--url", url, "--out", str(out), "--games", str(games), "-q"]
            cmd += ["--follow", *follow] if follow else []
            cmd += [] if journal else ["--no-journal"]
            recorder = subprocess.Popen(cmd, cwd=ROOT)
            start, next_mark = time.monotonic(), 100
            print(
                f"memory of `rugs record` against `rugs serve --speed {speed}` (8 bots), "
                f"following {follow or 'nobody'}:"
            )
            while recorder.poll() is None:
                time.sleep(0.5)
                done = (
                    sum(1 for _ in out.glob("*/games/*.game.json")) - 10
                )  # minus the server's invented history
                if done >= next_mark:
                    rss = rss_kib(recorder.pid)
                    if rss is not None:
                        elapsed = time.monotonic() - start
                        print(f"  {done:5d} games  {elapsed:6.1f} s  RSS {rss / 1024:7.1f} MiB", flush=True)
                    next_mark += 100
            print(f"  finished: exit {recorder.returncode}, {time.monotonic() - start:.1f} s")
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=20, help="ingest runs (default 20)")
    parser.add_argument("--games", type=int, default=1000, help="live games for the memory run (0: skip)")
    parser.add_argument("--speed", default="max", help="server speed (default max)")
    parser.add_argument("--journal", action="store_true", help="keep the journal during the memory run")
    parser.add_argument("--follow", nargs="*", default=["*"], help="players to follow (default everyone)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr] - progress as it comes
    print(
        f"bench_recorder {datetime.now(UTC):%Y-%m-%d %H:%M}Z on {os.cpu_count()} cores, "
        f"python {sys.version.split()[0]}; capture {CAPTURE.name}"
    )
    bench_ingest(args.repeat)
    if args.games:
        bench_memory(args.games, args.speed, args.journal, args.follow)
    return 0


if __name__ == "__main__":
    sys.exit(main())
