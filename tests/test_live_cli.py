"""``rugs play`` end to end against the local server (in-process CLI, real loopback sockets): paper mode
with a tiny MaskablePPO model trained here for a few hundred steps, live mode with a plain ``--token`` (warned
about, never shown), and the refusal of ``--live`` without a token."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from recorder_helpers import pick_games

from recorder.checks_tree import check_recordings
from rugs_env.cli import main
from rugs_env.server.config import ServerConfig
from rugs_env.server.runner import ServerThread

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    config = ServerConfig(
        speed=20.0, seed=31, open_registration=True, games=pick_games(20, 8, 30, salt="cli")
    )
    with ServerThread(config) as thread:
        yield thread


def last_json(text: str) -> dict[str, Any]:
    return json.loads(text.strip().splitlines()[-1])


def test_live_needs_a_token(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("RUGS_TOKEN", raising=False)
    assert main(["play", "--url", "http://127.0.0.1:9", "--live", "--policy", "hold"]) == 2
    assert "RUGS_TOKEN" in capsys.readouterr().err


def test_paper_play_with_a_tiny_model(
    server: ServerThread, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from sb3_contrib import MaskablePPO

    from rugs_env.envs.sim import RugsSimEnv

    model = MaskablePPO("MlpPolicy", RugsSimEnv(max_ticks=60), n_steps=64, batch_size=32, n_epochs=1, seed=0)
    model.learn(256)
    path = tmp_path / "tiny.zip"
    model.save(path)
    out = tmp_path / "rec"
    args = [
        "--model",
        str(path),
        "--games",
        "2",
        "--out",
        str(out),
        "--json",
        "--rate",
        "50",
        "--burst",
        "20",
    ]
    code = main(["play", "--url", server.url, *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    doc = last_json(captured.out)
    assert doc["play"]["games"] == 2 and doc["session"]["halted"] is None
    assert "paper mode" in captured.err
    if doc["session"]["orders"]["filled"]:  # the model traded: its paper session is a session file
        meta = json.loads(Path(doc["session_file"]).read_text())["meta"]
        assert meta["player_id"].startswith("paper:") and meta["agent"]["mode"] == "paper"
    report = check_recordings(out)
    assert report.ok, [str(p) for p in report.problems]


def test_live_play_with_a_plain_token_is_warned_and_hidden(
    server: ServerThread,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    token = "tok-CLI-plain-4a0d77e2"
    monkeypatch.delenv("RUGS_TOKEN", raising=False)
    caplog.set_level(logging.DEBUG)
    out = tmp_path / "rec"
    args = ["--policy", "random", "--seed", "5", "--games", "2", "--out", str(out), "--json"]
    code = main(["play", "--url", server.url, "--live", "--token", token, *args, "--max-stake", "0.05", "-v"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "shell history" in caplog.text
    doc = last_json(captured.out)
    assert doc["play"]["games"] == 2 and doc["session"]["verification"]["drift_count"] == 0
    session = json.loads(Path(doc["session_file"]).read_text())
    assert session["meta"]["authenticated"] is True and session["meta"]["agent"]["mode"] == "live"
    assert all(a["action"] != "BUY" or float(a["amount"]) <= 0.05 for a in session["actions"])
    texts = [captured.out, captured.err, caplog.text] + [p.read_text() for p in out.rglob("*") if p.is_file()]
    assert all(token not in text for text in texts)
    assert check_recordings(out).ok
