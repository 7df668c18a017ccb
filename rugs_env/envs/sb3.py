"""stable-baselines3 on the native vector environment: a ``VecEnv`` adapter.

::

    from stable_baselines3 import PPO
    from rugs_env.envs.sb3 import Sb3VecEnv
    venv = Sb3VecEnv(gym.make_vec("RugsReplay-v0", num_envs=64, vectorization_mode="vector_entry_point"))
    PPO("MlpPolicy", venv).learn(100_000)

The vector env autoresets in the same step, which is exactly SB3's convention: a finished episode's last
observation goes to ``infos[i]["terminal_observation"]`` and ``infos[i]["TimeLimit.truncated"]`` says whether
it was cut rather than ended. ``env_method("action_masks")`` returns one mask per environment, so
sb3-contrib's MaskablePPO works too. Wrap in ``VecMonitor`` for episode statistics. stable-baselines3 is
imported here only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from stable_baselines3.common.vec_env.base_vec_env import VecEnv, VecEnvIndices

from rugs_env.envs.vector import RugsVectorEnv


class Sb3VecEnv(VecEnv):
    """A :class:`RugsVectorEnv` as an SB3 ``VecEnv`` (see the module docstring)."""

    def __init__(self, venv: Any) -> None:
        inner = getattr(venv, "unwrapped", venv)
        if not isinstance(inner, RugsVectorEnv):
            raise TypeError(f"expected a RugsVectorEnv, got {type(venv).__name__}")
        self.venv = inner
        super().__init__(inner.num_envs, inner.single_observation_space, inner.single_action_space)
        self._actions: np.ndarray | None = None
        self._seed: int | None = None

    def reset(self) -> np.ndarray:
        seed, self._seed = self._seed, None
        obs, _ = self.venv.reset(seed=seed)
        return obs

    def seed(self, seed: int | None = None) -> Sequence[None | int]:
        self._seed = seed
        return [seed] * self.num_envs

    def step_async(self, actions: np.ndarray) -> None:
        self._actions = actions

    def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict[str, Any]]]:
        obs, rewards, terminated, truncated, info = self.venv.step(self._actions)
        dones = terminated | truncated
        infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
        if dones.any():
            final = info["final_obs"]
            for i in np.flatnonzero(dones):
                infos[i]["terminal_observation"] = final[i]
                infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
        return obs, rewards.astype(np.float32), dones, infos

    def close(self) -> None:
        self.venv.close()

    def _indices(self, indices: VecEnvIndices) -> list[int]:
        if indices is None:
            return list(range(self.num_envs))
        if isinstance(indices, int):
            return [indices]
        return list(indices)

    def get_attr(self, attr_name: str, indices: VecEnvIndices = None) -> list[Any]:
        value = getattr(self.venv, attr_name)
        return [value for _ in self._indices(indices)]

    def set_attr(self, attr_name: str, value: Any, indices: VecEnvIndices = None) -> None:
        setattr(self.venv, attr_name, value)

    def env_method(self, method_name: str, *method_args: Any, indices: VecEnvIndices = None,
                   **method_kwargs: Any) -> list[Any]:  # fmt: skip
        idx = self._indices(indices)
        if method_name == "action_masks":
            masks = self.venv.action_masks()
            return [masks[i] for i in idx]
        result = getattr(self.venv, method_name)(*method_args, **method_kwargs)
        return [result for _ in idx]

    def env_is_wrapped(self, wrapper_class: type, indices: VecEnvIndices = None) -> list[bool]:
        return [False for _ in self._indices(indices)]


__all__ = ["Sb3VecEnv"]
