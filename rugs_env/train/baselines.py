"""The policies an evaluation plays: the agent, and the baselines it is compared with.

Every policy maps ``(observation, action mask, info)`` to an action and is reset at each game:

* :class:`ModelPolicy`: a saved stable-baselines3 model, deterministic (MaskablePPO: the masked argmax;
  another SB3 algorithm: ``predict(deterministic=True)``, an invalid action then counts as hold in the env);
* :class:`RandomMasked`: uniform over the valid actions, seeded per game (the same games give the same draws);
* :class:`AlwaysHold`: never trades (PnL 0 in every game: the floor a trading agent must beat);
* :class:`HumanLabels`: the recorded player's own actions (``info["human_action"]``), replayed through the
  same ledger from the same starting cash as the agent. It plays only games where that player was recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

import numpy as np


class Policy(Protocol):
    name: str

    def reset(self, game_index: int) -> None: ...

    def act(self, obs: np.ndarray, mask: np.ndarray, info: dict[str, Any]) -> int: ...


class AlwaysHold:
    """Never trades."""

    name = "always hold"

    def reset(self, game_index: int) -> None:
        pass

    def act(self, obs: np.ndarray, mask: np.ndarray, info: dict[str, Any]) -> int:
        return 0


class RandomMasked:
    """Uniform over the valid actions; the draws of game ``i`` come from ``default_rng([seed, i])``."""

    name = "random masked"

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed
        self.rng = np.random.default_rng(seed)

    def reset(self, game_index: int) -> None:
        self.rng = np.random.default_rng([self.seed, game_index])

    def act(self, obs: np.ndarray, mask: np.ndarray, info: dict[str, Any]) -> int:
        valid = np.flatnonzero(mask)
        return int(valid[self.rng.integers(len(valid))])


class HumanLabels:
    """The recorded player's actions (the env's ``info["human_action"]``; reset with ``player``)."""

    name = "human"

    def reset(self, game_index: int) -> None:
        pass

    def act(self, obs: np.ndarray, mask: np.ndarray, info: dict[str, Any]) -> int:
        return int(info.get("human_action", 0))


class ModelPolicy:
    """A saved SB3 model, deterministic (see the module docstring)."""

    def __init__(self, model: Any, name: str = "agent") -> None:
        self.model = model
        self.name = name
        self.maskable = hasattr(model.policy, "action_dist") and "Maskable" in type(model).__name__

    @classmethod
    def load(cls, path: str | Path, name: str = "agent") -> ModelPolicy:
        """Load a MaskablePPO model (else a PPO one) from ``path``."""
        from sb3_contrib import MaskablePPO

        try:
            model = MaskablePPO.load(path, device="cpu")
        except (KeyError, TypeError, ValueError, AttributeError):
            from stable_baselines3 import PPO

            model = PPO.load(path, device="cpu")
        return cls(model, name)

    def reset(self, game_index: int) -> None:
        pass

    def act(self, obs: np.ndarray, mask: np.ndarray, info: dict[str, Any]) -> int:
        if self.maskable:
            action, _ = self.model.predict(obs, action_masks=mask, deterministic=True)
        else:
            action, _ = self.model.predict(obs, deterministic=True)
        return int(action)


__all__ = ["AlwaysHold", "HumanLabels", "ModelPolicy", "Policy", "RandomMasked"]
