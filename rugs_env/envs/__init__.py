"""The environments: ``RugsReplay-v0`` (recorded games), ``RugsSim-v0`` (fresh games), the numpy vector env,
the stable-baselines3 adapter, the action table and observation layout they share, and demonstration labels.

Registered by ``import rugs_env`` (string entry points, so that import stays cheap)::

    import gymnasium as gym, rugs_env
    env = gym.make("RugsReplay-v0")                       # datasets/sample/ by default
    envs = gym.make_vec("RugsReplay-v0", num_envs=64, vectorization_mode="vector_entry_point")
"""

from rugs_env.envs.games import GameStore, load_store
from rugs_env.envs.replay import RugsReplayEnv
from rugs_env.envs.sim import RugsSimEnv
from rugs_env.envs.spec import DEFAULT_TABLE, OBS_NAMES, OBS_SIZE, ActionTable
from rugs_env.envs.vector import RugsVectorEnv

_LABELS = ("FidelityReport", "fit_table", "label_actions", "label_fidelity")


def __getattr__(name: str) -> object:
    # the label tools load lazily, so that ``python -m rugs_env.envs.labels`` runs cleanly
    if name in _LABELS:
        from rugs_env.envs import labels

        return getattr(labels, name)
    raise AttributeError(f"module 'rugs_env.envs' has no attribute {name!r}")


__all__ = [
    "DEFAULT_TABLE",
    "OBS_NAMES",
    "OBS_SIZE",
    "ActionTable",
    "FidelityReport",
    "GameStore",
    "RugsReplayEnv",
    "RugsSimEnv",
    "RugsVectorEnv",
    "fit_table",
    "label_actions",
    "label_fidelity",
    "load_store",
]
