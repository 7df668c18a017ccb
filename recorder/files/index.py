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
streams the index to disk entry by entry, comparing it with the old one as it goes, instead of building the
whole document (megabytes for a day of thousands of games) twice over.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from recorder.files.errors import RecordingFormatError, UnsafePathError
from recorder.files.fields import format_day, parse_day
from recorder.files.game import GameRecording
from recorder.files.index_model import DailyIndex, ExcludedFile, IndexGameEntry, IndexSessionEntry
from recorder.files.jsonio import (
    FileStamp,
    atomic_write_chunks,
    dumps_at,
    file_stamp,
    loads_document,
    read_document,
)
from recorder.files.layout import INDEX_NAME, RecordingsLayout, is_day_dir
from recorder.files.naming import ensure_inside
from recorder.files.session import SessionRecording


@dataclass(frozen=True)
class FileProblem:
    """A file left out of the index, and why (``error`` names the file and the field)."""

    path: Path
    error: str


@dataclass(frozen=True, slots=True)
class KnownFile:
    """A file's index entry known by its writer, valid while the file has ``stamp`` (module docstring):
    ``text`` is the entry as ``index.json`` holds it (:func:`entry_text`), ``game_id`` is set for a game."""

    stamp: FileStamp
    file: str  # relative to the day folder
    text: str
    game_id: str | None = None


ENTRY_DEPTH = 2  # an entry's depth in index.json: {"games": [entry, ...]}


def entry_text(entry: IndexGameEntry | IndexSessionEntry | ExcludedFile) -> str:
    """An entry encoded as it appears in ``index.json``."""
    return dumps_at(entry.to_file_dict(), ENTRY_DEPTH)


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


def _rel(day_dir: Path, path: Path) -> str:
    return path.relative_to(day_dir).as_posix()


def _short_error(exc: Exception) -> str:
    if isinstance(exc, RecordingFormatError):
        return f"{exc.field}: {exc.detail}" if exc.field else exc.detail
    return str(exc)


def read_checked(layout: RecordingsLayout, path: Path, kind: type) -> tuple[bytes, object]:
    """Read a listed file: a regular file inside the root, valid, and at the place its content names.

    Raises ``RecordingFormatError`` (invalid content), ``UnsafePathError`` (outside the root, not a regular
    file, misplaced) or ``OSError``.
    """
    ensure_inside(layout.root, path)  # a symlink may point elsewhere in the root, never outside it
    if not path.is_file():
        raise UnsafePathError("not a regular file")
    data = path.read_bytes()
    doc = kind.from_json_bytes(data, path)
    places = layout.game_paths(doc) if isinstance(doc, GameRecording) else (layout.session_path(doc),)
    wheres = [place.relative_to(layout.root).as_posix() for place in places]
    if path.relative_to(layout.root).as_posix() not in wheres:
        raise UnsafePathError(f"misplaced: its content belongs at {wheres[0]}")
    return data, doc


def game_entry(game: GameRecording, file: str, size: int) -> IndexGameEntry:
    """The index entry of a game file (``file``: its path relative to the day folder; ``size``: bytes)."""
    meta = game.meta
    return IndexGameEntry(
        file=file,
        game_id=meta.game_id,
        start_time=meta.start_time,
        duration_ticks=meta.duration_ticks,
        peak_multiplier=meta.peak_multiplier,
        end_time=meta.end_time,
        rug_price=game.rug_price,
        verified=meta.verified,
        size=size,
    )


def session_entry(session: SessionRecording, file: str, size: int) -> IndexSessionEntry:
    """The index entry of a session file (as :func:`game_entry`)."""
    meta = session.meta
    return IndexSessionEntry(
        file=file,
        player_id=meta.player_id,
        username=meta.username,
        games_played=session.games_played,
        total_actions=len(session.actions),
        session_start=meta.session_start,
        session_end=meta.session_end,
        game_ids=session.game_ids,
        size=size,
    )


def known_file(path: Path, stamp: FileStamp, doc: GameRecording | SessionRecording) -> KnownFile:
    """What a writer remembers of the file it has just written at ``path`` (``day/games/...``)."""
    file = path.relative_to(path.parent.parent).as_posix()
    if isinstance(doc, GameRecording):
        return KnownFile(stamp, file, entry_text(game_entry(doc, file, stamp[2])), doc.meta.game_id)
    return KnownFile(stamp, file, entry_text(session_entry(doc, file, stamp[2])))


Known = Mapping[str, KnownFile]
Item = tuple[str | IndexGameEntry | IndexSessionEntry, str | None]  # (known text or new entry, game id)


def _known_hit(known: Known | None, path: Path, file: str, game: bool) -> KnownFile | None:
    """The known entry of ``path`` if the file is still the one its writer wrote, else None."""
    hit = known.get(str(path)) if known is not None else None  # not `if known`: a store's len() is a query
    if hit is None or hit.file != file or (hit.game_id is not None) != game:
        return None
    return hit if file_stamp(path) == hit.stamp else None


@dataclass
class _Scan:
    """A day folder's files, each as its entry (known text, or a model read now) or as excluded."""

    games: list[Item] = field(default_factory=list)
    sessions: list[Item] = field(default_factory=list)
    excluded: list[ExcludedFile] = field(default_factory=list)
    problems: list[FileProblem] = field(default_factory=list)

    def exclude(self, day_dir: Path, path: Path, exc: Exception) -> None:
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        error = str(exc) if isinstance(exc, RecordingFormatError) else f"{path}: {exc}"
        self.problems.append(FileProblem(path, error))
        self.excluded.append(ExcludedFile(file=_rel(day_dir, path), size=size, error=_short_error(exc)))


def _scan(day_dir: Path, layout: RecordingsLayout, known: Known | None) -> _Scan:
    scan = _Scan()
    seen_games: dict[str, str] = {}
    for path in layout.game_files(day_dir):
        file = _rel(day_dir, path)
        try:
            hit = _known_hit(known, path, file, game=True)
            if hit is not None:
                item: Item = (hit.text, hit.game_id)
            else:
                data, game = read_checked(layout, path, GameRecording)
                assert isinstance(game, GameRecording)
                item = (game_entry(game, file, len(data)), game.meta.game_id)
            game_id = item[1]
            assert game_id is not None
            if game_id in seen_games:
                raise UnsafePathError(f"duplicate of game {game_id} in {seen_games[game_id]}")
        except (RecordingFormatError, UnsafePathError, OSError) as exc:
            scan.exclude(day_dir, path, exc)
            continue
        seen_games[game_id] = file
        scan.games.append(item)
    for path in layout.session_files(day_dir):
        file = _rel(day_dir, path)
        try:
            hit = _known_hit(known, path, file, game=False)
            if hit is not None:
                item = (hit.text, None)
            else:
                data, session = read_checked(layout, path, SessionRecording)
                assert isinstance(session, SessionRecording)
                item = (session_entry(session, file, len(data)), None)
        except (RecordingFormatError, UnsafePathError, OSError) as exc:
            scan.exclude(day_dir, path, exc)
            continue
        scan.sessions.append(item)
    return scan


def build_index(day_dir: Path | str, known: Known | None = None) -> tuple[DailyIndex, list[FileProblem]]:
    """The index of a day folder as the files say it should be, and the files that could not be indexed.

    Nothing is written. ``known``: entries of files their writer has just written (module docstring).
    Raises ``ValueError`` if ``day_dir`` is not named ``YYYY-MM-DD``.
    """
    day_dir, layout = _day_of(Path(day_dir))
    scan = _scan(day_dir, layout, known)

    def model(item: Item, kind: type[IndexGameEntry] | type[IndexSessionEntry]) -> object:
        value = item[0]
        return kind.from_file_dict(loads_document(value.encode("ascii"))) if isinstance(value, str) else value

    index = DailyIndex(
        date=parse_day(day_dir.name),
        games=tuple(model(i, IndexGameEntry) for i in scan.games),
        sessions=tuple(model(i, IndexSessionEntry) for i in scan.sessions),
        excluded=tuple(scan.excluded) or None,
    )
    return index, scan.problems


def rebuild_index(day_dir: Path | str, known: Known | None = None) -> DayReport:
    """Rebuild ``day_dir/index.json`` from the files (see the module docstring; ``known`` as there).

    The bytes are those of ``DailyIndex(...).to_json_bytes()``, written without building the document."""
    day_dir, layout = _day_of(Path(day_dir))
    scan = _scan(day_dir, layout, known)

    def texts(items: list[Item]) -> Iterator[str]:
        return (value if isinstance(value, str) else entry_text(value) for value, _ in items)

    groups = [("games", texts(scan.games)), ("sessions", texts(scan.sessions))]
    if scan.excluded:
        groups.append(("excluded", (entry_text(e) for e in scan.excluded)))
    date = format_day(parse_day(day_dir.name))
    written = atomic_write_chunks(day_dir / INDEX_NAME, _index_chunks(date, groups))
    return DayReport(day_dir, len(scan.games), len(scan.sessions), scan.problems, written=written)


def _index_chunks(date: str, groups: list[tuple[str, Iterator[str]]]) -> Iterator[bytes]:
    """``index.json`` as :func:`recorder.files.jsonio.dumps_document` writes it, in pieces of ~64 KB."""
    pending: list[str] = ['{\n  "date": ', dumps_at(date, 1)]
    size = 0
    for key, entries in groups:
        pending.append(f',\n  "{key}": [')
        first = True
        for text in entries:
            pending.append("\n    " if first else ",\n    ")
            pending.append(text)
            first = False
            size += len(text)
            if size >= 1 << 16:
                yield "".join(pending).encode("ascii")
                pending, size = [], 0
        pending.append("]" if first else "\n  ]")
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
            present[_rel(day_dir, path)] = path.stat().st_size
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
