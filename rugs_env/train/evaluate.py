"""Evaluation on held-out recorded games: the agent against the baselines and the recorded humans.

:func:`evaluate` plays every game of the chosen split once per policy (the agent deterministic, the random
baseline seeded per game, so a run is reproducible), from the env's starting cash, and collects per game the
PnL (SOL), the equity curve (cumulative reward per step) and the trades of each policy, and of every recorded
human in that game (their labels replayed through the same ledger:
:class:`~rugs_env.train.baselines.HumanLabels`).

Where the games come from (``source``):

* a dataset folder (``rugs dataset build``): the games of its split (``games.json``), from its recordings;
* a recordings folder: its games, split chronologically with the default ratios (``split="all"``: every game).

Aggregates (:mod:`rugs_env.train.metrics`): mean PnL, IQM with its 95 % bootstrap CI, win rate, per policy
over all games; the human and the agent over the games with a recorded human, and the human-normalised score
there.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rugs_env.train.baselines import AlwaysHold, HumanLabels, ModelPolicy, Policy, RandomMasked
from rugs_env.train.metrics import aggregate, human_normalised

AGENT, RANDOM, HOLD, HUMAN = "agent", "random masked", "always hold", "human"
POLICIES = (AGENT, RANDOM, HOLD)


@dataclass
class Run:
    """One policy on one game."""

    pnl: float
    equity: np.ndarray  # cumulative reward (SOL) after each step
    trades: list[tuple[int, int]]  # (tick acted at, -1 = presale; action) of executed orders
    invalid: int = 0


@dataclass
class GameEval:
    """Every policy on one game."""

    game_id: str
    start_time: str | None
    prices: np.ndarray  # ticks 0 .. rug, rug price last
    runs: dict[str, Run]
    humans: dict[str, Run] = field(default_factory=dict)  # player -> run

    @property
    def rug_tick(self) -> int:
        return len(self.prices) - 1

    @property
    def peak(self) -> float:
        return float(self.prices[:-1].max()) if len(self.prices) > 1 else float(self.prices[0])

    @property
    def human_pnl(self) -> float | None:
        """The mean PnL of the recorded humans of this game (None when there is none)."""
        return float(np.mean([r.pnl for r in self.humans.values()])) if self.humans else None


@dataclass
class Evaluation:
    """An evaluation's per-game results and aggregates (see the module docstring)."""

    model: str
    source: str
    split: str
    seed: int
    games: list[GameEval]

    def pnl(self, policy: str, human_games_only: bool = False) -> np.ndarray:
        games = [g for g in self.games if g.humans or not human_games_only]
        if policy == HUMAN:
            return np.array([g.human_pnl for g in games if g.human_pnl is not None], dtype=np.float64)
        return np.array([g.runs[policy].pnl for g in games], dtype=np.float64)

    def aggregates(self) -> dict[str, dict[str, Any]]:
        """Per row of the summary: ``aggregate()`` numbers plus ``human_normalised`` where defined."""
        rows: dict[str, dict[str, Any]] = {}
        for name in POLICIES:
            rows[name] = aggregate(self.pnl(name), self.seed)
        with_humans = sum(1 for g in self.games if g.humans)
        if not with_humans:
            return rows
        rows[HUMAN] = aggregate(self.pnl(HUMAN), self.seed)
        agent, rand = rows[AGENT], rows[RANDOM]
        if with_humans < len(self.games):  # the agent and random on the games with a human, for comparison
            agent = rows[f"{AGENT} (human games)"] = aggregate(self.pnl(AGENT, True), self.seed)
            rand = rows[f"{RANDOM} (human games)"] = aggregate(self.pnl(RANDOM, True), self.seed)
        score = human_normalised(agent["mean"], rand["mean"], rows[HUMAN]["mean"])
        rows[AGENT]["human_normalised"] = agent["human_normalised"] = score
        rand["human_normalised"], rows[HUMAN]["human_normalised"] = 0.0, 1.0
        return rows

    def game_table(self) -> str:
        """One line per game: start, ticks, peak, and the PnL of every policy and of the human(s)."""
        head = (
            f"{'game':26} {'start (UTC)':19} {'ticks':>5} {'peak':>8} {'agent':>10} {'random':>10} "
            f"{'hold':>8} {'human':>10} {'n':>2}"
        )
        lines = [head]
        for g in self.games:
            human = "-" if g.human_pnl is None else f"{g.human_pnl:+10.4f}"
            lines.append(
                f"{g.game_id:26} {(g.start_time or '-')[:19]:19} {g.rug_tick:5d} {g.peak:7.2f}x "
                f"{g.runs[AGENT].pnl:+10.4f} {g.runs[RANDOM].pnl:+10.4f} {g.runs[HOLD].pnl:+8.4f} "
                f"{human:>10} {len(g.humans):2d}"
            )
        return "\n".join(lines)

    def summary_table(self) -> str:
        """The aggregates: mean PnL, IQM [95 % CI], win rate, human-normalised score (SOL per game)."""
        lines = [
            f"{'policy':28} {'games':>5} {'mean PnL':>10} {'IQM':>10} {'IQM 95% CI':>23} {'win rate':>8} "
            f"{'human-norm':>10}"
        ]
        for name, a in self.aggregates().items():
            hn = a.get("human_normalised")
            hn_text = "-" if hn is None else ("n/a" if math.isnan(hn) else f"{hn:+.3f}")
            ci = f"[{a['iqm_ci_low']:+.4f}, {a['iqm_ci_high']:+.4f}]"
            lines.append(
                f"{name:28} {a['games']:5d} {a['mean']:+10.4f} {a['iqm']:+10.4f} {ci:>23} "
                f"{a['win_rate']:8.1%} {hn_text:>10}"
            )
        return "\n".join(lines)


def resolve_games(source: str | Path, split: str) -> tuple[Any, list[str]]:
    """The game store and the game ids to evaluate (see the module docstring)."""
    from rugs_env.data.canonical import CARD_JSON, RECORDINGS_DIR, read_games
    from rugs_env.data.splits import DEFAULT_RATIOS, chronological_split
    from rugs_env.envs.games import load_store

    source = Path(source)
    if (source / CARD_JSON).is_file():
        store = load_store(source / RECORDINGS_DIR)
        games = read_games(source)
        splits = sorted({g["split"] for g in games})
        if split != "all" and split not in splits:
            raise ValueError(f"no split {split!r} in {source} (splits: {', '.join(splits)}, or all)")
        return store, [g["game_id"] for g in games if split == "all" or g["split"] == split]
    store = load_store(source)
    if split == "all":
        return store, list(store.game_ids)
    splits_ = chronological_split(list(zip(store.game_ids, store.start_times, strict=True)), DEFAULT_RATIOS)
    if split not in splits_:
        raise ValueError(f"no split {split!r}: choose from {', '.join(splits_)} or all")
    return store, splits_[split]


def run_episode(env: Any, policy: Policy, game_id: str, game_index: int, player: str | None = None) -> Run:
    """Play ``game_id`` with ``policy`` (``player``: whose labels the env shows in ``info``)."""
    options: dict[str, Any] = {"game_id": game_id}
    if player:
        options["player"] = player
    obs, info = env.reset(options=options)
    policy.reset(game_index)
    equity: list[float] = []
    trades: list[tuple[int, int]] = []
    total, invalid = 0.0, 0
    while True:
        tick = int(info["tick"])
        action = policy.act(obs, info["action_mask"], info)
        obs, reward, terminated, truncated, info = env.step(action)
        if info.get("invalid_action"):
            invalid += 1
        elif action != 0:
            trades.append((tick, action))
        total += float(reward)
        equity.append(total)
        if terminated or truncated:
            return Run(float(info["pnl"]), np.asarray(equity), trades, invalid)


def evaluate(
    model: str | Path | Policy,
    source: str | Path,
    *,
    split: str = "test",
    seed: int = 0,
    progress: bool = True,
) -> Evaluation:
    """Evaluate ``model`` (a saved SB3 model, or any policy) on the games of ``source``'s ``split``."""
    from tqdm import tqdm

    from rugs_env.data.episodes import make_replay_env

    agent = ModelPolicy.load(model) if isinstance(model, (str, Path)) else model
    store, game_ids = resolve_games(source, split)
    if not game_ids:
        raise ValueError(f"no game in the {split!r} split of {source}")
    env = make_replay_env(store)
    baselines: dict[str, Policy] = {AGENT: agent, RANDOM: RandomMasked(seed), HOLD: AlwaysHold()}
    human = HumanLabels()
    games = []
    for gid in tqdm(game_ids, desc=f"evaluate ({split})", disable=not progress, dynamic_ncols=True):
        i = store.index_of(gid)
        runs = {name: run_episode(env, pol, gid, i) for name, pol in baselines.items()}
        humans = {p: run_episode(env, human, gid, i, player=p) for p in store.players(gid)}
        start = store.start_times[i]
        games.append(
            GameEval(gid, start.isoformat() if start else None, store.game_prices(i).copy(), runs, humans)
        )
    env.close()
    name = str(model) if isinstance(model, (str, Path)) else getattr(model, "name", "policy")
    return Evaluation(name, str(source), split, seed, games)


__all__ = [
    "AGENT",
    "HOLD",
    "HUMAN",
    "POLICIES",
    "RANDOM",
    "Evaluation",
    "GameEval",
    "Run",
    "evaluate",
    "resolve_games",
    "run_episode",
]
