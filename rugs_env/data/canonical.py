"""The canonical format: one ``.npz`` per split holding its episodes back to back, and the loader.

``DIR/episodes/{split}.npz`` (numpy, no pickle):

==================  ==========================  ====================================================
key                 shape / dtype               meaning
==================  ==========================  ====================================================
``observations``    ``(sum(T_i + 1), 24)`` f32  every episode's observations, reset one first
``action_masks``    ``(sum(T_i + 1), n)`` bool  the mask of each observation
``ticks``           ``(sum(T_i + 1),)`` i32     the tick each observation shows (-1: presale)
``actions``         ``(sum(T_i),)`` i64         the human labels played
``rewards``         ``(sum(T_i),)`` f64         SOL; an episode's rewards sum to its PnL
``terminations``    ``(sum(T_i),)`` bool        the step revealed the rug
``truncations``     ``(sum(T_i),)`` bool        the recording ended without a rug
``invalid``         ``(sum(T_i),)`` bool        the label was refused by the ledger (played as hold)
``obs_offsets``     ``(E + 1,)`` i64            episode ``i``'s observations are ``[o[i], o[i+1])``
``step_offsets``    ``(E + 1,)`` i64            episode ``i``'s steps are ``[s[i], s[i+1])``
``game_ids``        ``(E,)`` str                the game of each episode
``players``         ``(E,)`` str                the demonstrating player ("" for a hold episode)
``pnl``             ``(E,)`` f64                each episode's PnL (SOL)
==================  ==========================  ====================================================

:func:`load_dataset` reads one split back as an :class:`EpisodeSet` (per-episode access, or the flat
``(observation, mask, label)`` view that behaviour cloning trains on).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from rugs_env.data.episodes import Episode

FORMAT_VERSION = 1
EPISODES_DIR = "episodes"
CARD_JSON = "card.json"
GAMES_JSON = "games.json"
RECORDINGS_DIR = "recordings"


@dataclass
class EpisodeSet:
    """The episodes of one split (see the module docstring for the arrays)."""

    split: str
    observations: np.ndarray
    action_masks: np.ndarray
    ticks: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    invalid: np.ndarray
    obs_offsets: np.ndarray
    step_offsets: np.ndarray
    game_ids: np.ndarray
    players: np.ndarray
    pnl: np.ndarray

    def __len__(self) -> int:
        return len(self.game_ids)

    @property
    def n_steps(self) -> int:
        return len(self.actions)

    def episode(self, i: int) -> Episode:
        """Episode ``i`` (array views)."""
        o0, o1 = int(self.obs_offsets[i]), int(self.obs_offsets[i + 1])
        s0, s1 = int(self.step_offsets[i]), int(self.step_offsets[i + 1])
        return Episode(
            game_id=str(self.game_ids[i]),
            player=str(self.players[i]),
            observations=self.observations[o0:o1],
            action_masks=self.action_masks[o0:o1],
            ticks=self.ticks[o0:o1],
            actions=self.actions[s0:s1],
            rewards=self.rewards[s0:s1],
            terminations=self.terminations[s0:s1],
            truncations=self.truncations[s0:s1],
            invalid=self.invalid[s0:s1],
            pnl=float(self.pnl[i]),
        )

    def step_observation_index(self) -> np.ndarray:
        """For every step, the index of the observation it acted on (its episode's observation ``j``)."""
        lengths = np.diff(self.step_offsets)
        episode_of_step = np.repeat(np.arange(len(self)), lengths)
        return self.obs_offsets[episode_of_step] + (
            np.arange(self.n_steps) - self.step_offsets[episode_of_step]
        )

    def demo_steps(self) -> dict[str, np.ndarray]:
        """The flat behaviour-cloning view: per step of every demonstration episode, the observation acted on,
        its mask and the human label; ``label_valid`` says whether the mask allows the label (a label the
        ledger refused cannot be learnt with a masked loss)."""
        idx = self.step_observation_index()
        lengths = np.diff(self.step_offsets)
        demo = np.repeat(self.players != "", lengths)
        obs, masks, labels = self.observations[idx][demo], self.action_masks[idx][demo], self.actions[demo]
        valid = masks[np.arange(len(labels)), labels] if len(labels) else np.zeros(0, dtype=bool)
        return {"observations": obs, "action_masks": masks, "actions": labels, "label_valid": valid}


def concat(split: str, episodes: Sequence[Episode]) -> EpisodeSet:
    """The episodes back to back (see the module docstring)."""
    n_obs = [len(e.observations) for e in episodes]
    n_steps = [e.steps for e in episodes]

    def cat(name: str, width: tuple[int, ...], dtype: Any) -> np.ndarray:
        arrays = [getattr(e, name) for e in episodes]
        return np.concatenate(arrays).astype(dtype) if arrays else np.zeros((0, *width), dtype=dtype)

    from rugs_env.envs.spec import DEFAULT_TABLE, OBS_SIZE

    n_actions = episodes[0].action_masks.shape[1] if episodes else DEFAULT_TABLE.n
    return EpisodeSet(
        split=split,
        observations=cat("observations", (OBS_SIZE,), np.float32),
        action_masks=cat("action_masks", (n_actions,), bool),
        ticks=cat("ticks", (), np.int32),
        actions=cat("actions", (), np.int64),
        rewards=cat("rewards", (), np.float64),
        terminations=cat("terminations", (), bool),
        truncations=cat("truncations", (), bool),
        invalid=cat("invalid", (), bool),
        obs_offsets=np.concatenate([[0], np.cumsum(n_obs, dtype=np.int64)]).astype(np.int64),
        step_offsets=np.concatenate([[0], np.cumsum(n_steps, dtype=np.int64)]).astype(np.int64),
        game_ids=np.array([e.game_id for e in episodes], dtype=str),
        players=np.array([e.player for e in episodes], dtype=str),
        pnl=np.array([e.pnl for e in episodes], dtype=np.float64),
    )


_ARRAYS = (
    "observations",
    "action_masks",
    "ticks",
    "actions",
    "rewards",
    "terminations",
    "truncations",
    "invalid",
    "obs_offsets",
    "step_offsets",
    "game_ids",
    "players",
    "pnl",
)


def write_split(out: Path, episodes: EpisodeSet) -> Path:
    """Write ``out/episodes/{split}.npz`` (compressed; atomic rename)."""
    folder = out / EPISODES_DIR
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{episodes.split}.npz"
    tmp = folder / f".{episodes.split}.tmp.npz"
    arrays = {name: getattr(episodes, name) for name in _ARRAYS}
    np.savez_compressed(tmp, format_version=np.int64(FORMAT_VERSION), **arrays)
    tmp.replace(path)
    return path


def read_card(dataset_dir: str | Path) -> dict[str, Any]:
    """The dataset card (``card.json``); ``FileNotFoundError`` if ``dataset_dir`` is not a dataset."""
    path = Path(dataset_dir) / CARD_JSON
    if not path.is_file():
        raise FileNotFoundError(
            f"{dataset_dir} is not a dataset folder (no {CARD_JSON}; `rugs dataset build`)"
        )
    return json.loads(path.read_text())


def read_games(dataset_dir: str | Path) -> list[dict[str, Any]]:
    """The dataset's game table (``games.json``): every accepted game with its split and file."""
    return json.loads((Path(dataset_dir) / GAMES_JSON).read_text())["games"]


def load_dataset(dataset_dir: str | Path, split: str = "train") -> EpisodeSet:
    """The episodes of one split of a dataset built by ``rugs dataset build``."""
    card = read_card(dataset_dir)
    splits = list(card["splits"])
    if split not in splits:
        raise KeyError(f"no split {split!r} in {dataset_dir} (splits: {', '.join(splits)})")
    path = Path(dataset_dir) / EPISODES_DIR / f"{split}.npz"
    with np.load(path, allow_pickle=False) as data:
        version = int(data["format_version"])
        if version != FORMAT_VERSION:
            raise ValueError(f"{path}: format version {version}, this reader knows {FORMAT_VERSION}")
        return EpisodeSet(split=split, **{name: data[name] for name in _ARRAYS})


__all__ = ["EpisodeSet", "concat", "load_dataset", "read_card", "read_games", "write_split"]
