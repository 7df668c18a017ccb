"""Episodes: a recorded game replayed through ``RugsReplay-v0`` with a human's labels as the actions.

**What an episode is.** One (game, player) pair where the recordings hold at least one action of that player
in that game: ``env.reset(options={"game_id": g, "player": p})``, then every step plays the action the
env's own ``info["human_action"]`` gives (the player's recorded action at that tick mapped to the action
table, hold where they did nothing; see :mod:`rugs_env.envs.labels`), from presale to the rug. So an episode's
observations are exactly what the env shows an agent that acts like that player, from the env's starting cash
(10 SOL by default). Games in which nobody was recorded can be added as *hold episodes* (``player == ""``,
every action hold): they are not demonstrations, and the trainers leave them out.

Arrays of an episode with ``T`` steps: ``observations`` ``(T + 1, OBS_SIZE)`` float32 (the reset observation,
then one per step; the last is the terminal one), ``action_masks`` ``(T + 1, n_actions)`` bool (the mask of
each observation), ``ticks`` ``(T + 1,)`` (-1 = presale), ``actions`` ``(T,)`` int64, ``rewards`` ``(T,)``
float64 (SOL; they sum to the episode's PnL), ``terminations`` / ``truncations`` ``(T,)`` bool, ``invalid``
``(T,)`` bool (a label the ledger refused in the env's account, played as hold: e.g. a sell of a position the
player held from before the recording).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from rugs_env.envs.games import GameStore


@dataclass
class Episode:
    """One episode's arrays and identity (see the module docstring)."""

    game_id: str
    player: str  # "" for a hold episode (no recorded player)
    observations: np.ndarray
    action_masks: np.ndarray
    ticks: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    terminations: np.ndarray
    truncations: np.ndarray
    invalid: np.ndarray
    pnl: float = 0.0  # SOL, the env's info["pnl"] on the last step
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def steps(self) -> int:
        return len(self.actions)

    @property
    def is_demo(self) -> bool:
        return bool(self.player)


def make_replay_env(store: GameStore, **kwargs: Any) -> Any:
    """``gym.make("RugsReplay-v0")`` over ``store`` (sequential order; the env checker off: it would warn
    about every game it has no reason to)."""
    import gymnasium as gym

    import rugs_env  # noqa: F401  (registers the environments)

    return gym.make("RugsReplay-v0", source=store, order="sequential", disable_env_checker=True, **kwargs)


def play_episode(env: Any, game_id: str, player: str | None) -> Episode:
    """Replay ``game_id`` with ``player``'s labels (``None`` or ``""``: hold throughout)."""
    options: dict[str, Any] = {"game_id": game_id}
    if player:
        options["player"] = player
    obs, info = env.reset(options=options)
    if player and info.get("demo_player") != player:
        raise ValueError(f"the env has no demonstration of {player!r} in game {game_id}")
    observations = [obs]
    masks = [info["action_mask"]]
    ticks = [info["tick"]]
    actions: list[int] = []
    rewards: list[float] = []
    terms: list[bool] = []
    truncs: list[bool] = []
    invalid: list[bool] = []
    label = int(info["human_action"]) if player else 0
    pnl = 0.0
    while True:
        obs, reward, terminated, truncated, info = env.step(label)
        actions.append(label)
        rewards.append(float(reward))
        terms.append(bool(terminated))
        truncs.append(bool(truncated))
        invalid.append(bool(info.get("invalid_action", False)))
        observations.append(obs)
        masks.append(info["action_mask"])
        ticks.append(info["tick"])
        if terminated or truncated:
            pnl = float(info["pnl"])
            break
        label = int(info["human_action"]) if player else 0
    return Episode(
        game_id=game_id,
        player=player or "",
        observations=np.asarray(observations, dtype=np.float32),
        action_masks=np.asarray(masks, dtype=bool),
        ticks=np.asarray(ticks, dtype=np.int32),
        actions=np.asarray(actions, dtype=np.int64),
        rewards=np.asarray(rewards, dtype=np.float64),
        terminations=np.asarray(terms, dtype=bool),
        truncations=np.asarray(truncs, dtype=bool),
        invalid=np.asarray(invalid, dtype=bool),
        pnl=pnl,
    )


__all__ = ["Episode", "make_replay_env", "play_episode"]
