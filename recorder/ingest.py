"""Offline ingest: recordings re-derived from our own journals and from the captures in realdata.

Formats, detected from the file's first line (:func:`detect_format`):

- ``journal``: our own raw journal (:mod:`recorder.journal`). Journal files of one run (a run is split by
  UTC day) are fed, in order, to one pipeline, exactly as the live recorder did, so the files come out as
  live recording wrote them (``source: live``). The recorder's own notes are ignored, except
  ``@reconciled``: the live player's record of a fill it learnt only by reconciliation (its ack and its
  event were lost), which it handed to the pipeline as the event it never received. Ingest hands it over
  the same way (:func:`honour_notes`), so that a bot's journal re-derives the session file it wrote.
- ``raw``: the ``{seq, ts, event, data}`` raw capture (python-socketio, ``data`` the payload or
  ``[trace, payload]``, ``ts`` local time without a zone). The UTC offset is found from the capture itself:
  the seed of a game is revealed within seconds of the ``gameHistory`` timestamp, so the smallest
  difference between a message's local time and the newest history timestamp it carries is the offset
  plus a few seconds, rounded to a quarter hour (or give ``utc_offset``). Games watched are ``source:
  ingest``.
- ``replayer``: the older per-tick ``game_*.jsonl`` recordings (``game_start``/``tick``/``game_end``
  lines), read by :func:`recorder.ingest_replayer.scan_replayer_file` (no seeds: unverified games;
  refused games are reported with their reason). Their naive times are read as UTC unless
  ``utc_offset`` says otherwise.

Ingest writes through the same :class:`~recorder.sink.RecordingSink` as live recording: one file per game
id, a better recording replaces a worse one, identical content gives identical bytes. Ingesting the same
files twice therefore yields the same tree.
"""

from __future__ import annotations

import logging
import mmap
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import msgspec

from recorder.events import as_int
from recorder.files import GameSource, SessionSource
from recorder.ingest_replayer import ReplayerFormatError, is_replayer_file, scan_replayer_file
from recorder.journal import JournalEvent, ReadStats, journal_header, json_lines, loads_line, read_journal
from recorder.pipeline import PipelineConfig, RecorderPipeline
from recorder.sink import KEEP_KNOWN, RecordingSink

log = logging.getLogger(__name__)
QUARTER_HOUR = 900.0


class IngestError(Exception):
    """A file that cannot be ingested at all (unreadable, unknown format)."""


@dataclass(slots=True)
class FileReport:
    """What ingesting one file (or one journal run) did."""

    paths: list[Path]
    format: str
    events: int = 0
    bad_lines: int = 0
    malformed: int = 0
    errors: int = 0  # events whose handling failed on a bug (logged with its traceback; the rest went on)
    games: int = 0  # game files written or confirmed
    sessions: int = 0
    utc_offset: timedelta | None = None
    skipped: str | None = None  # why nothing was ingested
    notes: list[str] = field(default_factory=list)  # games refused, lines skipped...


@dataclass(slots=True)
class IngestReport:
    files: list[FileReport] = field(default_factory=list)
    errors: int = 0

    @property
    def games(self) -> int:
        return sum(f.games for f in self.files)

    @property
    def sessions(self) -> int:
        return sum(f.sessions for f in self.files)


def detect_format(path: Path | str) -> str:
    """``journal``, ``raw``, ``replayer`` or ``unknown``, from the first non-empty line."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = next((line for line in fh if line.strip()), "")
    except OSError as exc:
        raise IngestError(f"{path}: cannot read: {exc}") from None
    try:
        record = loads_line(first)
    except (ValueError, RecursionError):
        return "unknown"
    if not isinstance(record, dict):
        return "unknown"
    if record.get("journal") == "rugs-recorder":
        return "journal"
    if "event" in record and "data" in record and "ts" in record:
        return "raw"
    if is_replayer_file(path):
        return "replayer"
    return "unknown"


# -- the raw capture ----------------------------------------------------------------------------------------
def _raw_records(path: Path, stats: ReadStats) -> Iterator[dict[str, Any]]:
    for record in json_lines(path, stats):
        if not isinstance(record, dict) or not isinstance(record.get("event"), str):
            stats.bad_lines += 1
            continue
        yield record


def _local_time(text: Any) -> datetime | None:
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _args(data: Any) -> list[Any]:
    if data is None:
        return []
    return list(data) if isinstance(data, list) else [data]


class _Stamp(msgspec.Struct):
    timestamp: Any = None


class _HistoryPayload(msgspec.Struct):
    gameHistory: list[_Stamp] | None = None  # the wire's name


class _HistoryRecord(msgspec.Struct):
    ts: Any = None
    event: Any = None
    data: _HistoryPayload | list[Any] | None = None


# Decodes only what detect_utc_offset reads (the rest is checked as JSON but never built: the prices of ten
# history entries per line); a line of any other shape goes to the generic reading, which gives the same.
_HISTORY = msgspec.json.Decoder(_HistoryRecord)


def _history_stamps(line: str | bytes) -> tuple[Any, Any, list[Any] | None] | None:
    """``(event, ts, the timestamps of its gameHistory entries)`` of a capture line; None if not a record."""
    try:
        fast = _HISTORY.decode(line)
    except (msgspec.DecodeError, RecursionError):
        fast = None
    if fast is not None and not isinstance(fast.data, list):
        entries = fast.data.gameHistory if fast.data is not None else None
        return fast.event, fast.ts, None if entries is None else [e.timestamp for e in entries]
    try:
        record = loads_line(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(record, dict):
        return None
    payload = _args(record.get("data"))[-1:] or [None]
    history = payload[0].get("gameHistory") if isinstance(payload[0], dict) else None
    if not isinstance(history, list):
        return record.get("event"), record.get("ts"), None
    return record.get("event"), record.get("ts"), [e.get("timestamp") for e in history if isinstance(e, dict)]


def detect_utc_offset(path: Path | str) -> timedelta | None:
    """The capture's local-time offset from UTC (see the module docstring); None if it cannot tell."""
    best: float | None = None
    for line in _lines_with(path, b'"gameHistory"'):
        found = _history_stamps(line)
        if found is None or found[0] != "gameStateUpdate" or found[2] is None:
            continue
        local = _local_time(found[1])
        stamps = [s for s in (as_int(t) for t in found[2]) if s is not None]
        if local is None or local.tzinfo is not None or not stamps:
            continue
        newest = datetime.fromtimestamp(max(stamps) / 1000, UTC).replace(tzinfo=None)
        diff = (local - newest).total_seconds()
        best = diff if best is None else min(best, diff)
    if best is None:
        return None
    return timedelta(seconds=round(best / QUARTER_HOUR) * QUARTER_HOUR)


def _lines_with(path: Path | str, needle: bytes) -> Iterator[str | bytes]:
    """The lines of a text file that contain ``needle`` (ASCII), as reading it as UTF-8 text (errors
    replaced, universal newlines) gives them, without their line break; found in the bytes, so that a capture
    whose few history lines are all that is wanted is not decoded whole. A line of ASCII comes as its bytes
    (the very same characters, which msgspec and :func:`loads_line` read as they are)."""
    with open(path, "rb") as fh:
        try:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # an empty file cannot be mapped
            return
    with data:
        at = data.find(needle)
        while at >= 0:
            # each search bounded by the line feed found first: a file without \r is not scanned whole
            start = data.rfind(b"\n", 0, at) + 1
            start = data.rfind(b"\r", start, at) + 1 or start
            end = data.find(b"\n", at)
            end = len(data) if end < 0 else end
            cr = data.find(b"\r", at, end)
            end = end if cr < 0 else cr
            line = data[start:end]
            yield line if line.isascii() else line.decode("utf-8", "replace")  # ASCII: the same characters
            at = data.find(needle, end)


def read_raw_capture(
    path: Path | str, stats: ReadStats, utc_offset: timedelta | None = None
) -> Iterator[JournalEvent]:
    """The events of a ``{seq, ts, event, data}`` capture with UTC times (see the module docstring)."""
    path = Path(path)
    offset = utc_offset if utc_offset is not None else (detect_utc_offset(path) or timedelta(0))
    for record in _raw_records(path, stats):
        local = _local_time(record.get("ts"))
        if local is None:
            stats.bad_lines += 1
            continue
        at = local.astimezone(UTC) if local.tzinfo is not None else (local - offset).replace(tzinfo=UTC)
        yield JournalEvent(at, record["event"], _args(record.get("data")))


# -- the journal's notes ------------------------------------------------------------------------------------
RECONCILED = "@reconciled"


def honour_notes(events: Iterable[JournalEvent], report: FileReport | None = None) -> Iterator[JournalEvent]:
    """The journal's events with each ``@reconciled`` note replaced by the event it stands for.

    The live player (``rugs_env.live.recording.LiveRecording.inject``) writes the note
    ``{"event": name, "payload": {...}}`` and then feeds the pipeline that very event, at the note's time, on
    connection 0; this does the same. A malformed note is counted in ``report.notes`` and passed on as the
    note it is (which the pipeline ignores).
    """
    for event in events:
        if event.event == RECONCILED:
            data = event.args[-1] if event.args else None
            name = data.get("event") if isinstance(data, dict) else None
            if isinstance(name, str) and name and not name.startswith("@") and "payload" in data:
                yield JournalEvent(event.at, name, [data["payload"]], event.conn)
                continue
            if report is not None:
                report.notes.append(f"malformed {RECONCILED} note at {event.at.isoformat()} skipped")
        yield event


# -- ingesting --------------------------------------------------------------------------------------------
def _run_pipeline(
    sink: RecordingSink, events: Iterable[JournalEvent], config: PipelineConfig, report: FileReport
) -> None:
    pipeline = RecorderPipeline(sink, config)
    before = sink.games_written + sink.games_kept
    for event in events:
        pipeline.feed(event.at, event.event, event.args, event.conn)
        report.events += 1
    pipeline.finish()
    report.malformed = pipeline.counters.malformed
    report.errors = pipeline.counters.errors
    report.games = sink.games_written + sink.games_kept - before
    report.sessions = len(pipeline.sessions)


def _journal_runs(paths: Sequence[Path]) -> list[list[Path]]:
    """Journal files grouped by run (header ``run``), each group in time order."""
    runs: dict[str, list[Path]] = {}
    for path in paths:
        header = journal_header(path) or {}
        runs.setdefault(str(header.get("run") or path), []).append(path)
    return [sorted(group, key=lambda p: p.name) for group in runs.values()]


def ingest_config(
    fmt: str, *, follow: Sequence[str] = (), start_balance: int | None = None, tolerance: int = 0
) -> PipelineConfig:
    """The pipeline's configuration for an input of format ``fmt`` (``journal`` or ``raw``), as
    :func:`ingest_files` runs it (also what the benchmark measures)."""
    # Sessions are written once, at the end of each input: rewriting them as they grow only matters live.
    # A journal re-derives what was recorded live (its sources are live); a raw capture's are ingest.
    sources: dict[str, Any] = (
        {} if fmt == "journal" else dict(live_source=GameSource.INGEST, session_source=SessionSource.INGEST)
    )
    return PipelineConfig(
        follow=tuple(follow),
        start_balance=start_balance,
        tolerance=tolerance,
        session_write_interval=float("inf"),
        **sources,
    )


def ingest_files(
    paths: Sequence[Path | str],
    out: Path | str,
    *,
    follow: Sequence[str] = (),
    start_balance: int | None = None,
    tolerance: int = 0,
    utc_offset: timedelta | None = None,
) -> IngestReport:
    """Ingest every file into the recordings tree ``out`` (see the module docstring)."""
    # One write batch (files written by a thread, folders fsynced once at the end); indexes from what was
    # written, not read back.
    sink = RecordingSink(out, index_interval=-1, batch_sync=True, keep_known=KEEP_KNOWN)
    report = IngestReport()
    by_format: dict[str, list[Path]] = {}
    for raw in paths:
        path = Path(raw)
        fmt = detect_format(path)
        by_format.setdefault(fmt, []).append(path)
    options: dict[str, Any] = dict(follow=follow, start_balance=start_balance, tolerance=tolerance)
    for group in _journal_runs(by_format.get("journal", [])):
        file_report = FileReport(group, "journal")
        stats = ReadStats()
        events = honour_notes((e for p in group for e in read_journal(p, stats)), file_report)
        config = ingest_config("journal", **options)
        _run_pipeline(sink, events, config, file_report)
        file_report.bad_lines = stats.bad_lines
        report.files.append(file_report)
    for path in by_format.get("raw", []):
        file_report = FileReport([path], "raw")
        file_report.utc_offset = utc_offset if utc_offset is not None else detect_utc_offset(path)
        stats = ReadStats()
        config = ingest_config("raw", **options)
        _run_pipeline(sink, read_raw_capture(path, stats, file_report.utc_offset), config, file_report)
        file_report.bad_lines = stats.bad_lines
        report.files.append(file_report)
    zone = timezone(utc_offset) if utc_offset is not None else UTC
    for path in by_format.get("replayer", []):
        file_report = FileReport([path], "replayer")
        report.files.append(file_report)
        try:
            scan = scan_replayer_file(path, assume_tz=zone)
        except ReplayerFormatError as exc:
            report.errors += 1
            file_report.skipped = str(exc)
            continue
        file_report.notes = [f"refused {r}" for r in scan.refused] + scan.notes
        for game in scan.games:
            if sink.write_game(game) is not None:
                file_report.games += 1
        if not scan.games:
            file_report.skipped = "no game could be read: " + "; ".join(str(r) for r in scan.refused)
    for path in by_format.get("unknown", []):
        report.files.append(
            FileReport([path], "unknown", skipped="not a journal, raw capture or per-tick file")
        )
    sink.close()
    report.errors += sink.errors + sum(f.errors for f in report.files)
    return report
