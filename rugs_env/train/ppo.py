"""RL fine-tuning: sb3-contrib's MaskablePPO on the native vector environment, optionally from a BC clone.

``RugsReplay-v0``: the games come from a dataset's *training* split (``dataset``: never its held-out games),
or from a recordings folder (``recordings``: every game, so evaluate on other games), or the bundled sample.
``RugsSim-v0``: fresh games from the algorithm's law (``make_sim_vector``, a pool of games drawn with the
seed). Either way the native vector env (:class:`rugs_env.envs.vector.RugsVectorEnv`) runs ``n_envs``
episodes at once behind the SB3 adapter (:class:`rugs_env.envs.sb3.Sb3VecEnv`), with ``VecMonitor`` for
episode statistics. ``init``: a saved MaskablePPO model (e.g. ``rugs train bc``'s) to continue from; its
policy architecture is kept. Progress is a tqdm bar over timesteps showing the mean episode reward (SOL) of
the last episodes; the same seed gives the same run.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

ENV_IDS = ("RugsReplay-v0", "RugsSim-v0")


@dataclass
class PPOConfig:
    """Hyper-parameters of :func:`train_ppo` (MaskablePPO's defaults otherwise)."""

    timesteps: int = 100_000
    n_envs: int = 16
    n_steps: int = 256
    batch_size: int = 1024
    learning_rate: float = 3e-4
    ent_coef: float = 0.01
    net_arch: tuple[int, ...] = (64, 64)
    seed: int = 0


@dataclass
class PPOResult:
    model_path: Path
    timesteps: int
    episodes: int
    mean_reward_last: float | None  # mean episode reward (SOL) of the last 100 episodes


def _replay_store(dataset: str | Path | None, recordings: str | Path | None) -> tuple[Any, str]:
    from rugs_env.data.canonical import RECORDINGS_DIR, read_games
    from rugs_env.envs.games import load_store, recording_files

    if dataset is not None:
        root = Path(dataset)
        games = [root / g["file"] for g in read_games(root) if g["split"] == "train"]
        _, sessions = recording_files(root / RECORDINGS_DIR)
        return load_store([*games, *sessions]), f"{len(games)} train games of {root}"
    store = load_store(recordings)
    return store, f"{store.n_games} games of {recordings or 'datasets/sample/'}"


def make_vec_env(
    env_id: str,
    n_envs: int,
    seed: int,
    *,
    dataset: str | Path | None = None,
    recordings: str | Path | None = None,
) -> tuple[Any, str]:
    """The SB3 vector env for ``env_id`` and a line saying what it plays."""
    from stable_baselines3.common.vec_env import VecMonitor

    from rugs_env.envs.sb3 import Sb3VecEnv
    from rugs_env.envs.vector import RugsVectorEnv, make_sim_vector

    if env_id == "RugsReplay-v0":
        store, what = _replay_store(dataset, recordings)
        venv = RugsVectorEnv(store, n_envs)
    elif env_id == "RugsSim-v0":
        venv, what = make_sim_vector(n_envs, seed=seed), "fresh simulated games"
    else:
        raise ValueError(f"unknown env {env_id!r}: choose from {', '.join(ENV_IDS)}")
    return VecMonitor(Sb3VecEnv(venv)), what


class _TqdmCallback:
    """A stable-baselines3 callback factory: a tqdm bar over timesteps with the recent mean reward."""

    @staticmethod
    def make(total: int, enabled: bool) -> Any:
        from stable_baselines3.common.callbacks import BaseCallback
        from tqdm import tqdm

        class Bar(BaseCallback):
            def _on_training_start(self) -> None:
                self.bar = tqdm(
                    total=total, desc="ppo timesteps", unit="", disable=not enabled, dynamic_ncols=True
                )
                self.start = self.model.num_timesteps

            def _on_step(self) -> bool:
                self.bar.n = min(self.model.num_timesteps - self.start, total)
                if self.n_calls % 50 == 0:
                    buf = self.model.ep_info_buffer
                    if buf:
                        mean = sum(e["r"] for e in buf) / len(buf)
                        self.bar.set_postfix(episodes=len(buf), reward=f"{mean:+.4f}", refresh=False)
                    self.bar.refresh()
                return True

            def _on_training_end(self) -> None:
                self.bar.n = min(self.model.num_timesteps - self.start, total)
                self.bar.close()

        return Bar()


def train_ppo(
    env_id: str,
    out: str | Path,
    config: PPOConfig | None = None,
    *,
    init: str | Path | None = None,
    dataset: str | Path | None = None,
    recordings: str | Path | None = None,
    progress: bool = True,
    log: Any = print,
) -> PPOResult:
    """Train (or fine-tune ``init``) MaskablePPO on ``env_id``; save to ``out`` (see the module docstring)."""
    import torch
    from sb3_contrib import MaskablePPO
    from stable_baselines3.common.logger import Logger

    cfg = config or PPOConfig()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small networks: one thread is faster and leaves a core to the env
    try:
        venv, what = make_vec_env(env_id, cfg.n_envs, cfg.seed, dataset=dataset, recordings=recordings)
        log(
            f"ppo on {env_id}: {what}, {cfg.n_envs} envs, {cfg.timesteps} timesteps"
            + (f", from {init}" if init else "")
        )
        if init is not None:
            # a BC clone carries the constructor's defaults: this run's rollout settings replace them (load
            # applies them before building the model, then loads the saved weights)
            model = MaskablePPO.load(
                init,
                env=venv,
                device="cpu",
                seed=cfg.seed,
                n_steps=cfg.n_steps,
                batch_size=cfg.batch_size,
                ent_coef=cfg.ent_coef,
            )
            model.set_random_seed(cfg.seed)
        else:
            model = MaskablePPO(
                "MlpPolicy",
                venv,
                n_steps=cfg.n_steps,
                batch_size=cfg.batch_size,
                learning_rate=cfg.learning_rate,
                ent_coef=cfg.ent_coef,
                seed=cfg.seed,
                device="cpu",
                policy_kwargs={"net_arch": list(cfg.net_arch)},
            )
        # SB3's default logger makes an empty tempdir/SB3-<time> folder per run; progress is ours (tqdm)
        model.set_logger(Logger(folder=None, output_formats=[]))
        model.learn(cfg.timesteps, callback=_TqdmCallback.make(cfg.timesteps, progress))
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        model.save(out)
        buf = list(model.ep_info_buffer or [])
        mean = float(sum(e["r"] for e in buf) / len(buf)) if buf else None
        venv.close()
    finally:
        torch.set_num_threads(threads)
    path = out if out.suffix == ".zip" else out.with_name(out.name + ".zip")
    return PPOResult(path, int(model.num_timesteps), len(buf), mean)


__all__ = ["ENV_IDS", "PPOConfig", "PPOResult", "make_vec_env", "train_ppo"]
