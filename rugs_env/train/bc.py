"""Behaviour cloning: a MaskablePPO policy trained on human labels with a masked cross-entropy.

The policy is sb3-contrib's ``MaskablePPO("MlpPolicy")`` built on the dataset's own environment (so its spaces
are the env's). Training touches the actor only (features extractor, ``mlp_extractor.policy_net``,
``action_net``): logits of the actions the mask forbids are set to ``-inf`` and the cross-entropy with the
human label is minimised with Adam, directly in torch. Labels the mask forbids (the ledger refused them in the
env's account) cannot be learnt with a masked loss: they are left out and counted. Hold dominates the labels
(most ticks nobody trades), so the loss weighs each action by ``frequency ** -0.75`` by default
(``class_weight="0.75"``; also ``"none"``, ``"sqrt"`` = 0.5, ``"balanced"`` = 1): with no weights the clone
holds almost always (the accuracy of always-hold, no skill on decisions); with balanced weights it trades at
every other tick. 0.75 keeps most holds right and gets a real share of the decisions.

The result is saved with ``model.save()``: ``MaskablePPO.load(path)`` and ``rugs train ppo --init path`` work.
Beside it, ``<path>.bc.json`` holds the configuration and the held-out metrics: accuracy, balanced accuracy
and accuracy on decisions, per action, for the clone, the random masked baseline (its exact expectation) and
always-hold. The same seed gives the same model (seeded init and batch order, CPU).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from rugs_env.data.canonical import RECORDINGS_DIR, load_dataset, read_card
from rugs_env.train.metrics import label_accuracy, random_label_accuracy

# the loss weight of an action is frequency ** -power: the named powers, or a number in [0, 1]
CLASS_WEIGHTS = {"none": 0.0, "sqrt": 0.5, "balanced": 1.0}


@dataclass
class BCConfig:
    """Hyper-parameters of :func:`train_bc`."""

    epochs: int = 10
    batch_size: int = 256
    lr: float = 1e-3
    net_arch: tuple[int, ...] = (64, 64)
    class_weight: str = "0.75"
    seed: int = 0
    train_splits: tuple[str, ...] = ("train",)
    eval_split: str = "test"  # held-out metrics (falls back to val, then train, when absent)


@dataclass
class BCResult:
    """What :func:`train_bc` did: where the model is, and the held-out metrics."""

    model_path: Path
    metrics_path: Path
    config: BCConfig
    train_steps: int
    dropped_invalid: int
    eval_split: str
    clone: dict[str, Any]
    random: dict[str, Any]
    hold: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)

    def summary_table(self) -> str:
        """Per action: support and accuracy of the clone and of the random baseline; then the totals."""
        names = list(self.clone["per_action"])
        lines = [
            f"held-out labels ({self.eval_split} split): accuracy per action",
            f"{'action':16} {'labels':>7} {'clone':>7} {'random':>7}",
        ]
        for n in names:
            c, r = self.clone["per_action"][n], self.random["per_action"][n]
            lines.append(f"{n:16} {c['support']:7d} {c['accuracy']:7.1%} {r['accuracy']:7.1%}")
        for key, label in (
            ("accuracy", "all labels"),
            ("balanced_accuracy", "balanced"),
            ("decision_accuracy", "decisions"),
        ):
            lines.append(
                f"{label:16} {'':7} {self.clone[key]:7.1%} {self.random[key]:7.1%}"
                + (f"   (always hold {self.hold[key]:.1%})" if key != "balanced_accuracy" else "")
            )
        return "\n".join(lines)


def make_dataset_env(dataset_dir: str | Path) -> Any:
    """``RugsReplay-v0`` over the dataset's recordings (the spec the card and the Minari export record)."""
    import gymnasium as gym

    from rugs_env.data.export_minari import env_spec

    return gym.make(env_spec(Path(dataset_dir) / RECORDINGS_DIR), disable_env_checker=True)


def masked_logits(policy: Any, obs: Any, masks: Any) -> Any:
    """The actor's logits with forbidden actions at ``-inf`` (torch tensors in, tensor out)."""
    features = policy.extract_features(obs)
    if isinstance(features, tuple):  # features extractors not shared: (actor's, critic's)
        features = features[0]
    logits = policy.action_net(policy.mlp_extractor.forward_actor(features))
    return logits.masked_fill(~masks, float("-inf")) if masks is not None else logits


def predict(policy: Any, observations: np.ndarray, masks: np.ndarray, batch: int = 8192) -> np.ndarray:
    """Deterministic masked actions (argmax of the masked logits) for many observations."""
    import torch

    out = []
    with torch.no_grad():
        for i in range(0, len(observations), batch):
            obs = torch.as_tensor(observations[i : i + batch], dtype=torch.float32)
            m = torch.as_tensor(masks[i : i + batch], dtype=torch.bool)
            out.append(masked_logits(policy, obs, m).argmax(dim=1).numpy())
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def check_class_weight(kind: str) -> None:
    """``ValueError`` unless ``kind`` is a name of :data:`CLASS_WEIGHTS` or a power in [0, 1]."""
    if kind in CLASS_WEIGHTS:
        return
    try:
        power = float(kind)
    except ValueError:
        power = -1.0
    if not 0.0 <= power <= 1.0:
        raise ValueError(
            f"class weight must be one of {', '.join(CLASS_WEIGHTS)} or a power in [0, 1]: {kind!r}"
        )


def _weights(labels: np.ndarray, n: int, kind: str) -> np.ndarray:
    counts = np.bincount(labels, minlength=n).astype(np.float64)
    freq = counts / max(counts.sum(), 1)
    power = CLASS_WEIGHTS[kind] if kind in CLASS_WEIGHTS else float(kind)
    w = np.where(counts > 0, np.power(np.maximum(freq, 1e-12), -power), 0.0)
    mean = (w * counts).sum() / max(counts.sum(), 1)  # weighted mean over the samples = 1
    return (w / mean).astype(np.float32) if mean > 0 else np.ones(n, dtype=np.float32)


def _steps(dataset_dir: Path, splits: tuple[str, ...]) -> dict[str, np.ndarray]:
    parts = [load_dataset(dataset_dir, s).demo_steps() for s in splits]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def train_bc(
    dataset_dir: str | Path,
    out: str | Path,
    config: BCConfig | None = None,
    *,
    progress: bool = True,
    log: Any = print,
) -> BCResult:
    """Clone the human labels of a dataset into a MaskablePPO policy saved at ``out`` (module docstring)."""
    import torch

    cfg = config or BCConfig()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a small MLP: one thread is faster than several on a busy machine
    try:
        return _train(dataset_dir, out, cfg, progress, log)
    finally:
        torch.set_num_threads(threads)


def _train(dataset_dir: str | Path, out: str | Path, cfg: BCConfig, progress: bool, log: Any) -> BCResult:
    import torch
    from sb3_contrib import MaskablePPO
    from tqdm import tqdm

    check_class_weight(cfg.class_weight)
    dataset_dir, out = Path(dataset_dir), Path(out)
    splits = list(read_card(dataset_dir)["splits"])
    missing = [s for s in cfg.train_splits if s not in splits]
    if missing:
        raise ValueError(f"the dataset has no split {missing[0]!r} (splits: {', '.join(splits)})")
    eval_split = next(s for s in (cfg.eval_split, "val", "test", "train") if s in splits)
    train = _steps(dataset_dir, cfg.train_splits)
    held = _steps(dataset_dir, (eval_split,))
    valid = train["label_valid"]
    dropped = int((~valid).sum())
    x, m, y = train["observations"][valid], train["action_masks"][valid], train["actions"][valid]
    if len(y) == 0:
        raise ValueError(f"no human labels in the {'+'.join(cfg.train_splits)} split(s) of {dataset_dir}")
    log(
        f"behaviour cloning: {len(y)} labelled steps ({int((y != 0).sum())} human decisions) from "
        f"{'+'.join(cfg.train_splits)}"
        + (f"; {dropped} labels the ledger refused left out" if dropped else "")
    )
    torch.manual_seed(cfg.seed)
    env = make_dataset_env(dataset_dir)
    model = MaskablePPO(
        "MlpPolicy", env, seed=cfg.seed, device="cpu", policy_kwargs={"net_arch": list(cfg.net_arch)}
    )
    policy = model.policy
    policy.set_training_mode(True)
    params = [p for n, p in policy.named_parameters() if "value" not in n]
    optim = torch.optim.Adam(params, lr=cfg.lr)
    n_actions = m.shape[1]
    weight = torch.as_tensor(_weights(y, n_actions, cfg.class_weight))
    xt, mt, yt = torch.as_tensor(x), torch.as_tensor(m), torch.as_tensor(y)
    rng = np.random.default_rng(cfg.seed)
    history: list[dict[str, float]] = []
    bar = tqdm(range(cfg.epochs), desc="bc epochs", disable=not progress, dynamic_ncols=True)
    for epoch in bar:
        order = torch.as_tensor(rng.permutation(len(y)))
        total = 0.0
        for i in range(0, len(y), cfg.batch_size):
            idx = order[i : i + cfg.batch_size]
            logits = masked_logits(policy, xt[idx], mt[idx])
            loss = torch.nn.functional.cross_entropy(logits, yt[idx], weight=weight)
            optim.zero_grad()
            loss.backward()
            optim.step()
            total += float(loss.detach()) * len(idx)
        policy.set_training_mode(False)
        pred = predict(policy, held["observations"], held["action_masks"])
        policy.set_training_mode(True)
        acc = label_accuracy(pred, held["actions"], env.unwrapped.table.names)
        row = {
            "epoch": epoch + 1,
            "loss": total / len(y),
            "heldout_accuracy": acc["accuracy"],
            "heldout_balanced_accuracy": acc["balanced_accuracy"],
        }
        history.append(row)
        bar.set_postfix(
            loss=f"{row['loss']:.4f}", acc=f"{acc['accuracy']:.3f}", bal=f"{acc['balanced_accuracy']:.3f}"
        )
    bar.close()
    policy.set_training_mode(False)
    names = env.unwrapped.table.names
    pred = predict(policy, held["observations"], held["action_masks"])
    clone = label_accuracy(pred, held["actions"], names)
    random = random_label_accuracy(held["actions"], held["action_masks"], names)
    hold = label_accuracy(np.zeros_like(held["actions"]), held["actions"], names)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    model_path = out if out.suffix == ".zip" else out.with_name(out.name + ".zip")
    metrics_path = model_path.with_suffix(".bc.json")
    result = BCResult(
        model_path, metrics_path, cfg, len(y), dropped, eval_split, clone, random, hold, history
    )
    metrics_path.write_text(json.dumps(_result_json(result, dataset_dir), indent=1) + "\n")
    env.close()
    return result


def _result_json(r: BCResult, dataset_dir: Path) -> dict[str, Any]:
    return {
        "dataset": str(dataset_dir),
        "config": asdict(r.config),
        "train_steps": r.train_steps,
        "dropped_invalid_labels": r.dropped_invalid,
        "eval_split": r.eval_split,
        "clone": r.clone,
        "random_masked": r.random,
        "always_hold": r.hold,
        "history": r.history,
    }


__all__ = ["BCConfig", "BCResult", "make_dataset_env", "masked_logits", "predict", "train_bc"]
