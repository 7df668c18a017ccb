"""The raw journal: every event received, append-only JSONL, so recordings can always be re-derived.

``{out}/journal/YYYY-MM-DD/{YYYYMMDDTHHMMSS}_{run}.journal.jsonl`` (UTC day of the events; a new file when
the day changes). The first line is a header, then one line per event::

    {"journal": "rugs-recorder", "version": 1, "run": "20251212T221658-4f1c", "started": "...Z", ...}
    {"seq": 1, "ts": "2025-12-12T22:16:58.624285Z", "conn": 0, "event": "connect", "args": []}
    {"seq": 2, "ts": "2025-12-12T22:16:58.952637Z", "conn": 0, "event": "gameStateUpdate", "args": [{...}]}

``args`` are all the arguments exactly as received (a trace object first when there is one). Connection
changes are the events ``connect`` and ``disconnect``; lines whose event starts with ``@`` are the
recorder's own notes (``@health`` snapshots, ``@authenticate`` results), which the pipeline ignores.
The arguments are written as
the JSON text received when the feed provides it (no second encoding).

Secrets (the auth token) never reach the file: every line is scrubbed of them before it is written. The
buffer is flushed every 50 ms, so a killed recorder loses at most that much and leaves at worst one
truncated last line, which :func:`read_journal` counts and skips.

Reading parses each line with :func:`loads_line`: msgspec's JSON decoder, about three times faster than the
standard library's on the feed's number-heavy messages, and giving the very same values (every float the
same double, big integers exact; proven on every number of the bundled capture and by property tests),
with the standard library as the fallback for what msgspec refuses and ``json`` accepts (``NaN``,
``Infinity``, numbers overflowing to infinity, lone surrogates).
"""

from __future__ import annotations

import json
import logging
import os
import secrets as _secrets
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import msgspec

log = logging.getLogger(__name__)
JOURNAL_DIR = "journal"
JOURNAL_MAGIC = "rugs-recorder"
JOURNAL_SUFFIX = ".journal.jsonl"
REDACTED = "<redacted>"
FLUSH_EVERY = 0.05  # seconds between flushes of the journal's buffer
READ_BUFFER = 1 << 20  # bytes read at once from journals and captures


_DECODER = msgspec.json.Decoder()


def loads_line(text: str | bytes) -> Any:
    """``json.loads(text)``, faster (see the module docstring): the same value, or the same exception."""
    try:
        return _DECODER.decode(text)
    except (msgspec.DecodeError, RecursionError):
        return json.loads(text)


def format_ts(at: datetime) -> str:
    """``2025-12-12T22:16:58.624285Z`` (UTC, microseconds)."""
    if at.utcoffset():
        at = at.astimezone(UTC)
    return at.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def parse_ts(text: Any) -> datetime | None:
    """Inverse of :func:`format_ts`; also accepts any ISO time with an offset. None when not a time."""
    if not isinstance(text, str):
        return None
    try:
        at = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return at.astimezone(UTC) if at.tzinfo is not None else None


MIN_SECRET = 8  # shorter secrets cannot be told from data (hex ids...): they are not scrubbed


class Scrubber:
    """Removes secrets from text (their plain and JSON-escaped spellings).

    Secrets shorter than :data:`MIN_SECRET` characters are left alone: scrubbing ``abc`` would corrupt
    every seed and id containing it. They never reach the journal anyway (the recorder sends the token,
    it does not receive it); this is the safety net for a server that would echo it.
    """

    def __init__(self, secrets: Sequence[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret and len(secret) >= MIN_SECRET:
                forms.add(secret)
                forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
                forms.add(json.dumps(secret)[1:-1])
        self._forms = sorted(forms, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for form in self._forms:
            if form in text:
                text = text.replace(form, REDACTED)
        return text

    def __bool__(self) -> bool:
        return bool(self._forms)


class JournalWriter:
    """Appends events to the journal under ``root/journal`` (see the module docstring)."""

    def __init__(
        self,
        root: Path | str,
        *,
        secrets: Sequence[str] = (),
        header: dict[str, Any] | None = None,
        run: str | None = None,
        started: datetime | None = None,
    ) -> None:
        self.directory = Path(root) / JOURNAL_DIR
        self.scrub = Scrubber(secrets)
        self.started = started or datetime.now(UTC)
        self.run = run or f"{self.started:%Y%m%dT%H%M%S}-{_secrets.token_hex(2)}"
        self.header = dict(header or {})
        self.lines = 0
        self.errors = 0
        self._seq = 0
        self._day: str | None = None
        self._flushed = time.monotonic()
        self._fh: IO[str] | None = None
        self.path: Path | None = None

    def _open(self, at: datetime) -> IO[str]:
        day = at.astimezone(UTC).strftime("%Y-%m-%d")
        if self._fh is not None and day == self._day:
            return self._fh
        self.close()
        folder = self.directory / day
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / f"{at.astimezone(UTC):%Y%m%dT%H%M%S}_{self.run}{JOURNAL_SUFFIX}"
        self._fh = open(self.path, "a", encoding="utf-8", buffering=1 << 16)
        self._day = day
        head = {
            "journal": JOURNAL_MAGIC,
            "version": 1,
            "run": self.run,
            "started": format_ts(self.started),
            **self.header,
        }
        self._fh.write(self.scrub(json.dumps(head, ensure_ascii=False, default=repr)) + "\n")
        return self._fh

    def write(
        self, at: datetime, event: str, args: Sequence[Any] | None, conn: int = 0, text: str | None = None
    ) -> str | None:
        """One event, as received. Never raises (a full disk is logged and counted).

        ``text``, when given, is the JSON array of ``args`` exactly as received (it is written as is).
        Returns the JSON text of ``args`` as written (a cheap identity for recognising the same event
        arriving on several connections), or None if it could not be serialised.
        """
        self._seq += 1
        body = text
        if body is None:
            try:
                body = _args_json(args, ascii_only=False)
            except (ValueError, TypeError, RecursionError) as exc:
                self.errors += 1
                if self.errors <= 3:
                    log.error("journal: cannot serialise a %s event: %s", event, exc)
                return None
        line = self._line(at, event, conn, body, ascii_only=False)
        try:
            fh = self._open(at)
            try:
                fh.write(line + "\n")
            except UnicodeEncodeError:  # a lone surrogate (received as a JSON escape): written escaped again
                body = _args_json(args, ascii_only=True)
                fh.write(self._line(at, event, conn, body, ascii_only=True) + "\n")
            self.lines += 1
            now = time.monotonic()
            if now - self._flushed >= FLUSH_EVERY:  # a killed recorder loses at most this much journal
                fh.flush()
                self._flushed = now
        except (OSError, ValueError, RecursionError) as exc:  # the fallback re-encodes args: may be too deep
            self.errors += 1
            if self.errors <= 3:
                log.error("journal write failed: %s", exc)
        return body

    def _line(self, at: datetime, event: str, conn: int, body: str, *, ascii_only: bool) -> str:
        line = (
            f'{{"seq":{self._seq},"ts":"{format_ts(at)}","conn":{conn},'
            f'"event":{json.dumps(event, ensure_ascii=ascii_only)},"args":{body}}}'
        )
        return self.scrub(line) if self.scrub else line

    def note(self, at: datetime, kind: str, data: Any) -> None:
        """A note of the recorder's own (``@kind``): health snapshots, authentication results."""
        self.write(at, f"@{kind}", [data])

    def close(self) -> None:
        if self._fh is not None:
            try:
                self._fh.flush()
                os.fsync(self._fh.fileno())
                self._fh.close()
            except OSError as exc:
                log.error("closing the journal failed: %s", exc)
            self._fh = None


def _args_json(args: Sequence[Any] | None, *, ascii_only: bool) -> str:
    """The JSON array of an event's arguments, compact (a value JSON cannot hold is written as its repr)."""
    return json.dumps(
        list(args) if args else [], ensure_ascii=ascii_only, separators=(",", ":"), default=repr
    )


@dataclass(slots=True)
class JournalEvent:
    """One event read back from a journal or a capture."""

    at: datetime
    event: str
    args: list[Any]
    conn: int = 0


@dataclass(slots=True)
class ReadStats:
    lines: int = 0
    bad_lines: int = 0  # not JSON, not an object, truncated, without a time or event: skipped
    header: dict[str, Any] | None = None


def read_journal(path: Path | str, stats: ReadStats | None = None) -> Iterator[JournalEvent]:
    """The events of one of our journal files, in order; bad lines are counted in ``stats`` and skipped."""
    stats = stats if stats is not None else ReadStats()
    for record in json_lines(path, stats):
        if isinstance(record, dict) and record.get("journal") == JOURNAL_MAGIC:
            stats.header = stats.header or record
            continue
        at = parse_ts(record.get("ts")) if isinstance(record, dict) else None
        event = record.get("event") if isinstance(record, dict) else None
        args = record.get("args") if isinstance(record, dict) else None
        if at is None or not isinstance(event, str) or not isinstance(args, list):
            stats.bad_lines += 1
            continue
        conn = record.get("conn")
        conn = conn if isinstance(conn, int) and not isinstance(conn, bool) else 0
        yield JournalEvent(at, event, args, conn)


def json_lines(path: Path | str, stats: ReadStats) -> Iterator[Any]:
    """The parsed non-blank lines of a JSONL file; a line that is not JSON (a truncated tail, a crash in
    the middle of a write) is counted in ``stats.bad_lines`` and skipped."""
    # Large reads: each read is a system call during which the write batch's threads may take the GIL
    # (~0.5 ms to get it back on a busy machine). The text layer asks for _CHUNK_SIZE bytes at a time (8 KiB
    # by default) and the buffer below it passes such a request straight to the file when it is empty.
    with open(path, encoding="utf-8", errors="replace", buffering=READ_BUFFER) as fh:
        fh._CHUNK_SIZE = READ_BUFFER  # type: ignore[attr-defined] - CPython's TextIOWrapper reads this
        for line in fh:
            if not line.strip():
                continue
            stats.lines += 1
            try:
                yield loads_line(line)
            except (ValueError, RecursionError):
                stats.bad_lines += 1


def journal_header(path: Path | str) -> dict[str, Any] | None:
    """The header of a journal file (None if the first line is not one)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            first = fh.readline()
        record = loads_line(first)
    except (OSError, ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) and record.get("journal") == JOURNAL_MAGIC else None
