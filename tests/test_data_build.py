"""The dataset builder: the Minari round trip, chronological splits, the card's counts, the canonical and
D4RL arrays, and bad recordings reported and skipped."""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from test_demo_fixtures import demo, demo_dir  # noqa: F401

import rugs_env  # noqa: F401
from rugs_env.data import build_dataset, load_dataset, read_card, read_games
from rugs_env.data.export_d4rl import flatten
from rugs_env.data.export_minari import load_minari

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"


def _replay(env: gym.Env, options: dict, actions: np.ndarray) -> np.ndarray:
    obs, _ = env.reset(options=options)
    out = [obs]
    for a in actions:
        obs, *_ = env.step(int(a))
        out.append(obs)
    return np.asarray(out)


def test_minari_round_trip_gives_the_env_observations(demo_dir: Path) -> None:  # noqa: F811
    """recordings -> dataset -> Minari -> recover_environment() -> the same observations as the env."""
    ds_dir = demo_dir / "dataset"
    card = read_card(ds_dir)
    assert set(card["minari_ids"]) == {"train", "val", "test"}
    # the env on the *original* recordings the demo recorded (not the dataset's copy)
    source_env = gym.make("RugsReplay-v0", source=[demo_dir / "recordings"], order="sequential")
    for split, ds_id in card["minari_ids"].items():
        ds = load_minari(ds_dir, ds_id)
        canonical = load_dataset(ds_dir, split)
        assert ds.total_episodes == len(canonical) and ds.total_steps == canonical.n_steps
        env = ds.recover_environment()
        metas = list(ds.storage.get_episode_metadata(range(ds.total_episodes)))
        for ep, meta in zip(ds.iterate_episodes(), metas, strict=True):
            got = _replay(env, meta["options"], ep.actions)
            assert np.array_equal(got, ep.observations), (split, ep.id)
            can = canonical.episode(ep.id)
            assert np.array_equal(can.observations, ep.observations)
            assert np.array_equal(can.actions, ep.actions)
            assert np.array_equal(ep.infos["action_mask"], can.action_masks)
            assert can.game_id == meta["options"]["game_id"] and can.player == meta["options"]["player"]
            if split == "test" and can.game_id in source_env.unwrapped.game_ids:
                assert np.array_equal(_replay(source_env, meta["options"], ep.actions), ep.observations)
        env.close()


def test_splits_are_chronological(demo_dir: Path) -> None:  # noqa: F811
    games = read_games(demo_dir / "dataset")
    order = {"train": 0, "val": 1, "test": 2}
    by_time = sorted(games, key=lambda g: (g["start_time"], g["game_id"]))
    ranks = [order[g["split"]] for g in by_time]
    assert ranks == sorted(ranks)  # train games, then val, then test: never shuffled
    card = read_card(demo_dir / "dataset")
    n = len(games)
    for name, s in card["splits"].items():
        assert s["games"] == sum(1 for g in games if g["split"] == name)
        assert abs(s["games"] - n * s["ratio"]) <= 1.5
        eps = load_dataset(demo_dir / "dataset", name)
        assert set(eps.game_ids.tolist()) <= set(s["game_ids"])


def test_card_counts_match_the_arrays(demo_dir: Path) -> None:  # noqa: F811
    ds_dir = demo_dir / "dataset"
    card = read_card(ds_dir)
    games = read_games(ds_dir)
    assert card["totals"]["games"] == len(games) == card["accounting"]["games_accepted"]
    episodes = steps = 0
    for name, s in card["splits"].items():
        eps = load_dataset(ds_dir, name)
        assert s["episodes"] == len(eps) and s["steps"] == eps.n_steps
        assert s["decisions"] == int((eps.demo_steps()["actions"] != 0).sum())
        assert sum(s["labels"].values()) == eps.n_steps
        episodes, steps = episodes + len(eps), steps + eps.n_steps
    assert (card["totals"]["episodes"], card["totals"]["steps"]) == (episodes, steps)
    assert card["accounting"]["pairs"] == episodes  # one episode per recorded (game, player)
    assert card["env"]["id"] == "RugsReplay-v0" and len(card["env"]["observation_names"]) == 24
    md = (ds_dir / "card.md").read_text()
    assert f"| {card['totals']['games']} |" in md and "Label fidelity" in md


def test_canonical_and_d4rl_arrays_are_consistent(demo_dir: Path) -> None:  # noqa: F811
    eps = load_dataset(demo_dir / "dataset", "test")
    for i in range(len(eps)):
        ep = eps.episode(i)
        assert len(ep.observations) == ep.steps + 1 == len(ep.action_masks)
        assert ep.rewards.sum() == pytest.approx(ep.pnl, abs=1e-9)  # rewards sum to the PnL
        assert ep.terminations[-1] or ep.truncations[-1]
        assert not (ep.terminations[:-1].any() or ep.truncations[:-1].any())
        assert ep.action_masks[:, 0].all()  # hold is always allowed
    flat = flatten(eps)
    assert len(flat["observations"]) == eps.n_steps
    with np.load(demo_dir / "dataset" / "d4rl" / "test.npz") as d:
        for key, value in flat.items():
            assert np.array_equal(d[key], value), key
    first = eps.episode(0)
    assert np.array_equal(flat["next_observations"][: first.steps], first.observations[1:])


def _corrupt_inputs(root: Path) -> dict[str, str]:
    """A copy of the sample with a truncated game file, a game whose prices the seed does not give (its
    sessions' actions become orphans) and a second copy of a game; returns the ids concerned."""
    shutil.copytree(SAMPLE, root / "sample")
    games = sorted((root / "sample").rglob("*.game.json"))
    seeded = [p for p in games if json.loads(p.read_text())["meta"].get("server_seed")]
    played = Counter(
        a["game_id"]
        for s in (root / "sample").rglob("*_session.json")
        for a in json.loads(s.read_text())["actions"]
    )
    bad = max(seeded, key=lambda p: played[json.loads(p.read_text())["meta"]["game_id"]])  # most played
    doc = json.loads(bad.read_text())
    doc["prices"][3] = repr(float(doc["prices"][3]) * 1.01)
    bad.write_text(json.dumps(doc))
    trunc = next(p for p in games if p != bad)
    trunc_id = json.loads(trunc.read_text())["meta"]["game_id"]
    trunc.write_text(trunc.read_text()[:200])
    dup = next(p for p in seeded if p not in (bad, trunc))
    (root / "extra").mkdir()
    shutil.copy(dup, root / "extra" / dup.name)
    return {
        "mismatch": doc["meta"]["game_id"],
        "corrupt": trunc_id,
        "duplicate": json.loads(dup.read_text())["meta"]["game_id"],
    }


def test_bad_recordings_are_reported_and_skipped(tmp_path: Path) -> None:
    ids = _corrupt_inputs(tmp_path)
    logs: list[str] = []
    card = build_dataset(
        [tmp_path / "sample", tmp_path / "extra"],
        tmp_path / "ds",
        formats=("npz",),
        ratios=(0.5, 0.5),
        progress=False,
        log=logs.append,
    )
    kinds = {s["kind"] for s in card["skipped"]}
    assert {"corrupt", "mismatch", "duplicate", "orphan"} <= kinds
    acc = card["accounting"]
    n_files = len(list((tmp_path / "sample").rglob("*.game.json"))) + 1
    assert acc["game_files"] == n_files
    assert acc["games_skipped"] == {"corrupt": 1, "mismatch": 1, "duplicate": 1}
    assert acc["games_accepted"] == n_files - 3 == card["totals"]["games"]
    assert acc["session_actions_in"] == acc["session_actions_kept"] + sum(
        acc["session_actions_dropped"].values()
    )
    assert acc["session_actions_dropped"]["orphan"] > 0  # the mismatched game's sessions
    assert acc["session_files"] == acc["sessions_accepted"] + acc["sessions_emptied"]
    games = {g["game_id"] for g in read_games(tmp_path / "ds")}
    assert ids["mismatch"] not in games and ids["corrupt"] not in games and ids["duplicate"] in games
    assert any("MISMATCH" in line and "does not verify" in line for line in logs)
    assert "Left out" in (tmp_path / "ds" / "card.md").read_text()
    assert not (tmp_path / "ds" / "minari").exists() and not (tmp_path / "ds" / "d4rl").exists()
