"""The recording files: the one way to read and write games, sessions and daily indexes.

::

    recordings/YYYY-MM-DD/games/{YYYYMMDDTHHMMSS}_{8 hex}.game.json        GameRecording     (game.py)
    recordings/YYYY-MM-DD/sessions/{YYYYMMDDTHHMMSS}_{user}_session.json   SessionRecording  (session.py)
    recordings/YYYY-MM-DD/index.json                                        DailyIndex        (index_model.py)

In memory: prices are floats, SOL amounts int lamports, token quantities int nano-tokens, times aware UTC
datetimes to the millisecond. In files: prices ``repr`` strings, amounts 9-decimal strings, times
``2025-12-12T22:16:58.123Z`` (``fields.py``). Files are deterministic JSON (``jsonio.py``), written
atomically; reading is strict and every problem is a :class:`RecordingFormatError` naming the file and
the field. Typical use::

    layout = RecordingsLayout("recordings")
    path = layout.write_game(GameRecording.create(game_id=..., start_time=..., end_time=..., prices=...,
                                                  server_seed_hash=..., server_seed=..., version="v3"))
    game = read_game(path)
    for day in layout.days():
        index = load_index(day)          # rebuilt from the files if stale
"""

from recorder.files.batch import DirSyncer, WriteBatch
from recorder.files.day_scan import (
    FileProblem,
    KnownFile,
    game_entry,
    known_file,
    read_checked,
    session_entry,
)
from recorder.files.errors import RecordingConflictError, RecordingFormatError, UnsafePathError
from recorder.files.fields import format_day, format_time, parse_day, parse_time, to_ms, utc_from_ms, utc_now
from recorder.files.game import GameMeta, GameRecording, GameSource, PriceSource, VerificationDetail
from recorder.files.index import (
    DayReport,
    IndexStatus,
    RebuildReport,
    build_index,
    day_dirs,
    index_status,
    load_index,
    read_index,
    rebuild_all,
    rebuild_index,
)
from recorder.files.index_model import DailyIndex, ExcludedFile, IndexGameEntry, IndexSessionEntry
from recorder.files.jsonio import (
    FileStamp,
    atomic_write_bytes,
    atomic_write_chunks,
    cleanup_temp_files,
    file_stamp,
    is_temp_file,
)
from recorder.files.layout import (
    GAMES_DIR,
    INDEX_NAME,
    SESSIONS_DIR,
    RecordingsLayout,
    Written,
    is_day_dir,
    read_game,
    read_session,
    write_game_file,
    write_session_file,
)
from recorder.files.naming import ensure_inside, game_file_name, safe_name, session_file_name
from recorder.files.session import (
    ActionKind,
    ActionTexts,
    SessionAction,
    SessionMeta,
    SessionRecording,
    SessionSource,
    SessionVerification,
)

__all__ = [
    "ActionTexts",
    "DirSyncer",
    "WriteBatch",
    "FileStamp",
    "KnownFile",
    "Written",
    "file_stamp",
    "game_entry",
    "known_file",
    "session_entry",
    "read_checked",
    "parse_day",
    "format_day",
    "GAMES_DIR",
    "INDEX_NAME",
    "SESSIONS_DIR",
    "ActionKind",
    "DailyIndex",
    "DayReport",
    "ExcludedFile",
    "FileProblem",
    "GameMeta",
    "GameRecording",
    "GameSource",
    "IndexGameEntry",
    "IndexSessionEntry",
    "IndexStatus",
    "PriceSource",
    "RebuildReport",
    "RecordingConflictError",
    "RecordingFormatError",
    "RecordingsLayout",
    "SessionAction",
    "SessionMeta",
    "SessionRecording",
    "SessionSource",
    "SessionVerification",
    "UnsafePathError",
    "VerificationDetail",
    "atomic_write_bytes",
    "atomic_write_chunks",
    "build_index",
    "cleanup_temp_files",
    "day_dirs",
    "ensure_inside",
    "format_time",
    "game_file_name",
    "index_status",
    "is_day_dir",
    "is_temp_file",
    "load_index",
    "parse_time",
    "read_game",
    "read_index",
    "read_session",
    "rebuild_all",
    "rebuild_index",
    "safe_name",
    "session_file_name",
    "to_ms",
    "utc_from_ms",
    "utc_now",
    "write_game_file",
    "write_session_file",
]
