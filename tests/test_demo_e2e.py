"""The main job end to end (``rugs demo``), reduced: the real local server over loopback, the live recorder
following bots, the dataset (with datasets/sample/), behaviour cloning and the evaluation report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_demo_fixtures import demo, demo_dir  # noqa: F401

from rugs_env.cli import main
from rugs_env.demo import STAGES

pytestmark = pytest.mark.e2e


def test_every_stage_ran_and_left_its_output(demo_dir: Path, demo) -> None:  # noqa: F811
    result, _ = demo
    assert list(result.timings) == list(STAGES)
    for path in (
        "recordings",
        "dataset/card.json",
        "dataset/card.md",
        "dataset/episodes/test.npz",
        "dataset/d4rl/test.npz",
        "dataset/minari",
        "model.zip",
        "model.bc.json",
        "report/report.md",
        "report/equity_curves.png",
        "report/pnl_distribution.png",
        "report/games.csv",
        "report/results.json",
        "report/bc_accuracy.png",
        "summary.json",
    ):
        assert (demo_dir / path).exists(), path
    assert list(demo_dir.glob("report/actions_*.png"))
    assert result.report == demo_dir / "report" / "report.md"
    summary = json.loads((demo_dir / "summary.json").read_text())
    assert set(summary["timings_s"]) == set(STAGES)


def test_no_stage_loses_data_silently(demo) -> None:  # noqa: F811
    result, lines = demo
    text = "\n".join(lines)
    rec = result.counts["record"]
    assert rec["lossless"], text
    assert rec["live_games"] >= 20 and not rec["missing_games"]
    for player, fills in rec["fills"].items():  # every fill of every followed bot is a session action
        assert fills - rec["explained"].get(player, 0) == rec["actions"][player]
    assert result.counts["verify"]["ok"] and result.counts["verify"]["games"] == rec["game_files"]
    acc = result.counts["dataset"]["accounting"]
    assert acc["game_files"] == acc["games_accepted"] + sum(acc["games_skipped"].values())
    assert acc["session_actions_in"] == acc["session_actions_kept"] + sum(
        acc["session_actions_dropped"].values()
    )
    assert acc["pairs"] == acc["episodes_demo"]
    assert "recording lossless: yes" in text
    assert "LOST" not in text


def test_the_clone_beats_random_and_the_table_has_confidence_intervals(demo) -> None:  # noqa: F811
    result, lines = demo
    clone = result.counts["clone"]
    assert clone["accuracy"] > clone["random_accuracy"]
    text = "\n".join(lines)
    assert "beats random" in text
    assert "IQM 95% CI" in text
    for row in ("agent", "random masked", "always hold", "human"):
        assert any(line.startswith(row) for line in text.splitlines()), row
    ev = result.counts["evaluate"]
    assert ev["games"] >= 3
    assert ev["aggregates"]["agent"]["iqm_ci_low"] <= ev["aggregates"]["agent"]["iqm"]
    assert ev["aggregates"]["agent"]["iqm"] <= ev["aggregates"]["agent"]["iqm_ci_high"]


def test_the_demo_command_validates_its_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--games", "2"]) == 2
    assert "--games" in capsys.readouterr().err
    assert main(["demo", "--follow", "9", "--bots", "4"]) == 2
