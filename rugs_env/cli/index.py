"""``rugs index DIR``: rebuild the daily ``index.json`` files of a recordings tree from the files.

DIR is a recordings root (every ``YYYY-MM-DD`` folder under it is done) or one day folder. Prints one
line per day and one per file that could not be indexed (with the file and field at fault); exits 1 when
any file was corrupt or misplaced, 0 otherwise. ``--check`` only reports whether the indexes are stale.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rugs_env.cli.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("index", help="rebuild the daily index.json files of a recordings folder")
    p.add_argument(
        "dir", metavar="DIR", help="a recordings root (e.g. recordings/) or one YYYY-MM-DD day folder"
    )
    p.add_argument(
        "--check", action="store_true", help="write nothing; exit 1 if an index is missing or stale"
    )
    p.add_argument(
        "--clean-temp",
        action="store_true",
        help="also remove temporary files left by interrupted writes (older than a minute)",
    )
    p.set_defaults(handler=run)


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def run(args: argparse.Namespace) -> int:
    from recorder.files import cleanup_temp_files, day_dirs, index_status, rebuild_index

    root = Path(args.dir)
    if not root.is_dir():
        raise CliError(f"{root} is not a directory")
    days = day_dirs(root)
    if not days:
        print(f"{root}: no day folders (YYYY-MM-DD) found")
        return 0
    if args.check:
        return _check(days, index_status)
    if args.clean_temp:
        for removed in cleanup_temp_files(root):
            print(f"removed temporary file {removed}")
    games = sessions = corrupt = 0
    for day in days:
        try:
            report = rebuild_index(day)
        except OSError as exc:  # e.g. a read-only folder: say so, no traceback
            raise CliError(f"cannot write the index of {day}: {exc}", exit_code=1) from None
        games, sessions, corrupt = (
            games + report.games,
            sessions + report.sessions,
            corrupt + len(report.problems),
        )
        state = "index written" if report.written else "index up to date"
        bad = f", {_plural(len(report.problems), 'corrupt file')}" if report.problems else ""
        print(f"{day}: {_plural(report.games, 'game')}, {_plural(report.sessions, 'session')}{bad}; {state}")
        for problem in report.problems:
            print(f"  CORRUPT {problem.error}")
    print(
        f"total: {_plural(len(days), 'day')}, {_plural(games, 'game')}, {_plural(sessions, 'session')}, "
        f"{_plural(corrupt, 'corrupt file')}"
    )
    return 1 if corrupt else 0


def _check(days: list[Path], index_status) -> int:  # noqa: ANN001 - the function imported by run()
    stale = 0
    for day in days:
        status = index_status(day)
        if not status.stale:
            print(f"{day}: index up to date")
            continue
        stale += 1
        if not status.exists:
            print(f"{day}: index missing")
        elif status.error:
            print(f"{day}: index unreadable: {status.error}")
        else:
            parts = [
                f"{len(status.not_indexed)} not indexed" if status.not_indexed else "",
                f"{len(status.missing)} indexed but gone" if status.missing else "",
                f"{len(status.changed)} changed" if status.changed else "",
            ]
            print(f"{day}: index stale ({', '.join(p for p in parts if p)})")
    print(f"total: {_plural(len(days), 'day')}, {_plural(stale, 'stale index', 'stale indexes')}")
    return 1 if stale else 0
