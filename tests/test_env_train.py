"""stable-baselines3 PPO and sb3-contrib MaskablePPO train on each environment and on the vector env (short
runs: they prove the plumbing, not the learning)."""

from __future__ import annotations

import pytest
import torch
from test_env_fixtures import recordings_root, store  # noqa: F401

from rugs_env.envs import RugsReplayEnv, RugsSimEnv
from rugs_env.envs.vector import RugsVectorEnv

STEPS = 2048
FAST = {"n_steps": 256, "batch_size": 128, "n_epochs": 1, "policy_kwargs": {"net_arch": [32, 32]}}


@pytest.fixture(autouse=True, scope="module")
def _one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


def _envs(store):  # noqa: F811
    return {"replay": lambda: RugsReplayEnv(store), "sim": lambda: RugsSimEnv()}


@pytest.mark.parametrize("kind", ["replay", "sim"])
def test_ppo_trains(store, kind: str) -> None:  # noqa: F811
    from stable_baselines3 import PPO

    model = PPO("MlpPolicy", _envs(store)[kind](), seed=0, device="cpu", **FAST)
    model.learn(STEPS)
    assert model.num_timesteps >= STEPS


@pytest.mark.parametrize("kind", ["replay", "sim"])
def test_maskable_ppo_trains(store, kind: str) -> None:  # noqa: F811
    from sb3_contrib import MaskablePPO

    model = MaskablePPO("MlpPolicy", _envs(store)[kind](), seed=0, device="cpu", **FAST)
    model.learn(STEPS)
    assert model.num_timesteps >= STEPS


@pytest.mark.parametrize("algo", ["PPO", "MaskablePPO"])
def test_training_on_the_vector_env(store, algo: str) -> None:  # noqa: F811
    from sb3_contrib import MaskablePPO
    from stable_baselines3 import PPO
    from stable_baselines3.common.vec_env import VecMonitor

    from rugs_env.envs.sb3 import Sb3VecEnv

    venv = VecMonitor(Sb3VecEnv(RugsVectorEnv(store, 16)))
    cls = PPO if algo == "PPO" else MaskablePPO
    model = cls("MlpPolicy", venv, seed=0, device="cpu", **{**FAST, "n_steps": 64})
    model.learn(4 * STEPS)
    assert model.num_timesteps >= 4 * STEPS
