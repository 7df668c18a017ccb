"""``rugs games DIR``: the games of every daily index under a folder, as one sortable, filterable table.

Reads the indexes only (a stale or missing one is rebuilt with :func:`recorder.files.load_index`, and saved
when the folder is writable), so it is fast on big folders. Fields, usable in ``--sort`` and ``--where``:

==========  ========  ====================================================================
Field       Type      Meaning
==========  ========  ====================================================================
date        text      the day folder, ``YYYY-MM-DD`` (UTC)
id          text      the game id
start       text      start time, ``2025-12-12T22:17:19.615Z`` (UTC)
duration    number    ``duration_ticks``: ticks including the rug tick
peak        number    peak multiplier
rug_price   number    the rug price (absent in indexes that lack it)
verified    boolean   ``meta.verified`` (absent counts as false)
sessions    number    recorded sessions with actions in the game (all days read)
==========  ========  ====================================================================

``--where`` takes ``FIELD OP VALUE`` with OP one of ``= == != < <= > >= ~ !~`` (``~``: contains, text
fields only); repeat it to AND conditions: ``--where peak>=2 --where verified=true``. ``--json`` prints a
list of objects with exact values: prices as the files' strings, times as UTC strings, plus ``end`` and
``file`` (relative to DIR).
"""

from __future__ import annotations

import argparse
import math
import operator
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rugs_env.cli.common import CliError, print_json

Row = dict[str, Any]
FIELD_TYPES: dict[str, str] = {
    "date": "text",
    "id": "text",
    "start": "text",
    "duration": "number",
    "peak": "number",
    "rug_price": "number",
    "verified": "boolean",
    "sessions": "number",
}
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "=": operator.eq,
    "!=": operator.ne,
    "<=": operator.le,
    ">=": operator.ge,
    "<": operator.lt,
    ">": operator.gt,
    "!~": lambda a, b: b not in a,
    "~": lambda a, b: b in a,
}
_EXPR_RE = re.compile(r"\s*([A-Za-z_]\w*)\s*(==|!=|<=|>=|!~|=|<|>|~)\s*(.*?)\s*")
_TRUE, _FALSE = {"true", "yes", "1"}, {"false", "no", "0"}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("games", help="list the recorded games of a folder as a sortable, filterable table")
    p.add_argument(
        "dir", metavar="DIR", help="a recordings root (e.g. recordings/) or one YYYY-MM-DD day folder"
    )
    p.add_argument("--sort", metavar="FIELD", default="start", help="sort by this field (default: start)")
    p.add_argument("--desc", action="store_true", help="sort in descending order")
    p.add_argument(
        "--where",
        metavar="EXPR",
        action="append",
        default=[],
        help="keep games matching FIELD OP VALUE: peak>=2, duration<50, verified=true, id~25dc (repeatable)",
    )
    p.add_argument("--limit", metavar="N", type=int, help="show at most N games (after sorting)")
    p.add_argument("--json", action="store_true", help="print a JSON list of objects with exact values")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    root = Path(args.dir)
    if not root.is_dir():
        raise CliError(f"{root} is not a directory")
    if args.limit is not None and args.limit < 0:
        raise CliError("--limit must be >= 0")
    sort = _check_field(args.sort, "--sort")
    tests = [parse_where(expr) for expr in args.where]
    rows = [row for row in load_rows(root) if all(test(row) for test in tests)]
    rows = sort_rows(rows, sort, args.desc)
    if args.limit is not None:
        rows = rows[: args.limit]
    if args.json:
        print_json([_json_row(row) for row in rows])
    else:
        print(format_table(rows))
    return 0


# -- rows from the indexes --


def load_rows(root: Path) -> list[Row]:
    """One row per indexed game of every day folder under ``root`` (or of ``root`` itself), by start."""
    from recorder.files import day_dirs, format_time, load_index

    indexes = []
    for day in day_dirs(root):
        try:
            index = load_index(day)
        except OSError:  # a read-only folder: rebuild in memory only
            index = load_index(day, write=False)
        indexes.append((day, index))
        if index.excluded:
            n = len(index.excluded)
            files = "1 file" if n == 1 else f"{n} files"
            print(f"note: {day}: {files} could not be indexed (rugs verify {day} says why)", file=sys.stderr)
    sessions = Counter(g for _, index in indexes for s in index.sessions for g in s.game_ids or ())
    rows = []
    for day, index in indexes:
        for entry in index.games:
            rows.append(
                {
                    "date": day.name,
                    "id": entry.game_id,
                    "start": format_time(entry.start_time),
                    "duration": entry.duration_ticks,
                    "peak": entry.peak_multiplier,
                    "rug_price": entry.rug_price,
                    "verified": entry.verified,
                    "sessions": sessions[entry.game_id],
                    "end": format_time(entry.end_time) if entry.end_time is not None else None,
                    "file": (day / entry.file).relative_to(root).as_posix(),
                }
            )
    return sorted(rows, key=lambda r: (r["start"], r["id"]))


def sort_rows(rows: list[Row], field: str, descending: bool = False) -> list[Row]:
    """Rows sorted by one field (stable, so ties keep start order); rows lacking the field go last."""
    present = [r for r in rows if r[field] is not None]
    absent = [r for r in rows if r[field] is None]
    return sorted(present, key=lambda r: r[field], reverse=descending) + absent


# -- --where --


def _check_field(name: str, option: str) -> str:
    if name not in FIELD_TYPES:
        raise CliError(f"unknown field {name!r} in {option}; valid fields: {', '.join(FIELD_TYPES)}")
    return name


def parse_where(expr: str) -> Callable[[Row], bool]:
    """A row predicate from ``FIELD OP VALUE``; a :class:`CliError` naming the fields when malformed."""
    match = _EXPR_RE.fullmatch(expr)
    if not match or not match.group(3):
        raise CliError(
            f"bad --where expression {expr!r}: expected FIELD OP VALUE with OP one of "
            f"{' '.join(_OPS)}; valid fields: {', '.join(FIELD_TYPES)}"
        )
    name, op, text = match.groups()
    kind = FIELD_TYPES[_check_field(name, f"--where {expr!r}")]
    compare = _OPS[op]
    if kind == "text":
        return lambda row: row[name] is not None and compare(row[name], text)
    if "~" in op:
        raise CliError(f"--where {expr!r}: {op} works on text fields only (date, id, start)")
    if kind == "boolean":
        flag = text.lower()
        if flag not in _TRUE | _FALSE or op not in ("=", "==", "!="):
            raise CliError(f"--where {expr!r}: {name} takes = or != with true or false")
        wanted = flag in _TRUE
        return lambda row: compare(bool(row[name]), wanted)
    try:
        number = float(text[:-1] if text.lower().endswith("x") else text)  # "peak>=2x" reads like the table
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise CliError(f"--where {expr!r}: {name} needs a number, got {text!r}")
    return lambda row: row[name] is not None and compare(row[name], number)


# -- output --


def _json_row(row: Row) -> dict[str, Any]:
    from rugs_env.game.money import price_str

    out = dict(row)
    out["peak"] = price_str(row["peak"])
    out["rug_price"] = price_str(row["rug_price"]) if row["rug_price"] is not None else None
    return out


def _human(row: Row) -> list[str]:
    rug = row["rug_price"]
    return [
        row["date"],
        row["id"],
        row["start"][11:19],
        str(row["duration"]),
        f"{row['peak']:,.2f}x",
        f"{rug:.3g}" if rug is not None else "-",
        {True: "yes", False: "no", None: "-"}[row["verified"]],
        str(row["sessions"]),
    ]


def format_table(rows: list[Row]) -> str:
    """An aligned table (numbers right-aligned) and a count line."""
    if not rows:
        return "no games"
    header = list(FIELD_TYPES)
    cells = [header, *(_human(r) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(header))]
    right = [FIELD_TYPES[name] == "number" for name in header]
    lines = [
        "  ".join(
            c.rjust(w) if r else c.ljust(w) for c, w, r in zip(line, widths, right, strict=True)
        ).rstrip()
        for line in cells
    ]
    days = len({r["date"] for r in rows})
    lines.append(f"{len(rows)} game{'s' if len(rows) != 1 else ''} in {days} day{'s' if days != 1 else ''}")
    return "\n".join(lines)
