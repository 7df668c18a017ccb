"""Rebuild ``datasets/sample/``: the real games of ``tests/fixtures/realdata`` in the recording format.

    .venv/bin/python scripts/build_sample.py [--out datasets/sample] [--keep]

What goes in (through ``rugs ingest``'s own code, :func:`recorder.ingest.ingest_files`):

- the Dec-12-2025 raw capture: its 12 seeded games with full prices (the 10 revealed in ``gameHistory``
  and the 2 watched live), each verified against its seed, and the sessions of the real players who traded
  in the games watched live (followed by player id, from the capture's ``standard/newTrade`` events);
- the four older per-tick REPLAYER recordings (Oct 2025: an instarug, a normal game, one above 100x, a god
  candle), unverified (they carry no seed).

Not included: the Feb-2026 ``key-samples.json`` games (their history entries reveal seeds but neither the
prices nor the rug price, and a game file needs the rug price) and the July-2025 CSV (summaries only).

By default the day folders under ``--out`` are removed first, so the sample is exactly what the fixtures
give (``--keep`` ingests on top; ingest is idempotent either way). The script prints what it wrote.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REALDATA = ROOT / "tests" / "fixtures" / "realdata"
RAW = REALDATA / "2025-12-12_17-16-58_raw.jsonl"
sys.path.insert(0, str(ROOT))


def traders(raw: Path) -> list[str]:
    """Player ids of everyone with a ``standard/newTrade`` in the capture, in order of appearance."""
    ids: dict[str, None] = {}
    for line in raw.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record.get("event") == "standard/newTrade":
            data = record["data"]
            payload = data[-1] if isinstance(data, list) else data
            ids[payload["playerId"]] = None
    return list(ids)


def main() -> int:
    from recorder.files import RecordingsLayout, read_game, read_session
    from recorder.ingest import ingest_files

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(ROOT / "datasets" / "sample"))
    parser.add_argument("--keep", action="store_true", help="do not clear the day folders first")
    args = parser.parse_args()
    out = Path(args.out)
    layout = RecordingsLayout(out)
    if not args.keep:
        for day in layout.days():
            shutil.rmtree(day)
    out.mkdir(parents=True, exist_ok=True)
    per_tick = sorted(REALDATA.glob("game_*.jsonl"))
    report = ingest_files([RAW, *per_tick], out, follow=traders(RAW))
    for f in report.files:
        note = f"skipped: {f.skipped}" if f.skipped else f"{f.games} games, {f.sessions} sessions"
        print(f"{', '.join(p.name for p in f.paths)} ({f.format}): {note}")
    games = [read_game(p) for p in layout.game_files()]
    sessions = [read_session(p) for p in layout.session_files()]
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(
        f"{out}: {len(games)} games ({sum(1 for g in games if g.meta.verified)} verified), "
        f"{len(sessions)} sessions ({sum(len(s.actions) for s in sessions)} actions), {size / 1024:.0f} KiB"
    )
    return 1 if report.errors or any(f.skipped for f in report.files) else 0


if __name__ == "__main__":
    sys.exit(main())
