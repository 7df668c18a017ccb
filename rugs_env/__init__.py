"""rugs-env: rugs.fun games as Gymnasium environments, with the recorder and tools around them.

Importing the package registers the environments (string entry points: nothing heavy is imported here)::

    import gymnasium as gym
    import rugs_env  # noqa: F401
    env = gym.make("RugsReplay-v0")          # or gym.make("rugs_env:RugsReplay-v0") without the import
"""

__version__ = "0.1.0"


def _register() -> None:
    from gymnasium.envs.registration import register, registry

    envs = {
        "RugsReplay-v0": ("rugs_env.envs.replay:RugsReplayEnv", "rugs_env.envs.vector:make_replay_vector"),
        "RugsSim-v0": ("rugs_env.envs.sim:RugsSimEnv", "rugs_env.envs.vector:make_sim_vector"),
    }
    for env_id, (entry, vector_entry) in envs.items():
        if env_id not in registry:
            register(id=env_id, entry_point=entry, vector_entry_point=vector_entry)
    if "RugsLive-v0" not in registry:  # one live feed per environment: no vector entry point
        register(id="RugsLive-v0", entry_point="rugs_env.envs.live:RugsLiveEnv")


try:  # gymnasium is a dependency; a broken install should not make the recorder unimportable
    _register()
except ImportError:  # pragma: no cover
    pass
