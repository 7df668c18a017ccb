"""Export to a flat D4RL-style ``.npz`` per split: one row per transition, episodes back to back.

``DIR/d4rl/{split}.npz`` keys (D4RL's names, plus the next observation as ``qlearning_dataset`` adds it, and
the masks an action-masked learner needs):

=====================  ==================  ===========================================================
``observations``       ``(N, 24)`` f32     the observation acted on
``actions``            ``(N,)`` i64        the human label
``rewards``            ``(N,)`` f32        SOL
``next_observations``  ``(N, 24)`` f32     the observation after the step
``terminals``          ``(N,)`` bool       the step revealed the rug (``terminated``)
``timeouts``           ``(N,)`` bool       the recording ended without a rug (``truncated``)
``action_masks``       ``(N, n)`` bool     the mask of ``observations``
``next_action_masks``  ``(N, n)`` bool     the mask of ``next_observations``
``episode_ids``        ``(N,)`` i64        the episode (index into the canonical split) of each row
=====================  ==================  ===========================================================
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rugs_env.data.canonical import EpisodeSet

D4RL_DIR = "d4rl"


def flatten(episodes: EpisodeSet) -> dict[str, np.ndarray]:
    """The D4RL-style arrays of one split (see the module docstring)."""
    idx = episodes.step_observation_index()
    lengths = np.diff(episodes.step_offsets)
    return {
        "observations": episodes.observations[idx],
        "actions": episodes.actions,
        "rewards": episodes.rewards.astype(np.float32),
        "next_observations": episodes.observations[idx + 1],
        "terminals": episodes.terminations,
        "timeouts": episodes.truncations,
        "action_masks": episodes.action_masks[idx],
        "next_action_masks": episodes.action_masks[idx + 1],
        "episode_ids": np.repeat(np.arange(len(episodes), dtype=np.int64), lengths),
    }


def export_d4rl(out: Path, episodes: EpisodeSet) -> Path:
    """Write ``out/d4rl/{split}.npz`` (compressed; atomic rename)."""
    folder = out / D4RL_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{episodes.split}.npz"
    tmp = folder / f".{episodes.split}.tmp.npz"
    np.savez_compressed(tmp, **flatten(episodes))
    tmp.replace(path)
    return path


__all__ = ["export_d4rl", "flatten"]
