"""``rugs demo``: the main job end to end (``make demo``): serve, record, verify, build, clone, evaluate.

Runs :func:`rugs_env.demo.run_demo`: a local server in-process with bots at high speed, the live recorder
following a few bots as stand-ins for humans, a dataset from those recordings plus ``datasets/sample/``, a
behaviour-cloned policy and its evaluation on the held-out games. Every stage shows progress and its counts;
everything stays under ``runs/demo-<timestamp>/``.
"""

from __future__ import annotations

import argparse

from rugs_env.cli.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help="the main job: local server -> recordings -> dataset -> clone -> evaluation"
    )
    p.add_argument("--out", default="runs", metavar="DIR", help="where the run folder goes (default runs/)")
    p.add_argument("--games", type=int, default=150, help="games to record live (default 150)")
    p.add_argument(
        "--bots", type=int, default=4, help="bots on the server, one per style in turn (default 4)"
    )
    p.add_argument("--follow", type=int, default=4, help="bots recorded as stand-in humans (default 4)")
    p.add_argument("--speed", type=float, default=150.0, help="server speed-up (default 150)")
    p.add_argument("--epochs", type=int, default=15, help="behaviour cloning epochs (default 15)")
    p.add_argument(
        "--seed", type=int, default=7, help="server, bots, training and evaluation seed (default 7)"
    )
    p.add_argument(
        "--sample", default=None, metavar="DIR", help="real recordings to add (default datasets/sample/)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rugs_env.demo import DemoConfig, run_demo

    if args.games < 5:
        raise CliError("--games must be >= 5 (the test split needs games)")
    if not 1 <= args.follow <= args.bots:
        raise CliError("--follow must be between 1 and --bots")
    if not args.speed > 0 or args.epochs < 1:
        raise CliError("--speed must be > 0 and --epochs >= 1")
    cfg = DemoConfig(
        out=Path(args.out),
        games=args.games,
        bots=args.bots,
        follow=args.follow,
        speed=args.speed,
        seed=args.seed,
        epochs=args.epochs,
        sample=Path(args.sample) if args.sample else None,
        progress=not args.quiet,
    )
    run_demo(cfg)
    return 0
