"""Building, reading and checking the daily indexes (the file format is in ``index_model``).

The index is a cache. :func:`rebuild_index` reads every game and session file of a day folder and writes
``index.json`` (atomically, and only when its bytes change). A file that cannot be indexed (corrupt,
misplaced, a duplicate game id, outside the root) is *reported* in the returned :class:`DayReport` and
listed under ``excluded`` in the index, never silently dropped. :func:`index_status` compares an index with
the folder by names and sizes only (no file is read), so a reader can tell whether to trust it, and
:func:`load_index` returns an up-to-date index, rebuilding a stale one.

A writer that has just written files knows their entries without reading them back: it passes them as
``known``, keyed by the file's path as a string (:class:`KnownFile`: the entry and the file's stamp right
after the write). A known entry is used only while the file still has that stamp (same inode, size,
modification and change times): any other change, by anyone, and the file is read and checked like the
others. The index is the same either way.

Memory stays flat however busy the day: a known entry is kept already encoded (and the recorder's sink keeps
them on disk, :mod:`recorder.known_store`; ``known`` is any mapping with ``get``), and :func:`rebuild_index`
streams the index to disk entry by entry as :class:`recorder.files.day_scan.DayScan` yields them, comparing
it with the old one as it goes, instead of holding the day's entries and the whole document (megabytes for
a day of thousands of games) at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from recorder.files.day_scan import DayScan, FileProblem, Item, Known, entry_text, rel_path
from recorder.files.errors import RecordingFormatError
from recorder.files.fields import format_day, parse_day
from recorder.files.index_model import DailyIndex, IndexGameEntry, IndexSessionEntry
from recorder.files.jsonio import atomic_write_chunks, dumps_at, loads_document, read_document
from recorder.files.layout import INDEX_NAME, RecordingsLayout, is_day_dir


@dataclass
class DayReport:
    """What :func:`rebuild_index` did for one day folder."""

    day_dir: Path
    games: int = 0
    sessions: int = 0
    problems: list[FileProblem] = field(default_factory=list)
    written: bool = False  # index.json was created or changed (False: it was already up to date)

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class RebuildReport:
    """What :func:`rebuild_all` did, day by day."""

    days: list[DayReport] = field(default_factory=list)

    @property
    def games(self) -> int:
        return sum(d.games for d in self.days)

    @property
    def sessions(self) -> int:
        return sum(d.sessions for d in self.days)

    @property
    def problems(self) -> list[FileProblem]:
        return [p for d in self.days for p in d.problems]

    @property
    def ok(self) -> bool:
        return all(d.ok for d in self.days)


@dataclass
class IndexStatus:
    """How an ``index.json`` compares with its folder (names and sizes; see :func:`index_status`)."""

    day_dir: Path
    exists: bool
    error: str | None = None  # the index itself is unreadable
    not_indexed: list[str] = field(default_factory=list)  # files on disk the index does not mention
    missing: list[str] = field(default_factory=list)  # index entries whose file is gone
    changed: list[str] = field(default_factory=list)  # files whose size differs from the index's

    @property
    def stale(self) -> bool:
        return (
            not self.exists
            or self.error is not None
            or bool(self.not_indexed or self.missing or self.changed)
        )


def _day_of(day_dir: Path) -> tuple[Path, RecordingsLayout]:
    try:
        parse_day(day_dir.name)
    except ValueError as exc:
        raise ValueError(f"{day_dir} is not a day folder (YYYY-MM-DD): {exc}") from None
    return day_dir, RecordingsLayout(day_dir.parent)


def build_index(day_dir: Path | str, known: Known | None = None) -> tuple[DailyIndex, list[FileProblem]]:
    """The index of a day folder as the files say it should be, and the files that could not be indexed.

    Nothing is written. ``known``: entries of files their writer has just written (module docstring).
    Raises ``ValueError`` if ``day_dir`` is not named ``YYYY-MM-DD``.
    """
    day_dir, layout = _day_of(Path(day_dir))
    scan = DayScan(day_dir, layout, known)

    def model(item: Item, kind: type[IndexGameEntry] | type[IndexSessionEntry]) -> object:
        value = item[0]
        return kind.from_file_dict(loads_document(value.encode("ascii"))) if isinstance(value, str) else value

    games = tuple(model(i, IndexGameEntry) for i in scan.games())
    sessions = tuple(model(i, IndexSessionEntry) for i in scan.sessions())
    index = DailyIndex(
        date=parse_day(day_dir.name),
        games=games,
        sessions=sessions,
        excluded=tuple(scan.excluded) or None,
    )
    return index, scan.problems


def rebuild_index(day_dir: Path | str, known: Known | None = None) -> DayReport:
    """Rebuild ``day_dir/index.json`` from the files (see the module docstring; ``known`` as there).

    The bytes are those of ``DailyIndex(...).to_json_bytes()``, written without building the document."""
    day_dir, layout = _day_of(Path(day_dir))
    scan = DayScan(day_dir, layout, known)

    def texts(items: Iterator[Item]) -> Iterator[str]:
        return (value if isinstance(value, str) else entry_text(value) for value, _ in items)

    def excluded() -> Iterator[str]:  # complete only once the files have been scanned: asked for last
        return (entry_text(e) for e in scan.excluded)

    groups = [
        ("games", texts(scan.games()), True),
        ("sessions", texts(scan.sessions()), True),
        ("excluded", excluded(), False),
    ]
    date = format_day(parse_day(day_dir.name))
    written = atomic_write_chunks(day_dir / INDEX_NAME, _index_chunks(date, groups))
    return DayReport(day_dir, scan.games_count, scan.sessions_count, scan.problems, written=written)


def _index_chunks(date: str, groups: list[tuple[str, Iterator[str], bool]]) -> Iterator[bytes]:
    """``index.json`` as :func:`recorder.files.jsonio.dumps_document` writes it, in pieces of ~64 KB; each
    group is ``(key, entries, required)``: a group not required is left out when it has no entry."""
    pending: list[str] = ['{\n  "date": ', dumps_at(date, 1)]
    size = 0
    for key, entries, required in groups:
        texts = iter(entries)
        text = next(texts, None)
        if text is None and not required:
            continue
        pending.append(f',\n  "{key}": [')
        if text is None:
            pending.append("]")
            continue
        separator = "\n    "
        while text is not None:
            pending += (separator, text)
            separator = ",\n    "
            size += len(text)
            if size >= 1 << 16:
                yield "".join(pending).encode("ascii")
                pending, size = [], 0
            text = next(texts, None)
        pending.append("\n  ]")
    pending.append("\n}\n")
    yield "".join(pending).encode("ascii")


def rebuild_all(root: Path | str) -> RebuildReport:
    """Rebuild the index of every day folder under ``root``."""
    return RebuildReport([rebuild_index(d) for d in RecordingsLayout(root).days()])


def read_index(day_dir: Path | str) -> DailyIndex:
    """Read ``day_dir/index.json`` strictly (:class:`RecordingFormatError`; ``OSError`` if absent)."""
    path = Path(day_dir) / INDEX_NAME
    return DailyIndex.from_file_dict(read_document(path), path)


def index_status(day_dir: Path | str) -> IndexStatus:
    """Compare ``day_dir/index.json`` with the files present, by name and size (nothing else is read)."""
    day_dir, layout = _day_of(Path(day_dir))
    status = IndexStatus(day_dir, exists=(day_dir / INDEX_NAME).is_file())
    if not status.exists:
        return status
    try:
        recorded = read_index(day_dir).files()
    except (RecordingFormatError, OSError) as exc:
        status.error = str(exc)
        return status
    present: dict[str, int] = {}
    for path in [*layout.game_files(day_dir), *layout.session_files(day_dir)]:
        try:
            present[rel_path(day_dir, path)] = path.stat().st_size
        except OSError:
            continue
    status.not_indexed = sorted(set(present) - set(recorded))
    status.missing = sorted(set(recorded) - set(present))
    status.changed = sorted(
        f for f in set(present) & set(recorded) if recorded[f] is not None and recorded[f] != present[f]
    )
    return status


def load_index(day_dir: Path | str, *, rebuild_if_stale: bool = True, write: bool = True) -> DailyIndex:
    """An index that matches the files: the one on disk when fresh, else a rebuilt one.

    With ``write`` the rebuilt index is saved (as :func:`rebuild_index`); without it (read-only data) it
    is only returned. With ``rebuild_if_stale=False`` the index on disk is returned as it is.
    """
    day_dir = Path(day_dir)
    if not rebuild_if_stale or not index_status(day_dir).stale:
        return read_index(day_dir)
    if write:
        rebuild_index(day_dir)
        return read_index(day_dir)
    return build_index(day_dir)[0]


def day_dirs(path: Path | str) -> list[Path]:
    """``[path]`` if ``path`` is itself a day folder, else the day folders under it."""
    path = Path(path)
    return [path] if is_day_dir(path) else RecordingsLayout(path).days()
