"""Safe file names: outside input (usernames, game ids) never escapes the recordings root."""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_files_common import small_game

from recorder.files import (
    RecordingsLayout,
    SessionMeta,
    SessionRecording,
    UnsafePathError,
    ensure_inside,
    game_file_name,
    read_session,
    safe_name,
    session_file_name,
)

START = datetime(2025, 12, 12, 22, 16, 58, 624_000, tzinfo=UTC)
SAFE = re.compile(r"[A-Za-z0-9_-]{1,57}")
HOSTILE = [
    "../../etc/passwd",
    "..",
    ".",
    "...",
    ".hidden",
    "a/b",
    "a\\b",
    "/abs/path",
    "C:\\Windows\\system32",
    "\x00x",
    "x\x00",
    "line\nbreak\r\t",
    "\x1b[31mred",
    "CON",
    "con",
    "nul",
    "COM1",
    "LPT9",
    "x" * 300,
    "🚀" * 50,
    "🚀",
    "ünïcødé",
    "",
    " ",
    "-",
    "--rm -rf",
    "a b",
    "a?b",
    "a*b",
    'quote"s',
    "name.json",
    "\ud800lone surrogate",
    "Zer02Her0",
]


def session(username: str, player_id: str = "did:privy:x") -> SessionRecording:
    meta = SessionMeta(
        player_id=player_id, username=username, session_start=START, session_end=START + timedelta(minutes=1)
    )
    return SessionRecording(meta=meta, actions=())


@pytest.mark.parametrize("username", HOSTILE)
def test_hostile_usernames_give_safe_names_inside_the_root(tmp_path, username):
    name = safe_name(username)
    assert SAFE.fullmatch(name), name
    assert (
        ".." not in name and not name.startswith(".") and name.upper() not in {"CON", "NUL", "COM1", "LPT9"}
    )
    layout = RecordingsLayout(tmp_path / "recordings")
    path = layout.write_session(session(username))
    assert path.parent == tmp_path / "recordings" / "2025-12-12" / "sessions"
    assert path.resolve().is_relative_to((tmp_path / "recordings").resolve())
    assert path.name == f"20251212T221658_{name}_session.json"
    assert read_session(path).meta.username == username  # the real name stays in the file
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [path.name]


def test_hostile_names_do_not_collide():
    names = [safe_name(u) for u in HOSTILE]
    assert len(set(names)) == len(HOSTILE)
    # names that sanitise alike still differ, thanks to the hash of the original
    assert len({safe_name(u) for u in ("a/b", "a b", "a?b", "a*b", "a-b")}) == 5


def test_clean_names_are_kept_and_changes_are_marked():
    assert safe_name("Zer02Her0") == "Zer02Her0"
    assert safe_name("under_score-dash") == "under_score-dash"
    assert re.fullmatch(r"a-b-[0-9a-f]{8}", safe_name("a/b"))
    assert re.fullmatch(r"unnamed-[0-9a-f]{8}", safe_name(""))
    assert re.fullmatch(r"unnamed-[0-9a-f]{8}", safe_name("🚀"))
    assert re.fullmatch(r"CON-[0-9a-f]{8}", safe_name("CON"))
    long = safe_name("x" * 300)
    assert len(long) == 48 + 9 and long.startswith("x" * 48)
    assert safe_name("x" * 48) == "x" * 48
    assert session_file_name("a/b", START) == f"20251212T221658_{safe_name('a/b')}_session.json"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_any_text_gives_a_safe_name(text):
    name = safe_name(text)
    assert SAFE.fullmatch(name)
    assert safe_name(text) == name  # deterministic
    if name == text:
        assert SAFE.fullmatch(text)


def test_game_names_need_a_well_formed_id():
    assert game_file_name("20251212-25dcb17086a24ad7", START) == "20251212T221658_25dcb170.game.json"
    bad_ids = ["../20251212-25dcb17086a24ad7", "20251212-25dcb17086a24ad7/..", "20251212-25DCB17086A24AD7",
               "20251212-25dcb17086a24ad", "2025121-25dcb17086a24ad7a", "", "x" * 25, None, 1]  # fmt: skip
    for bad in bad_ids:
        with pytest.raises(UnsafePathError, match="not a game id"):
            game_file_name(bad, START)  # type: ignore[arg-type]
    with pytest.raises(UnsafePathError):
        RecordingsLayout("/tmp").find_game("../../x")


def test_game_path_comes_from_the_start_date(tmp_path):
    game = small_game(start=datetime(2025, 12, 31, 23, 59, 59, 999_000, tzinfo=UTC))
    path = RecordingsLayout(tmp_path).game_path(game)
    assert path == tmp_path / "2025-12-31" / "games" / "20251231T235959_01234567.game.json"


def test_ensure_inside(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    assert ensure_inside(root, "2025-12-12/games/x.game.json") == root / "2025-12-12/games/x.game.json"
    assert ensure_inside(root, root) == root
    for bad in ["../x", "2025-12-12/../../x", str(tmp_path / "elsewhere"), "/etc/passwd"]:
        with pytest.raises(UnsafePathError, match="outside the recordings root"):
            ensure_inside(root, bad)
    os.symlink(tmp_path, root / "2025-12-13")  # a day folder that is a symlink out of the root
    with pytest.raises(UnsafePathError):
        ensure_inside(root, root / "2025-12-13" / "games" / "x.game.json")


def test_ensure_inside_judges_symlinks_at_any_depth_as_realpath_does(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    (root / "2025-12-12" / "games").mkdir(parents=True)
    outside.mkdir()
    os.symlink(outside / "x.game.json", root / "2025-12-12" / "games" / "out.game.json")  # the file itself
    os.symlink(outside, root / "2025-12-12" / "sessions")  # a folder below the day
    os.symlink(root / "2025-12-12", root / "2025-12-14")  # a symlink that stays inside
    os.symlink(root, tmp_path / "alias")  # the root reached through a symlink
    for base in (root, tmp_path / "alias"):
        for rel in [
            "2025-12-12/games/out.game.json",
            "2025-12-12/sessions/x_session.json",
            "2025-12-14/games/x.game.json",
            "2025-12-12/games/new.game.json",
            "2025-12-15/games/x.game.json",
            "2025-12-12/./games/x.game.json",
        ]:
            real = os.path.realpath(base / rel)
            inside = real.startswith(os.path.realpath(root) + os.sep)
            if inside:
                assert ensure_inside(base, rel) == base / rel
            else:
                with pytest.raises(UnsafePathError):
                    ensure_inside(base, rel)


def test_layout_refuses_to_write_through_an_escaping_symlink(tmp_path):
    root = tmp_path / "root"
    outside = tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "2025-12-12")
    with pytest.raises(UnsafePathError):
        RecordingsLayout(root).write_game(small_game())
    assert list(outside.iterdir()) == []


def test_a_batch_refuses_to_write_through_an_escaping_symlink(tmp_path):
    from recorder.files import WriteBatch

    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    os.symlink(outside, root / "2025-12-12")
    batch, errors = WriteBatch(), []
    layout = RecordingsLayout(root)
    written = layout.store_game(small_game(), batch=batch, done=lambda path, stamp, e: errors.append(e))
    batch.close()  # the writer checks the place just before writing: the error comes to done
    assert [type(e) for e in errors] == [UnsafePathError] and not written.path.exists()
    assert list(outside.iterdir()) == []


def test_a_relative_root_names_files_inside_it_once(tmp_path, monkeypatch):
    from datetime import UTC, datetime

    from recorder.files import GameRecording, RecordingsLayout, read_game

    monkeypatch.chdir(tmp_path)
    layout = RecordingsLayout("recordings")
    game = GameRecording.create(
        game_id="20251212-0123456789abcdef",
        start_time=datetime(2025, 12, 12, 22, 0, 0, tzinfo=UTC),
        end_time=datetime(2025, 12, 12, 22, 1, 0, tzinfo=UTC),
        prices=[1.0, 1.01, 0.02],
        server_seed_hash=None,
        server_seed=None,
    )
    path = layout.write_game(game)
    assert path == tmp_path / "recordings/2025-12-12/games/20251212T220000_01234567.game.json"
    assert read_game(path) == game
    assert not (tmp_path / "recordings/recordings").exists()
