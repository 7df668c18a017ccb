"""``rugs ingest FILE... --out DIR``: re-derive recordings from journals and captures.

Reads our own journals (``recordings/journal/...``), the ``{seq, ts, event, data}`` raw captures and the
older per-tick ``game_*.jsonl`` recordings (the format is detected per file), and writes game files,
session files (``--follow``) and daily indexes under DIR through the same pipeline as ``rugs record``.
Idempotent: ingesting the same files again gives the same files. Exits 1 when a file could not be ingested.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rugs_env.cli.common import CliError, add_follow_arguments, start_balance


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="re-derive recordings from journals and raw captures")
    p.add_argument(
        "files", nargs="+", metavar="FILE", help="journal, raw capture or per-tick recording files"
    )
    p.add_argument("--out", required=True, help="recordings folder to write")
    add_follow_arguments(p)
    p.add_argument(
        "--utc-offset",
        type=float,
        default=None,
        metavar="HOURS",
        help="local time offset of raw captures' timestamps (default: detected, e.g. -5)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import logging
    from datetime import timedelta

    from recorder.ingest import IngestError, ingest_files

    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(levelname)s %(name)s: %(message)s",
    )
    paths = [Path(f) for f in args.files]
    for path in paths:
        if not path.is_file():
            raise CliError(f"{path}: not a file")
    balance = start_balance(args)
    offset = timedelta(hours=args.utc_offset) if args.utc_offset is not None else None
    try:
        report = ingest_files(
            paths, Path(args.out), follow=args.follow, start_balance=balance, utc_offset=offset
        )
    except IngestError as exc:
        raise CliError(str(exc), exit_code=1) from None
    failed = 0
    for f in report.files:
        names = ", ".join(str(p) for p in f.paths)
        if f.skipped:
            failed += 1
            print(f"{names}: skipped ({f.format}): {f.skipped}")
            continue
        offset_text = (
            f", UTC offset {f.utc_offset.total_seconds() / 3600:+g} h" if f.utc_offset is not None else ""
        )
        if f.format == "replayer":
            print(f"{names}: per-tick recording, {f.games} game(s) (no seed: unverified)")
        else:
            errors = f", {f.errors} failed on an error (see the log)" if f.errors else ""
            print(
                f"{names}: {f.format}, {f.events} events ({f.bad_lines} bad lines, {f.malformed} malformed"
                f"{errors}), {f.games} games, {f.sessions} sessions{offset_text}"
            )
        for note in f.notes[:5]:
            print(f"  {note}")
    print(f"total: {report.games} games, {report.sessions} sessions written to {args.out}")
    return 1 if failed or report.errors else 0
