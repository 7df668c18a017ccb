"""Checking a recordings folder: :func:`check_recordings` reads every file once and returns a
:class:`~recorder.checks.CheckReport`.

For a recordings root (every ``YYYY-MM-DD`` folder under it) or one day folder:

1. every game file is read strictly, must lie where its content says it belongs and hold a game no other
   file holds, and is checked by :func:`~recorder.checks.check_game` (seed, meta, gaps);
2. every session file is read strictly (and must be in its place) and checked by
   :func:`~recorder.checks.check_session` against the games found: orphan actions, ticks past the rug,
   drift. When a single day folder is checked, the games of the neighbouring days (from their indexes,
   rebuilt in memory if stale, never written) count too, since a session crossing midnight spans two days;
3. each day's ``index.json`` is compared with the files: presence, file names and sizes
   (:func:`recorder.files.index_status`), then every entry's fields against the file it summarises.

Nothing is written. Files in ``games/`` or ``sessions/`` that are not recordings are reported as stray
(temporary dot files excepted).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from recorder.checks import CheckReport, Kind, Problem, check_game, check_session
from recorder.files import (
    GAMES_DIR,
    INDEX_NAME,
    SESSIONS_DIR,
    DailyIndex,
    GameRecording,
    RecordingFormatError,
    RecordingsLayout,
    SessionRecording,
    UnsafePathError,
    day_dirs,
    format_day,
    format_time,
    index_status,
    is_day_dir,
    load_index,
    parse_day,
    read_checked,
    read_index,
)

Progress = Callable[[int, int], None]  # (files done, files in all), called after each file
_SHOWN_FILES = 3  # file names spelled out in an index problem


def check_recordings(path: Path | str, *, progress: Progress | None = None) -> CheckReport:
    """Check every file under ``path``, a recordings root or one day folder (see the module docstring).

    Raises ``NotADirectoryError`` if ``path`` is not a directory; bad data never raises, it is reported.
    """
    path = Path(path)
    if not path.is_dir():
        raise NotADirectoryError(f"{path} is not a directory")
    single_day = is_day_dir(path)
    layout = RecordingsLayout(path.parent if single_day else path)
    days = day_dirs(path)
    report = CheckReport(root=path, days=len(days))
    listings = [(day, layout.game_files(day), layout.session_files(day)) for day in days]
    total = sum(len(g) + len(s) for _, g, s in listings)
    done = 0
    rug_ticks: dict[str, int] = {}
    game_files: dict[str, Path] = {}
    sessions: list[tuple[Path, SessionRecording]] = []

    def step() -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total)

    for day, games, session_paths in listings:
        facts: dict[str, tuple[Any, int]] = {}  # file (relative to the day) -> (document, size)
        for file in games:
            read = _read_file(layout, file, GameRecording, report)
            if read is not None:
                game, size = read
                assert isinstance(game, GameRecording)
                if game.game_id in game_files:
                    first = game_files[game.game_id]
                    report.problems.append(_corrupt(file, f"a second file of game {game.game_id} ({first})"))
                else:
                    game_files[game.game_id] = file
                    facts[_rel(day, file)] = (game, size)
                    check = check_game(game, file)
                    rug_ticks[game.game_id] = check.rug_tick
                    report.add_game(check)
            step()
        for file in session_paths:
            read = _read_file(layout, file, SessionRecording, report)
            if read is not None:
                assert isinstance(read[0], SessionRecording)
                sessions.append((file, read[0]))
                facts[_rel(day, file)] = read
            step()
        report.problems.extend(_stray_files(day))
        report.indexes_checked += 1
        problem = _index_problem(day, facts)
        if problem is not None:
            report.problems.append(problem)

    if single_day:
        for game_id, rug_tick in _neighbour_games(path).items():
            rug_ticks.setdefault(game_id, rug_tick)
    for file, session in sessions:
        report.add_session(check_session(session, rug_ticks, file))
    return report


# -- reading --


def _read_file(
    layout: RecordingsLayout,
    path: Path,
    kind: type[GameRecording] | type[SessionRecording],
    report: CheckReport,
) -> tuple[GameRecording | SessionRecording, int] | None:
    """The document and its size in bytes, or None after reporting why the file cannot be used."""
    try:
        data, doc = read_checked(layout, path, kind)
    except RecordingFormatError as exc:
        report.problems.append(_corrupt(path, _format_error(exc)))
        return None
    except (UnsafePathError, OSError) as exc:
        report.problems.append(_corrupt(path, str(exc)))
        return None
    return doc, len(data)


def _format_error(exc: RecordingFormatError) -> str:
    """The error without its file name (the problem names the file)."""
    text = f"{exc.field}: {exc.detail}" if exc.field else exc.detail
    extra = len(exc.problems) - 1
    return text + (f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra > 0 else "")


def _corrupt(path: Path, message: str) -> Problem:
    return Problem(Kind.CORRUPT, path, message)


def _rel(day: Path, path: Path) -> str:
    return path.relative_to(day).as_posix()


def _stray_files(day: Path) -> list[Problem]:
    """Entries of ``games/`` and ``sessions/`` that the listings skip (temporary dot files excepted)."""
    problems = []
    for sub, suffix in ((GAMES_DIR, ".game.json"), (SESSIONS_DIR, "_session.json")):
        folder = day / sub
        if not folder.is_dir():
            continue
        for entry in sorted(folder.iterdir()):
            if entry.name.startswith("."):
                continue
            if not entry.name.endswith(suffix) or entry.is_dir():
                problems.append(Problem(Kind.STRAY, entry, f"not a {sub[:-1]} recording; ignored"))
    return problems


def _neighbour_games(day: Path) -> dict[str, int]:
    """Rug ticks of the games of the days before and after ``day`` (from their indexes, not written)."""
    found: dict[str, int] = {}
    when = parse_day(day.name)
    for other in (when - timedelta(days=1), when + timedelta(days=1)):
        folder = day.parent / format_day(other)
        if not is_day_dir(folder):
            continue
        try:
            index = load_index(folder, write=False)
        except (RecordingFormatError, OSError, ValueError):
            continue  # its own check reports it; here it only helps to resolve orphans
        found.update((e.game_id, e.duration_ticks - 1) for e in index.games)
    return found


# -- the index --


def _index_problem(day: Path, facts: dict[str, tuple[Any, int]]) -> Problem | None:
    """One problem summing up how ``day/index.json`` differs from the files, or None if it agrees."""
    status = index_status(day)
    index_file = day / INDEX_NAME
    if not status.exists:
        return Problem(Kind.INDEX, index_file, "missing (rugs index rebuilds it)")
    if status.error is not None:
        return Problem(Kind.INDEX, index_file, f"unreadable: {status.error}")
    if status.stale:
        parts = [
            _files_part(status.not_indexed, "not indexed"),
            _files_part(status.missing, "indexed but gone"),
            _files_part(status.changed, "changed since indexed"),
        ]
        return Problem(Kind.INDEX, index_file, "stale: " + "; ".join(p for p in parts if p))
    try:
        index = read_index(day)
    except (RecordingFormatError, OSError) as exc:  # pragma: no cover - index_status read it just now
        return Problem(Kind.INDEX, index_file, f"unreadable: {exc}")
    differences = _entry_differences(index, facts)
    if not differences:
        return None
    more = f"; and {len(differences) - _SHOWN_FILES} more" if len(differences) > _SHOWN_FILES else ""
    return Problem(
        Kind.INDEX,
        index_file,
        "disagrees with the files: " + "; ".join(differences[:_SHOWN_FILES]) + more,
        count=len(differences),
    )


def _files_part(files: list[str], what: str) -> str:
    if not files:
        return ""
    shown = ", ".join(files[:_SHOWN_FILES]) + (", ..." if len(files) > _SHOWN_FILES else "")
    return f"{len(files)} {what} ({shown})"


def _entry_differences(index: DailyIndex, facts: dict[str, tuple[Any, int]]) -> list[str]:
    """Every index entry whose fields differ from its file's, in words."""
    out: list[str] = []
    for entry in index.games:
        fact = facts.get(entry.file)
        if fact is None or not isinstance(fact[0], GameRecording):
            out.append(f"{entry.file} is indexed as a game but cannot be used")
            continue
        game, size = fact
        expected = {
            "game_id": game.game_id,
            "start_time": game.meta.start_time,
            "duration_ticks": game.meta.duration_ticks,
            "peak_multiplier": game.meta.peak_multiplier,
            "end_time": game.meta.end_time,
            "rug_price": game.rug_price,
            "verified": game.meta.verified,
            "size": size,
        }
        out.extend(_field_differences(entry.file, entry, expected))
    for entry in index.sessions:
        fact = facts.get(entry.file)
        if fact is None or not isinstance(fact[0], SessionRecording):
            out.append(f"{entry.file} is indexed as a session but cannot be used")
            continue
        session, size = fact
        expected = {
            "player_id": session.meta.player_id,
            "username": session.meta.username,
            "games_played": session.games_played,
            "total_actions": len(session.actions),
            "session_start": session.meta.session_start,
            "session_end": session.meta.session_end,
            "game_ids": session.game_ids,
            "size": size,
        }
        out.extend(_field_differences(entry.file, entry, expected))
    for excluded in index.excluded or ():
        if excluded.file in facts:
            out.append(f"{excluded.file} is indexed as unusable but reads fine")
    return out


def _field_differences(file: str, entry: Any, expected: dict[str, Any]) -> list[str]:
    """Fields of an index entry that differ from the file's (an addition the index lacks is not one)."""
    out = []
    for name, value in expected.items():
        recorded = getattr(entry, name)
        optional = not type(entry).model_fields[name].is_required()
        if recorded is None and optional:
            continue
        if recorded != value:
            out.append(f"{file}: {name} is {_show(recorded)} in the index, {_show(value)} in the file")
    return out


def _show(value: Any) -> str:
    """A field value as the files spell it (times as UTC strings, prices as their repr)."""
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, tuple):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)
