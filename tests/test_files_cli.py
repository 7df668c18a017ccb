"""``rugs index DIR``: rebuild the daily indexes, report corrupt files, exit 1 when there are any."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from test_files_common import real_games, real_sessions, write_tree

from rugs_env.cli import COMMANDS, main

VENV_RUGS = Path(__file__).resolve().parents[1] / ".venv" / "bin" / "rugs"


@pytest.fixture
def root(tmp_path, seeded_games, raw_events):
    return write_tree(tmp_path / "recordings", real_games(seeded_games), real_sessions(raw_events)).root


def test_index_is_a_command():
    assert "index" in COMMANDS


def test_rebuilds_every_day(root, capsys):
    assert main(["index", str(root)]) == 0
    out = capsys.readouterr().out
    day = root / "2025-12-12"
    assert f"{day}: 12 games, 10 sessions; index written" in out
    assert "total: 1 day, 12 games, 10 sessions, 0 corrupt files" in out
    assert (day / "index.json").is_file()
    assert main(["index", str(day)]) == 0  # a day folder itself
    assert "index up to date" in capsys.readouterr().out


def test_corrupt_files_fail_the_command(root, capsys):
    day = root / "2025-12-12"
    victim = sorted((day / "games").iterdir())[0]
    text = victim.read_text()
    victim.write_text(text.replace('"duration_ticks": ', '"duration_ticks": 1', 1))
    assert main(["index", str(root)]) == 1
    out = capsys.readouterr().out
    assert "11 games, 10 sessions, 1 corrupt file; index written" in out
    assert f"CORRUPT {victim}: meta.duration_ticks: expected " in out
    assert "total: 1 day, 11 games, 10 sessions, 1 corrupt file\n" in out


def test_check_mode_writes_nothing(root, capsys):
    day = root / "2025-12-12"
    assert main(["index", "--check", str(root)]) == 1
    assert f"{day}: index missing" in capsys.readouterr().out
    assert not (day / "index.json").exists()
    main(["index", str(root)])
    capsys.readouterr()
    assert main(["index", "--check", str(root)]) == 0
    sorted((day / "sessions").iterdir())[0].unlink()
    assert main(["index", "--check", str(root)]) == 1
    assert "index stale (1 indexed but gone)" in capsys.readouterr().out


def test_clean_temp(root, capsys):
    stray = root / "2025-12-12" / "games" / ".x.game.json.abcdef.tmp"
    stray.write_text("{")
    os.utime(stray, (0, 0))
    assert main(["index", "--clean-temp", str(root)]) == 0
    assert f"removed temporary file {stray}" in capsys.readouterr().out
    assert not stray.exists()


def test_user_errors(tmp_path, capsys):
    assert main(["index", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err
    assert main(["index", str(tmp_path)]) == 0
    assert "no day folders" in capsys.readouterr().out


@pytest.mark.skipif(not VENV_RUGS.exists(), reason="the console script is not installed")
def test_console_script(root):
    done = subprocess.run([str(VENV_RUGS), "index", str(root)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "total: 1 day, 12 games, 10 sessions, 0 corrupt files" in done.stdout


def test_unwritable_index_is_a_clean_error(root, capsys, monkeypatch):
    import recorder.files.index as index_module

    def refuse(path, chunks):
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr(index_module, "atomic_write_chunks", refuse)
    assert main(["index", str(root)]) == 1
    assert "cannot write the index of" in capsys.readouterr().err
