"""Behaviour cloning (masked cross-entropy on a MaskablePPO policy) and PPO fine-tuning from the clone."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from test_demo_fixtures import demo, demo_dir  # noqa: F401

from rugs_env.cli import main
from rugs_env.data import load_dataset
from rugs_env.train.bc import BCConfig, predict, train_bc


def test_the_clone_beats_random_on_held_out_labels(demo_dir: Path) -> None:  # noqa: F811
    metrics = json.loads((demo_dir / "model.bc.json").read_text())
    clone, rand = metrics["clone"], metrics["random_masked"]
    assert metrics["eval_split"] == "test" and clone["steps"] > 0
    assert clone["accuracy"] > rand["accuracy"]
    assert clone["balanced_accuracy"] > rand["balanced_accuracy"]
    assert set(clone["per_action"]) == set(rand["per_action"])


def test_the_saved_model_loads_and_predicts_like_the_masked_argmax(demo_dir: Path) -> None:  # noqa: F811
    from sb3_contrib import MaskablePPO

    model = MaskablePPO.load(demo_dir / "model.zip", device="cpu")
    steps = load_dataset(demo_dir / "dataset", "test").demo_steps()
    obs, masks = steps["observations"][:300], steps["action_masks"][:300]
    ours = predict(model.policy, obs, masks)
    theirs = np.array(
        [
            int(model.predict(o, action_masks=m, deterministic=True)[0])
            for o, m in zip(obs, masks, strict=True)
        ]
    )
    assert np.array_equal(ours, theirs)
    assert masks[np.arange(len(ours)), ours].all()  # never an action the mask forbids


def test_bc_is_reproducible_with_its_seed(demo_dir: Path, tmp_path: Path) -> None:  # noqa: F811
    from sb3_contrib import MaskablePPO

    cfg = BCConfig(epochs=1, seed=3, net_arch=(16,))
    a = train_bc(demo_dir / "dataset", tmp_path / "a.zip", cfg, progress=False, log=lambda m: None)
    b = train_bc(demo_dir / "dataset", tmp_path / "b.zip", cfg, progress=False, log=lambda m: None)
    c = train_bc(
        demo_dir / "dataset",
        tmp_path / "c.zip",
        BCConfig(epochs=1, seed=4, net_arch=(16,)),
        progress=False,
        log=lambda m: None,
    )
    pa, pb, pc = (MaskablePPO.load(r.model_path, device="cpu").policy.state_dict() for r in (a, b, c))
    assert all(torch.equal(pa[k], pb[k]) for k in pa)
    assert not all(torch.equal(pa[k], pc[k]) for k in pa)
    assert a.clone == b.clone


def test_cli_bc_then_ppo_from_the_clone(
    demo_dir: Path,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from sb3_contrib import MaskablePPO

    ds = str(demo_dir / "dataset")
    bc = tmp_path / "bc.zip"
    assert (
        main(["train", "bc", "--dataset", ds, "--out", str(bc), "--epochs", "1", "--net-arch", "32", "-q"])
        == 0
    )
    out = capsys.readouterr().out
    assert "random" in out and "all labels" in out and bc.exists()
    ppo = tmp_path / "ppo.zip"
    args = [
        "train",
        "ppo",
        "--env",
        "RugsReplay-v0",
        "--dataset",
        ds,
        "--init",
        str(bc),
        "--out",
        str(ppo),
        "--timesteps",
        "512",
        "--n-envs",
        "4",
        "--n-steps",
        "64",
        "--batch-size",
        "128",
        "-q",
    ]
    assert main(args) == 0
    assert "timesteps" in capsys.readouterr().out
    before = MaskablePPO.load(bc, device="cpu").policy.state_dict()
    after = MaskablePPO.load(ppo, device="cpu").policy.state_dict()
    assert before.keys() == after.keys()  # the clone's architecture, fine-tuned
    assert not all(torch.equal(before[k], after[k]) for k in before)
    sim = tmp_path / "sim.zip"
    assert (
        main(
            [
                "train",
                "ppo",
                "--env",
                "RugsSim-v0",
                "--out",
                str(sim),
                "--timesteps",
                "256",
                "--n-envs",
                "2",
                "--n-steps",
                "64",
                "--batch-size",
                "64",
                "-q",
            ]
        )
        == 0
    )
    assert sim.exists()
    assert main(["train", "ppo", "--env", "RugsSim-v0", "--dataset", ds, "--out", str(sim)]) == 2
    assert main(["train", "bc", "--dataset", ds, "--out", str(bc), "--class-weight", "2"]) == 2
