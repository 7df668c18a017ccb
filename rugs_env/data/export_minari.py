"""Export to Minari (the Farama offline-RL format, HDF5 backend): one dataset per split.

Datasets are created with :func:`minari.create_dataset_from_buffers` under ``DIR/minari/`` used as the Minari
root (the ``MINARI_DATASETS_PATH`` variable is set for the call and restored after: nothing is written to the
user's ``~/.minari``). Ids are ``rugs/<name>-<split>-v0`` (namespace ``rugs``). To read one::

    import os, minari
    os.environ["MINARI_DATASETS_PATH"] = "DIR/minari"
    ds = minari.load_dataset("rugs/<name>-test-v0")
    env = ds.recover_environment()           # RugsReplay-v0 over DIR/recordings
    for ep in ds.iterate_episodes():
        options = ds.storage.get_episode_metadata([ep.id]).__next__()["options"]
        obs, _ = env.reset(options=options)  # {"game_id": ..., "player": ...}: the same game and labels

Each episode stores ``options`` (the game id and the demonstrating player) so that resetting the recovered
environment with them replays the very game; ``infos`` hold ``action_mask`` and ``tick`` per observation. The
environment spec is ``RugsReplay-v0``'s entry point with ``source`` = the dataset's own copy of the accepted
recordings (an absolute path: move the dataset and ``recover_environment(source=...)`` overrides it).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rugs_env.data.canonical import EpisodeSet

MINARI_DIR = "minari"
NAMESPACE = "rugs"


@contextmanager
def minari_root(root: Path) -> Iterator[None]:
    """``MINARI_DATASETS_PATH`` set to ``root`` for the duration (restored after)."""
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(Path(root).resolve())
    try:
        yield
    finally:
        if old is None:
            os.environ.pop("MINARI_DATASETS_PATH", None)
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def dataset_id(name: str, split: str) -> str:
    """``rugs/<name>-<split>-v0``."""
    return f"{NAMESPACE}/{name}-{split}-v0"


def env_spec(recordings: Path, initial_cash: float = 10.0) -> Any:
    """The ``RugsReplay-v0`` spec over ``recordings``: a string entry point and JSON kwargs (recoverable)."""
    import dataclasses

    import gymnasium as gym

    import rugs_env  # noqa: F401  (registers the environments)

    base = gym.spec("RugsReplay-v0")
    kwargs = {"source": str(Path(recordings).resolve()), "order": "sequential", "initial_cash": initial_cash}
    return dataclasses.replace(base, kwargs=kwargs)


def export_minari(
    out: Path, name: str, splits: dict[str, EpisodeSet], recordings: Path, description: str = ""
) -> dict[str, str]:
    """Write one Minari dataset per non-empty split under ``out/minari``; returns ``{split: dataset id}``."""
    import gymnasium as gym
    import minari
    from minari.data_collector import EpisodeBuffer

    from rugs_env import __version__

    root = out / MINARI_DIR
    root.mkdir(parents=True, exist_ok=True)
    spec = env_spec(recordings)
    env = gym.make(spec)
    ids: dict[str, str] = {}
    try:
        with minari_root(root):
            for split, episodes in splits.items():
                if not len(episodes):
                    continue
                buffers = [_buffer(EpisodeBuffer, i, episodes.episode(i)) for i in range(len(episodes))]
                ds_id = dataset_id(name, split)
                with warnings.catch_warnings():  # Minari nags for a contact e-mail: there is none to give
                    warnings.filterwarnings("ignore", message=".*author_email.*")
                    _create(minari, ds_id, buffers, env, spec, split, description, __version__)
                ids[split] = ds_id
    finally:
        env.close()
    return ids


def _buffer(cls: Any, i: int, ep: Any) -> Any:
    """Episode ``i`` as a Minari ``EpisodeBuffer`` (options: the game, and the player whose labels it
    plays)."""
    options = {"game_id": ep.game_id, **({"player": ep.player} if ep.player else {})}
    return cls(
        id=i,
        options=options,
        observations=ep.observations,
        actions=ep.actions,
        rewards=list(ep.rewards),
        terminations=list(ep.terminations),
        truncations=list(ep.truncations),
        infos={"action_mask": ep.action_masks, "tick": ep.ticks},
    )


def _create(
    minari: Any,
    ds_id: str,
    buffers: list[Any],
    env: Any,
    spec: Any,
    split: str,
    description: str,
    version: str,
) -> None:
    minari.create_dataset_from_buffers(
        dataset_id=ds_id,
        buffer=buffers,
        env=env,
        eval_env=spec,
        algorithm_name="recorded human demonstrations (rugs_env.data)",
        author="rugs-env",
        code_permalink="rugs_env/data",
        description=description or f"rugs.fun recorded games, {split} split",
        requirements=[f"rugs-env>={version}"],
        data_format="hdf5",
    )


def load_minari(out: Path, ds_id: str) -> Any:
    """Load one of this dataset's Minari datasets (with ``out/minari`` as the root)."""
    import minari

    with minari_root(Path(out) / MINARI_DIR):
        return minari.load_dataset(ds_id)


__all__ = ["dataset_id", "env_spec", "export_minari", "load_minari", "minari_root"]
