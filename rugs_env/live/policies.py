"""What chooses the actions in live play: a trained model, or a simple policy for smoke runs.

A policy is a callable ``policy(obs, mask) -> action``: ``obs`` the environment's observation, ``mask`` its
action mask (bool array). :func:`load_policy` builds one from ``--model PATH`` (a stable-baselines3 /
sb3-contrib ``.zip`` saved with ``model.save()``: MaskablePPO gets the mask, other algorithms are masked
after the fact, an action the mask forbids becoming hold) or ``--policy random|hold``. stable-baselines3
is imported only when a model is loaded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rugs_env.envs.spec import DEFAULT_TABLE, OBS_SIZE

Policy = Callable[[np.ndarray, np.ndarray], int]
POLICIES = ("random", "hold")


class PolicyError(ValueError):
    """A model that cannot be loaded or does not fit the environment's spaces."""


def hold_policy() -> Policy:
    def policy(obs: np.ndarray, mask: np.ndarray) -> int:
        return 0

    return policy


def random_policy(seed: int | None = None) -> Policy:
    """A uniformly random *valid* action (the mask's), hold included."""
    rng = np.random.default_rng(seed)

    def policy(obs: np.ndarray, mask: np.ndarray) -> int:
        valid = np.flatnonzero(mask)
        return int(rng.choice(valid)) if len(valid) else 0

    return policy


def _load_model(path: Path) -> Any:
    errors: list[str] = []
    try:
        from sb3_contrib import MaskablePPO

        return MaskablePPO.load(str(path), device="cpu")
    except ImportError:
        errors.append("sb3-contrib is not installed (pip install 'rugs-env[train]')")
    except Exception as exc:  # not a MaskablePPO file: try the other algorithms
        errors.append(f"MaskablePPO: {type(exc).__name__}")
    try:
        import stable_baselines3 as sb3
    except ImportError:
        raise PolicyError("; ".join([*errors, "stable-baselines3 is not installed"])) from None
    for name in ("PPO", "A2C", "DQN"):
        try:
            return getattr(sb3, name).load(str(path), device="cpu")
        except Exception as exc:
            errors.append(f"{name}: {type(exc).__name__}")
    raise PolicyError(f"cannot load {path} as a stable-baselines3 model ({'; '.join(errors)})")


def model_policy(path: str | Path, *, deterministic: bool = True) -> Policy:
    """The policy of a saved model; checks that its spaces are the environments' (24 features, 18 actions)."""
    path = Path(path)
    if not path.is_file():
        raise PolicyError(f"no model file at {path}")
    model = _load_model(path)
    obs_shape = getattr(model.observation_space, "shape", None)
    n_actions = getattr(model.action_space, "n", None)
    if obs_shape != (OBS_SIZE,) or n_actions != DEFAULT_TABLE.n:
        raise PolicyError(
            f"{path.name} expects observations {obs_shape} and {n_actions} actions; the environment has "
            f"({OBS_SIZE},) and {DEFAULT_TABLE.n}"
        )
    masked = type(model).__name__ == "MaskablePPO"

    def policy(obs: np.ndarray, mask: np.ndarray) -> int:
        if masked:
            action, _ = model.predict(obs, action_masks=mask, deterministic=deterministic)
        else:
            action, _ = model.predict(obs, deterministic=deterministic)
        action = int(action)
        return action if 0 <= action < len(mask) and mask[action] else 0

    return policy


def load_policy(model: str | Path | None = None, name: str | None = None, seed: int | None = None) -> Policy:
    """``--model`` wins over ``--policy``; the default is hold."""
    if model is not None:
        return model_policy(model)
    if name in (None, "hold"):
        return hold_policy()
    if name == "random":
        return random_policy(seed)
    raise PolicyError(f"unknown policy {name!r} (choose from {', '.join(POLICIES)}, or give --model)")


__all__ = ["POLICIES", "Policy", "PolicyError", "hold_policy", "load_policy", "model_policy", "random_policy"]
