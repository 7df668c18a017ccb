"""Evaluation on held-out games (the per-game table, the aggregates with bootstrap CIs, the report folder),
and the metrics behind them."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from test_demo_fixtures import demo, demo_dir  # noqa: F401

from rugs_env.cli import main
from rugs_env.data import read_games
from rugs_env.train.baselines import AlwaysHold
from rugs_env.train.evaluate import HOLD, RANDOM, evaluate, resolve_games
from rugs_env.train.metrics import (
    aggregate,
    human_normalised,
    iqm,
    iqm_ci,
    label_accuracy,
    random_label_accuracy,
)

PNG = b"\x89PNG\r\n\x1a\n"


def test_cli_prints_the_table_and_writes_the_report(
    demo_dir: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = tmp_path / "report"
    args = [
        "evaluate",
        "--model",
        str(demo_dir / "model.zip"),
        "--recordings",
        str(demo_dir / "dataset"),
        "--split",
        "test",
        "--report",
        str(report),
        "-q",
    ]
    assert main(args) == 0
    out = capsys.readouterr().out
    test_games = [g["game_id"] for g in read_games(demo_dir / "dataset") if g["split"] == "test"]
    assert all(gid in out for gid in test_games)  # every held-out game has its row
    assert "IQM 95% CI" in out and "win rate" in out and "human-norm" in out
    for row in ("agent", "random masked", "always hold", "human"):
        assert f"\n{row} " in out
    for name in (
        "report.md",
        "games.csv",
        "results.json",
        "equity_curves.png",
        "pnl_distribution.png",
        "bc_accuracy.png",
    ):
        assert (report / name).is_file(), name
    charts = sorted(report.glob("actions_*.png"))
    assert 1 <= len(charts) <= 3
    import matplotlib.image as mpimg

    for png in [report / "equity_curves.png", report / "pnl_distribution.png", *charts]:
        assert png.read_bytes()[:8] == PNG
        image = mpimg.imread(png)
        assert image.shape[0] >= 400 and image.shape[1] >= 800 and image.std() > 0.01  # a real picture
    results = json.loads((report / "results.json").read_text())
    assert len(results["games"]) == len(test_games)
    assert results["aggregates"]["always hold"]["mean"] == 0.0
    md = (report / "report.md").read_text()
    assert "![equity curves](equity_curves.png)" in md and "Behaviour cloning" in md
    assert main(["evaluate", "--model", str(tmp_path / "none.zip"), "--recordings", str(demo_dir)]) == 2
    assert main([*args[:5], "--split", "nope"]) == 2


def test_evaluation_is_deterministic_and_holds_make_nothing(demo_dir: Path) -> None:  # noqa: F811
    a = evaluate(AlwaysHold(), demo_dir / "dataset", split="test", seed=1, progress=False)
    b = evaluate(AlwaysHold(), demo_dir / "dataset", split="test", seed=1, progress=False)
    assert np.array_equal(a.pnl(RANDOM), b.pnl(RANDOM))
    assert not a.pnl(HOLD).any() and not a.pnl("agent").any()
    assert a.aggregates()[HOLD]["win_rate"] == 0.0


def test_games_of_a_recordings_folder_are_split_by_time(demo_dir: Path) -> None:  # noqa: F811
    store, test = resolve_games(demo_dir / "recordings", "test")
    _, everything = resolve_games(demo_dir / "recordings", "all")
    assert 0 < len(test) < len(everything) == store.n_games
    assert test == everything[-len(test) :]  # the latest games
    with pytest.raises(ValueError):
        resolve_games(demo_dir / "recordings", "nope")


def test_metrics() -> None:
    x = np.array([-10.0, 1.0, 2.0, 3.0, 4.0, 100.0, 5.0, 6.0])
    assert iqm(x) == pytest.approx(np.mean([2.0, 3.0, 4.0, 5.0]))  # outliers trimmed
    low, high = iqm_ci(x, seed=0)
    assert low <= iqm(x) <= high
    assert iqm_ci(x, seed=0) == iqm_ci(x, seed=0)
    assert iqm_ci([0.0, 0.0, 0.0]) == (0.0, 0.0)
    agg = aggregate([1.0, -1.0, 2.0, 0.0])
    assert agg["games"] == 4 and agg["mean"] == 0.5 and agg["win_rate"] == 0.5
    assert human_normalised(0.5, 0.0, 1.0) == 0.5 and math.isnan(human_normalised(1.0, 2.0, 2.0))
    names = ["hold", "buy", "sell"]
    labels = np.array([0, 0, 1, 2])
    acc = label_accuracy(np.array([0, 1, 1, 0]), labels, names)
    assert acc["accuracy"] == 0.5 and acc["decision_accuracy"] == 0.5
    assert acc["per_action"]["hold"]["accuracy"] == 0.5 and acc["balanced_accuracy"] == pytest.approx(0.5)
    masks = np.array([[1, 1, 0], [1, 0, 0], [1, 1, 1], [1, 0, 1]], dtype=bool)
    rnd = random_label_accuracy(labels, masks, names)
    assert rnd["accuracy"] == pytest.approx((1 / 2 + 1 + 1 / 3 + 1 / 2) / 4)
