"""``rugs verify DIR``: check every recording under a folder (see :mod:`recorder.checks`).

DIR is a recordings root or one day folder. Every game file is read strictly and, when it has its seed,
regenerated bit for bit; sessions are checked against the games; each daily index against its files.
Prints one line per problem (errors first; at most ``WARNINGS_SHOWN`` warnings of a kind unless ``--all``)
and a summary; ``--json`` prints one object instead. Exits 1 when a file is corrupt, a claim mismatches
or a gap cannot be checked; 0 otherwise (warnings included). A progress bar goes to stderr when it is a
terminal, or with ``--progress``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from rugs_env.cli.common import CliError, print_json

WARNINGS_SHOWN = 20


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("verify", help="check recordings: strict reading, seeds, sessions, indexes")
    p.add_argument(
        "dir", metavar="DIR", help="a recordings root (e.g. recordings/) or one YYYY-MM-DD day folder"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object (summary and every problem)")
    p.add_argument(
        "--all", action="store_true", help=f"list every warning (default: {WARNINGS_SHOWN} per kind)"
    )
    p.add_argument(
        "--progress", action="store_true", help="show a progress bar even if stderr is not a terminal"
    )
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from recorder.checks_tree import check_recordings

    root = Path(args.dir)
    if not root.is_dir():
        raise CliError(f"{root} is not a directory")
    bar = _ProgressBar(enabled=args.progress or sys.stderr.isatty())
    try:
        report = check_recordings(root, progress=bar.update)
    finally:
        bar.close()
    if args.json:
        print_json(report.to_json())
    else:
        _print_report(report, show_all=args.all)
    return 0 if report.ok else 1


class _ProgressBar:
    """A tqdm bar on stderr, created on the first update (when the number of files is known)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None

    def update(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(total=total, unit="file", desc="verifying", file=sys.stderr, leave=False)
        self._bar.update(done - self._bar.n)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def _plural(n: int, word: str, plural: str = "") -> str:
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _print_report(report: Any, show_all: bool) -> None:
    from recorder.checks import Kind

    errors = [p for p in report.problems if p.is_error]
    for problem in sorted(errors, key=lambda p: list(Kind).index(p.kind)):
        print(problem)
    for kind in Kind:
        warnings = [p for p in report.problems if p.kind is kind and not p.is_error]
        shown = warnings if show_all else warnings[:WARNINGS_SHOWN]
        for problem in shown:
            print(problem)
        if len(shown) < len(warnings):
            print(f"... and {len(warnings) - len(shown)} more {kind} warnings (--all lists them)")
    if report.problems:
        print()
    for label, value, detail in _summary_rows(report):
        print(f"{label:<15}{value:>8}  {detail}".rstrip())
    print(f"result: {_verdict(report)}")


def _summary_rows(report: Any) -> list[tuple[str, int, str]]:
    s = report.summary()
    filled = (
        f"({_plural(s['filled_games'], 'game')} with {_plural(s['filled_ticks'], 'tick')} filled "
        "from seed or history)"
        if s["filled_games"]
        else ""
    )
    drift = f"max {s['max_drift_lamports']} lamports" if s["drifts"] else ""
    orphans = f"actions, in {_plural(s['orphan_games'], 'game')}" if s["orphans"] else ""
    rows: list[tuple[str, int, str]] = [
        ("days", s["days"], ""),
        ("games", s["games"], _games_detail(s)),
        ("verified", s["verified"], ""),
        ("unverified", s["unverified"], "no seed" if s["unverified"] else ""),
        ("gaps", s["gaps"], filled),
        ("mismatches", s["mismatches"], ""),
        ("corrupt files", s["corrupt_files"], ""),
        ("sessions", s["sessions"], ""),
        ("actions", s["actions"], ""),
        ("drifts", s["drifts"], drift),
        ("orphans", s["orphans"], orphans),
        ("stale indexes", s["stale_indexes"], f"of {_plural(report.indexes_checked, 'day')}"),
    ]
    optional = [("unclaimed", "verified but not marked so"), ("stray_files", "ignored")]
    rows += [(name.replace("_", " "), s[name], note) for name, note in optional if s[name]]
    return rows


def _games_detail(s: dict[str, int]) -> str:
    if not s["failed"]:
        return ""
    return f"({s['failed']} seeded {'game does' if s['failed'] == 1 else 'games do'} not verify)"


def _verdict(report: Any) -> str:
    if report.ok:
        warnings = len(report.problems)
        return "OK" + (f" ({_plural(warnings, 'warning')})" if warnings else "")
    parts = [
        _plural(report.corrupt_files, "corrupt file") if report.corrupt_files else "",
        _plural(report.mismatches, "mismatch", "mismatches") if report.mismatches else "",
        _plural(report.gaps, "gap") if report.gaps else "",
    ]
    return "FAILED (" + ", ".join(p for p in parts if p) + ")"
