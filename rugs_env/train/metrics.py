"""Numbers the trainers and the evaluation report: label accuracy per action, and PnL aggregates.

Label accuracy (behaviour cloning, on held-out human labels): overall accuracy, balanced accuracy (the mean
over the actions present of the share of their labels predicted exactly), the accuracy on the human's
*decisions* (labels other than hold), and per action the support and the share predicted. The random masked
baseline's accuracy is its exact expectation: at a step with ``k`` valid actions it picks the label with
probability ``1 / k``.

PnL aggregates, for per-game results: mean, interquartile mean (IQM: the mean of the middle 50 %,
``scipy.stats.trim_mean(x, 0.25)``), its 95 % bootstrap confidence interval (``scipy.stats.bootstrap``,
percentile method, seeded), the win rate (share of games with PnL > 0), and the human-normalised score
``(mean(agent) - mean(random)) / (mean(human) - mean(random))`` over the games where a human was recorded.
scipy rather than hand-written statistics: its bootstrap is well tested, and the IQM is the robust aggregate
recommended for RL evaluation (Agarwal et al. 2021, the "rliable" paper) for few, heavy-tailed results.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

N_RESAMPLES = 2000


def label_accuracy(pred: np.ndarray, labels: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """Accuracy of predicted actions against labels (see the module docstring)."""
    pred, labels = np.asarray(pred), np.asarray(labels)
    correct = pred == labels
    per_action: dict[str, dict[str, Any]] = {}
    for a in np.unique(labels):
        sel = labels == a
        per_action[names[int(a)]] = {"support": int(sel.sum()), "accuracy": float(correct[sel].mean())}
    decisions = labels != 0
    return {
        "steps": int(len(labels)),
        "accuracy": float(correct.mean()) if len(labels) else math.nan,
        "balanced_accuracy": float(np.mean([v["accuracy"] for v in per_action.values()]))
        if per_action
        else math.nan,
        "decision_steps": int(decisions.sum()),
        "decision_accuracy": float(correct[decisions].mean()) if decisions.any() else math.nan,
        "per_action": per_action,
    }


def random_label_accuracy(labels: np.ndarray, masks: np.ndarray, names: Sequence[str]) -> dict[str, Any]:
    """The random masked policy's expected accuracy on the labels (same keys as :func:`label_accuracy`)."""
    labels = np.asarray(labels)
    p = masks[np.arange(len(labels)), labels] / np.maximum(masks.sum(axis=1), 1)
    per_action = {
        names[int(a)]: {"support": int((labels == a).sum()), "accuracy": float(p[labels == a].mean())}
        for a in np.unique(labels)
    }
    decisions = labels != 0
    return {
        "steps": int(len(labels)),
        "accuracy": float(p.mean()) if len(labels) else math.nan,
        "balanced_accuracy": float(np.mean([v["accuracy"] for v in per_action.values()]))
        if per_action
        else math.nan,
        "decision_steps": int(decisions.sum()),
        "decision_accuracy": float(p[decisions].mean()) if decisions.any() else math.nan,
        "per_action": per_action,
    }


def iqm(x: Sequence[float] | np.ndarray) -> float:
    """Interquartile mean: ``scipy.stats.trim_mean(x, 0.25)``."""
    from scipy.stats import trim_mean

    x = np.asarray(x, dtype=np.float64)
    return float(trim_mean(x, 0.25)) if len(x) else math.nan


def iqm_ci(x: Sequence[float] | np.ndarray, seed: int = 0, level: float = 0.95) -> tuple[float, float]:
    """The IQM's bootstrap confidence interval (percentile method, ``N_RESAMPLES`` resamples, seeded).

    Fewer than 2 values, or all equal: the interval is the value itself (nothing varies to resample)."""
    from scipy.stats import bootstrap, trim_mean

    x = np.asarray(x, dtype=np.float64)
    if len(x) == 0:
        return math.nan, math.nan
    if len(x) < 2 or np.all(x == x[0]):
        return float(x[0]), float(x[0])
    res = bootstrap(
        (x,),
        lambda s, axis: trim_mean(s, 0.25, axis=axis),
        confidence_level=level,
        n_resamples=N_RESAMPLES,
        method="percentile",
        rng=np.random.default_rng(seed),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


def aggregate(pnl: Sequence[float] | np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Mean, IQM with its 95 % CI, win rate and count of per-game PnLs."""
    x = np.asarray(pnl, dtype=np.float64)
    low, high = iqm_ci(x, seed)
    return {
        "games": int(len(x)),
        "mean": float(x.mean()) if len(x) else math.nan,
        "iqm": iqm(x),
        "iqm_ci_low": low,
        "iqm_ci_high": high,
        "win_rate": float((x > 0).mean()) if len(x) else math.nan,
    }


def human_normalised(agent: float, random: float, human: float) -> float:
    """``(agent - random) / (human - random)``: 0 = random, 1 = the human; NaN when they are too close."""
    denom = human - random
    if not math.isfinite(denom) or abs(denom) < 1e-12:
        return math.nan
    return (agent - random) / denom


__all__ = ["aggregate", "human_normalised", "iqm", "iqm_ci", "label_accuracy", "random_label_accuracy"]
