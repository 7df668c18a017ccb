"""Shared fixtures: the real captures copied into tests/fixtures/realdata (never ../shared)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REALDATA = FIXTURES / "realdata"
RAW_CAPTURE = REALDATA / "2025-12-12_17-16-58_raw.jsonl"
KEY_SAMPLES = REALDATA / "key-samples.json"


@pytest.fixture(scope="session", autouse=True)
def _sb3_logs_in_tmp(tmp_path_factory: pytest.TempPathFactory) -> None:
    """stable-baselines3 makes a folder per ``learn()`` (tempdir/SB3-<time> by default): keep them in the
    test run's own temporary folder."""
    import os

    os.environ["SB3_LOGDIR"] = str(tmp_path_factory.mktemp("sb3-logs"))


def payload_of(data: Any) -> Any:
    """The payload of a captured event: the last argument (a trace object may come first)."""
    if isinstance(data, list) and data:
        return data[-1]
    return data


def load_raw_events() -> list[dict[str, Any]]:
    with RAW_CAPTURE.open() as fh:
        return [json.loads(line) for line in fh if line.strip()]


def load_seeded_games() -> dict[str, dict[str, Any]]:
    """Every distinct gameHistory entry of the raw capture, by game id (12 games, all with seeds)."""
    games: dict[str, dict[str, Any]] = {}
    for event in load_raw_events():
        if event["event"] != "gameStateUpdate":
            continue
        for entry in payload_of(event["data"]).get("gameHistory") or []:
            games.setdefault(entry["id"], entry)
    return games


def load_real_trades() -> list[dict[str, Any]]:
    return [payload_of(e["data"]) for e in load_raw_events() if e["event"] == "standard/newTrade"]


def load_key_samples() -> dict[str, Any]:
    return json.loads(KEY_SAMPLES.read_text())


@pytest.fixture(scope="session")
def raw_events() -> list[dict[str, Any]]:
    return load_raw_events()


@pytest.fixture(scope="session")
def seeded_games() -> dict[str, dict[str, Any]]:
    return load_seeded_games()


@pytest.fixture(scope="session")
def real_trades() -> list[dict[str, Any]]:
    return load_real_trades()


@pytest.fixture(scope="session")
def key_samples() -> dict[str, Any]:
    return load_key_samples()
