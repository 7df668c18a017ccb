"""``rugs train``: behaviour cloning from a dataset's human labels, and RL fine-tuning with MaskablePPO.

``rugs train bc --dataset DIR --out model.zip`` clones the human labels of the dataset's train split into a
MaskablePPO policy (masked cross-entropy) and prints the held-out accuracy per action beside the random masked
baseline's; ``rugs train ppo --env RugsReplay-v0|RugsSim-v0 [--init model.zip]`` trains or fine-tunes by RL
(on a dataset's train games with ``--dataset``). Both show progress and are reproducible with ``--seed``.
"""

from __future__ import annotations

import argparse
import sys

from rugs_env.cli.common import CliError, positive


def _arch(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        sizes = ()
    if not sizes or any(s < 1 for s in sizes):
        raise argparse.ArgumentTypeError(f"expected layer sizes like 64,64, got {text!r}")
    return sizes


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help="train agents: behaviour cloning (bc) and RL fine-tuning (ppo)")
    algos = p.add_subparsers(dest="algo", metavar="ALGO", required=True)
    b = algos.add_parser("bc", help="behaviour cloning of a dataset's human labels (MaskablePPO policy)")
    b.add_argument("--dataset", required=True, metavar="DIR", help="a dataset folder (rugs dataset build)")
    b.add_argument("--out", required=True, metavar="MODEL", help="where to save the model (.zip)")
    b.add_argument("--epochs", type=positive(int), default=10, help="passes over the labels (default 10)")
    b.add_argument("--batch-size", type=positive(int), default=256, help="default 256")
    b.add_argument("--lr", type=positive(float), default=1e-3, help="Adam learning rate (default 1e-3)")
    b.add_argument("--net-arch", type=_arch, default=(64, 64), help="hidden layers (default 64,64)")
    b.add_argument(
        "--class-weight",
        default="0.75",
        help="loss weight frequency**-P per action: none, sqrt, balanced or P in [0, 1] (default 0.75)",
    )
    b.add_argument("--eval-split", default="test", help="held-out split for the accuracy (default test)")
    b.add_argument("--seed", type=int, default=0, help="default 0")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    b.set_defaults(handler=run_bc)
    q = algos.add_parser("ppo", help="RL with MaskablePPO on RugsReplay-v0 or RugsSim-v0")
    q.add_argument("--env", choices=("RugsReplay-v0", "RugsSim-v0"), default="RugsReplay-v0")
    q.add_argument("--out", required=True, metavar="MODEL", help="where to save the model (.zip)")
    q.add_argument("--init", metavar="MODEL", default=None, help="start from this model (e.g. a BC clone)")
    src = q.add_mutually_exclusive_group()
    src.add_argument("--dataset", metavar="DIR", help="RugsReplay-v0 on this dataset's train games")
    src.add_argument("--recordings", metavar="DIR", help="RugsReplay-v0 on every game of this folder")
    q.add_argument("--timesteps", type=positive(int), default=100_000, help="default 100000")
    q.add_argument("--n-envs", type=positive(int), default=16, help="parallel episodes (default 16)")
    q.add_argument("--n-steps", type=positive(int), default=256, help="rollout steps per env (default 256)")
    q.add_argument("--batch-size", type=positive(int), default=1024, help="default 1024")
    q.add_argument("--lr", type=positive(float), default=3e-4, help="default 3e-4")
    q.add_argument("--ent-coef", type=float, default=0.01, help="entropy bonus (default 0.01)")
    q.add_argument("--net-arch", type=_arch, default=(64, 64), help="hidden layers of a new model (64,64)")
    q.add_argument("--seed", type=int, default=0, help="default 0")
    q.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    q.set_defaults(handler=run_ppo)


def _log(message: str) -> None:
    print(message, file=sys.stderr)


def run_bc(args: argparse.Namespace) -> int:
    from rugs_env.train.bc import BCConfig, check_class_weight, train_bc

    try:
        check_class_weight(args.class_weight)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    cfg = BCConfig(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        net_arch=args.net_arch,
        class_weight=args.class_weight,
        seed=args.seed,
        eval_split=args.eval_split,
    )
    try:
        result = train_bc(args.dataset, args.out, cfg, progress=not args.quiet, log=_log)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise CliError(str(exc).strip("'\"")) from None
    print(result.summary_table())
    print(f"model: {result.model_path} (metrics: {result.metrics_path})")
    return 0


def run_ppo(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rugs_env.train.ppo import PPOConfig, train_ppo

    if args.env == "RugsSim-v0" and (args.dataset or args.recordings):
        raise CliError("--dataset and --recordings are for RugsReplay-v0 (RugsSim-v0 makes its own games)")
    if args.init is not None and not Path(args.init).exists():
        raise CliError(f"no model at {args.init}")
    cfg = PPOConfig(
        timesteps=args.timesteps,
        n_envs=args.n_envs,
        n_steps=args.n_steps,
        batch_size=args.batch_size,
        learning_rate=args.lr,
        ent_coef=args.ent_coef,
        net_arch=args.net_arch,
        seed=args.seed,
    )
    try:
        result = train_ppo(
            args.env,
            args.out,
            cfg,
            init=args.init,
            dataset=args.dataset,
            recordings=args.recordings,
            progress=not args.quiet,
            log=_log,
        )
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise CliError(str(exc).strip("'\"")) from None
    reward = "n/a" if result.mean_reward_last is None else f"{result.mean_reward_last:+.4f} SOL"
    print(
        f"model: {result.model_path} ({result.timesteps} timesteps, {result.episodes} recent episodes, "
        f"mean episode reward {reward})"
    )
    return 0
