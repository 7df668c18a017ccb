"""Recorder benchmarks: ingest throughput on the shared capture, and memory over 16,000 recorded games.

    .venv/bin/python scripts/bench_recorder.py [--repeat 20] [--files 16000] [--speed max] [--journal]

1. Ingest: the Dec-12 raw capture (554 events, 12 games, 19 players followed) ingested ``--repeat`` times
   (every run writes its games, sessions and indexes, fsynced, into a fresh folder). Prints events/s for
   the whole ingest (reading, parsing, the pipeline, the files) and for the pipeline alone (files to a
   throw-away sink that does not write), each as the median run (and the range: the machine is shared).
   Aim: 5,000 events/s or more. Where a memory file system is mounted (``/dev/shm``), every other run
   writes there instead of the temporary folder's disk, and the time the kernel takes to create as many
   empty files as an ingest writes is measured beside the runs: on the virtual disk of our build machines,
   creating a file has cost from 0.03 to 1 ms of kernel time from one minute to the next (7 us on tmpfs).
   The host's speed varies as much: the pipeline alone has run at 6,900 and at 12,300 events/s a minute
   apart. Compare runs made together, not figures from different days.
2. Memory: ``rugs serve`` (a subprocess, ``--speed max``, 8 bots) and ``rugs record`` (a subprocess,
   following everyone), stopped by SIGINT (its clean shutdown) once ``--files`` game files are written.
   The recorder's resident memory (VmRSS) is sampled every 100 game files, and its growth past the
   warm-up (:data:`WARM_GAMES`) and over the run's second half is fitted as bytes a game (~25 min on 2
   cores following the bots, ~18 following nobody). At full speed the recorder, lagging, watches only
   some games live (~3 in 4 following nobody, fewer than 2 in 5 following the bots) and records the rest
   from ``gameHistory``: the count is of game files. It should stay flat: nothing the recorder keeps grows
   with the number of games (a followed player's session file is closed every 500 actions). Run with
   ``--follow`` and no name to follow nobody. The journal is off unless ``--journal`` (at full speed it
   grows by ~1 MB per game). At full speed every game falls on today, a day far busier than a real one
   (~1,200 games): the index rebuild of that day, every 30 s, is the one thing whose work grows with the
   day (its memory does not). Past ``recorder.sink.KEEP_KNOWN`` (20,000) files, more than a day can
   hold, each rebuild would also read the oldest of the day's files back.
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
# Warm-up, not growth: the recorder's bounded caches (512 finished games and their ranks, 512 stored-game
# records, sessions of up to 500 actions, the written files' index entries: a 512 KiB SQLite page cache and
# ~1 MiB of allocator state) fill in the first ~2,000 games. Then, between ~2,500 and 2,900 game files, RSS
# steps up once by ~1 MiB: CPython 3.11's table of interned strings doubles (pathlib interns each new file
# name; the names die, but their slots are reused only when the table is rebuilt, and the rebuild sizes it
# at three times the strings still interned: the loaded libraries' identifiers, over 21,845 since the table
# doubles past 65,536 slots). Reproduced alone: Path objects of new names, made and dropped one by one in a
# process that imported the recorder, step RSS by 948 KiB at the 13,921st.
WARM_GAMES = 3000
FLAT_BYTES_PER_GAME = 200  # a recorder running for a year (~440,000 games) would grow by < 90 MiB
CAPTURE = ROOT / "tests" / "fixtures" / "realdata" / "2025-12-12_17-16-58_raw.jsonl"
MEMORY_FS = Path("/dev/shm")  # Linux's tmpfs for every user, where there is one
sys.path.insert(0, str(ROOT))


def bench_ingest(repeat: int) -> None:
    from recorder.files import ActionTexts, GameRecording, SessionRecording
    from recorder.ingest import ingest_config, ingest_files, read_raw_capture
    from recorder.journal import ReadStats
    from recorder.pipeline import RecorderPipeline
    from recorder.sink import RecordingSink

    events = sum(1 for line in CAPTURE.read_text().splitlines() if line.strip())
    places = {"disk": Path(tempfile.gettempdir())}
    if MEMORY_FS.is_dir() and os.access(MEMORY_FS, os.W_OK):
        places["memory"] = MEMORY_FS
    folders = {
        where: Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=place)) for where, place in places.items()
    }
    times: dict[str, list[float]] = {where: [] for where in folders}
    creates: list[float] = []
    try:
        ingest_files([CAPTURE], folders["disk"] / "warm", follow=["*"])  # imports, caches
        files = sum(1 for path in (folders["disk"] / "warm").rglob("*") if path.is_file())
        for i in range(repeat):
            for where, folder in folders.items():  # interleaved: both see the machine as it is at the time
                start = time.perf_counter()
                ingest_files([CAPTURE], folder / f"run{i}", follow=["*"])
                times[where].append(time.perf_counter() - start)
            creates.append(_create_empty(folders["disk"] / f"empty{i}", files))
    finally:
        for folder in folders.values():
            shutil.rmtree(folder, ignore_errors=True)
    disk = _rates(events, times["disk"])
    print(f"ingest, files written to {places['disk']}: {repeat} x {events} events: {disk}")
    print(f"  creating {files} empty files there: median {statistics.median(creates) * 1000:.1f} ms")
    if "memory" in times:
        print(f"ingest, files written to {MEMORY_FS} (memory): {_rates(events, times['memory'])}")

    class NullSink(RecordingSink):
        def write_game(self, game: GameRecording) -> Path | None:
            game.to_json_bytes()  # still build and check the file's bytes
            return None

        def write_session(self, session: SessionRecording, texts: ActionTexts | None = None) -> Path | None:
            session.to_json_bytes(texts)
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


def _create_empty(folder: Path, count: int) -> float:
    """Seconds to create ``count`` empty files in a new ``folder`` (what an ingest pays the kernel alone)."""
    folder.mkdir()
    start = time.perf_counter()
    for i in range(count):
        os.close(os.open(folder / f"f{i}", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    return time.perf_counter() - start


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


def _fit(samples: list[tuple[int, int]]) -> tuple[str, float]:
    """``RSS a MiB at g games, b at h; fitted +n`` and n, the bytes a game: the slope of a least-squares
    line, which one noisy sample cannot swing."""
    slope = statistics.linear_regression([g for g, _ in samples], [rss for _, rss in samples]).slope * 1024
    (first, low), (last, high) = samples[0], samples[-1]
    at = f"RSS {low / 1024:.1f} MiB at {first} games, {high / 1024:.1f} at {last}"
    return f"{at}; fitted {slope:+.0f}", slope


def growth_summary(samples: list[tuple[int, int]]) -> str:
    """RSS growth per game past the warm-up (:data:`WARM_GAMES`), and over the run's second half, which
    decides: what is bounded but fills with traffic fills at its rate, and anything that grows with games
    grows in the second half too. Following the 8 bots at full speed, their open session files (up to 500
    actions each, kept in memory until the file is closed) gain ~0.55 actions a game file: 4,000 actions
    take ~7,000 files. Runs following the bots used to rise ~2.7 MiB over 13,000 files in ~1 MiB steps:
    allocator arenas kept by fragmentation (docs/ENGINEERING.md, "A long recording run's memory")."""
    later = [(g, rss) for g, rss in samples if g >= WARM_GAMES]
    half = [(g, rss) for g, rss in samples if g >= max(WARM_GAMES, samples[-1][0] // 2)]
    if len(later) < 3 or len(half) < 3:
        return f"  growth: too few samples past {WARM_GAMES} games (run more --files)"
    (later_fit, _), (half_fit, slope) = _fit(later), _fit(half)
    verdict = "flat" if abs(slope) <= FLAT_BYTES_PER_GAME else "GROWING"
    return (
        f"  past {WARM_GAMES} games: {later_fit} bytes a game\n"
        f"  second half: {half_fit} bytes a game: {verdict} (flat: within +-{FLAT_BYTES_PER_GAME} bytes "
        f"a game, {FLAT_BYTES_PER_GAME * 1000 / 2**20:.2f} MiB per 1,000 games)"
    )


def bench_memory(files: int, speed: str, journal: bool, follow: list[str]) -> None:
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
            cmd = [*rugs, "record", "--url", url, "--out", str(out), "-q"]
            cmd += ["--follow", *follow] if follow else []
            cmd += [] if journal else ["--no-journal"]
            recorder = subprocess.Popen(cmd, cwd=ROOT)
            start, next_mark = time.monotonic(), 100
            samples: list[tuple[int, int]] = []  # (games, RSS in KiB)
            print(
                f"memory of `rugs record` against `rugs serve --speed {speed}` (8 bots), "
                f"following {follow or 'nobody'}:"
            )
            while recorder.poll() is None:
                time.sleep(0.5)
                done = sum(1 for _ in out.glob("*/games/*.game.json")) - 10  # minus the server's history
                if done >= next_mark:
                    rss = rss_kib(recorder.pid)
                    if rss is not None:
                        samples.append((done, rss))
                        elapsed = time.monotonic() - start
                        print(f"  {done:5d} games  {elapsed:6.1f} s  RSS {rss / 1024:7.1f} MiB", flush=True)
                    next_mark += 100
                if done >= files:
                    recorder.send_signal(signal.SIGINT)  # it saves what is complete, then exits
                    try:
                        recorder.wait(120)
                    except subprocess.TimeoutExpired:
                        recorder.kill()
                        recorder.wait()
            print(f"  finished: exit {recorder.returncode}, {time.monotonic() - start:.1f} s")
            print(growth_summary(samples))
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
    parser.add_argument("--repeat", type=int, default=20, help="ingest runs (default 20; 0: skip)")
    parser.add_argument("--files", type=int, default=16000, help="game files for the memory run (0: skip)")
    parser.add_argument("--speed", default="max", help="server speed (default max)")
    parser.add_argument("--journal", action="store_true", help="keep the journal during the memory run")
    parser.add_argument("--follow", nargs="*", default=["*"], help="players to follow (default everyone)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr] - progress as it comes
    print(
        f"bench_recorder {datetime.now(UTC):%Y-%m-%d %H:%M}Z on {os.cpu_count()} cores, "
        f"python {sys.version.split()[0]}; capture {CAPTURE.name}"
    )
    if args.repeat:
        bench_ingest(args.repeat)
    if args.files:
        bench_memory(args.files, args.speed, args.journal, args.follow)
    return 0


if __name__ == "__main__":
    sys.exit(main())
