"""``rugs dataset build`` / ``show`` and the split helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from rugs_env.cli import main
from rugs_env.data import chronological_split, load_dataset, parse_ratios
from rugs_env.data.splits import block_sizes

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"


def test_ratios_and_block_sizes() -> None:
    assert parse_ratios("70,15,15") == pytest.approx((0.7, 0.15, 0.15))
    assert parse_ratios("0.8,0.2") == pytest.approx((0.8, 0.2))
    for bad in ("", "a,b", "0,1", "1,2,3,4", "-1,2"):
        with pytest.raises(ValueError):
            parse_ratios(bad)
    assert block_sizes(10, (0.7, 0.15, 0.15)) == [7, 2, 1]
    assert block_sizes(3, (0.9, 0.05, 0.05)) == [1, 1, 1]  # every split gets a game when it can
    assert block_sizes(1, (0.7, 0.3)) == [1, 0]


def test_chronological_split_orders_by_start_time() -> None:
    t0 = datetime(2025, 1, 1, tzinfo=UTC)
    games = [(f"g{i}", t0 + timedelta(minutes=(7 * i) % 10)) for i in range(10)]  # shuffled times
    out = chronological_split(games, (0.6, 0.2, 0.2))
    start = dict(games)
    assert max(start[g] for g in out["train"]) <= min(start[g] for g in out["val"])
    assert max(start[g] for g in out["val"]) <= min(start[g] for g in out["test"])
    assert sorted(sum(out.values(), [])) == sorted(g for g, _ in games)


def test_cli_build_and_show(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    out = Path("ds")  # relative paths, as a user types them
    args = ["dataset", "build", str(SAMPLE), "--out", str(out), "--format", "npz,d4rl", "--split", "0.5,0.5"]
    assert main([*args, "-q"]) == 0
    text = capsys.readouterr().out
    assert "train:" in text and "test :" in text and "label fidelity" in text
    assert (out / "episodes" / "train.npz").exists() and (out / "d4rl" / "test.npz").exists()
    assert not (out / "minari").exists()
    with np.load(out / "d4rl" / "train.npz") as d:
        assert {
            "observations",
            "actions",
            "rewards",
            "next_observations",
            "terminals",
            "timeouts",
            "action_masks",
        } <= set(d.files)
    test = load_dataset(out, "test")
    assert len(test) > 0 and test.observations.dtype == np.float32
    assert main([*args, "-q"]) == 2  # the folder is taken
    assert "--force" in capsys.readouterr().err
    assert main([*args, "-q", "--force", "--hold-episodes"]) == 0
    capsys.readouterr()
    assert main(["dataset", "show", str(out)]) == 0
    assert "# Dataset card" in capsys.readouterr().out
    assert main(["dataset", "build", str(SAMPLE), "--out", str(tmp_path / "x"), "--split", "0,1"]) == 2
    assert main(["dataset", "build", str(tmp_path / "nothing"), "--out", str(tmp_path / "y")]) == 2
    assert main(["dataset", "show", str(tmp_path)]) == 2
