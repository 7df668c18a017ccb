"""Gymnasium conventions: the env checkers of Gymnasium and stable-baselines3, registration in a fresh
process, render modes."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gym_check_env
from test_env_fixtures import recordings_root, store  # noqa: F401

import rugs_env  # noqa: F401  (registers the environments)
from rugs_env.envs import RugsReplayEnv, RugsSimEnv

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def replay(store):  # noqa: F811
    return RugsReplayEnv(store)


def test_gymnasium_check_env_replay(replay) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(replay, skip_render_check=True)


def test_gymnasium_check_env_sim() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gym_check_env(RugsSimEnv(), skip_render_check=True)
        gym_check_env(RugsSimEnv(provably_fair=True), skip_render_check=True)


def test_sb3_check_env(replay) -> None:
    from stable_baselines3.common.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(replay)
        check_env(RugsSimEnv())


def test_every_step_returns_its_own_info_data(recordings_root) -> None:  # noqa: F811
    """Gymnasium's passive checker warns when consecutive infos share an object: masks must be fresh."""
    env = gym.make("RugsReplay-v0", source=recordings_root)  # the passive checker wraps it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _, first = env.reset(seed=0)
        infos = [first] + [env.step(0)[-1] for _ in range(3)]
    masks = [info["action_mask"] for info in infos]
    assert all(m.flags.writeable for m in masks)
    assert len({id(m) for m in masks}) == len(masks)


def test_gym_make_through_the_registry(recordings_root) -> None:  # noqa: F811
    env = gym.make("RugsReplay-v0", source=recordings_root)
    obs, info = env.reset(seed=3)
    assert obs.dtype == np.float32 and obs.shape == env.observation_space.shape
    assert info["action_mask"].dtype == bool and info["action_mask"][0]
    env.step(0)
    sim = gym.make("RugsSim-v0")
    sim.reset(seed=1)
    sim.step(0)


def test_registration_in_a_fresh_process(recordings_root) -> None:  # noqa: F811
    code = f"""
import gymnasium as gym
env = gym.make("rugs_env:RugsReplay-v0", source={str(recordings_root)!r})
env.reset(seed=0)
import rugs_env
env = gym.make("RugsReplay-v0", source={str(recordings_root)!r})
env.reset(seed=0)
gym.make("RugsSim-v0").reset(seed=0)
v = gym.make_vec("RugsReplay-v0", num_envs=4, vectorization_mode="vector_entry_point",
                 source={str(recordings_root)!r})
v.reset(seed=0)
print("ok", type(v.unwrapped).__name__)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["ok", "RugsVectorEnv"]


def test_import_rugs_env_is_cheap() -> None:
    heavy = "('rugs_env.envs', 'torch', 'matplotlib', 'recorder')"
    code = f"import sys, rugs_env; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.stdout.strip() == "[]", out.stdout + out.stderr


def _play(env: RugsReplayEnv, seed: int, game_id: str) -> None:
    env.reset(seed=seed, options={"game_id": game_id})
    t = env.table
    script = {-1: t.index("buy 0.1"), 3: t.index("sidebet 0.01"), 10: t.index("sell 50%"),
              30: t.index("buy 0.05"), 60: t.index("sell 100%")}  # fmt: skip
    done = False
    while not done and env.tick < 90:
        _, _, term, trunc, _ = env.step(script.get(env.tick, 0))
        done = term or trunc


def test_render_ansi(store) -> None:  # noqa: F811
    env = RugsReplayEnv(store, render_mode="ansi")
    _play(env, 0, store.game_ids[int(np.argmax(store.lengths))])
    line = env.render()
    assert isinstance(line, str) and line.endswith("\n") and "tick" in line and "cash" in line


def test_render_rgb_array(store, tmp_path) -> None:  # noqa: F811
    env = RugsReplayEnv(store, render_mode="rgb_array")
    _play(env, 0, store.game_ids[int(np.argmax(store.lengths))])
    img = env.render()
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    assert img.shape[0] > 100 and img.shape[1] > 100 and img.std() > 10  # not a blank canvas
    import matplotlib.image

    matplotlib.image.imsave(tmp_path / "render.png", img)  # a valid image (inside the test's own folder)
    assert (tmp_path / "render.png").stat().st_size > 1000
