"""``rugs evaluate --model M --recordings DIR [--split test]``: the agent on held-out recorded games.

Plays every game of the split (a dataset folder's split, or a recordings folder split chronologically; ``all``
for every game) with the model (deterministic), the random masked baseline (seeded), always-hold and the
recorded humans where they played; prints the per-game table and the aggregates (mean PnL, IQM with its 95 %
bootstrap CI, win rate, human-normalised score) and writes a report folder (Markdown, CSV, JSON, PNG plots).
"""

from __future__ import annotations

import argparse
import sys

from rugs_env.cli.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate", help="evaluate a model on held-out recorded games against baselines and humans"
    )
    p.add_argument("--model", required=True, metavar="MODEL", help="a saved MaskablePPO (or PPO) model .zip")
    p.add_argument(
        "--recordings",
        required=True,
        metavar="DIR",
        help="a dataset folder (its split) or a recordings folder (split chronologically)",
    )
    p.add_argument("--split", default="test", help="train, val, test or all (default test)")
    p.add_argument("--report", metavar="DIR", default=None, help="report folder (default: beside the model)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random baseline and the bootstrap")
    p.add_argument(
        "--no-games", action="store_true", help="print the aggregates only, not the per-game table"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from rugs_env.train.evaluate import evaluate
    from rugs_env.train.report import write_report

    model = Path(args.model)
    if not model.exists():
        raise CliError(f"no model at {model}")
    if not Path(args.recordings).exists():
        raise CliError(f"no recordings at {args.recordings}")
    try:
        ev = evaluate(model, args.recordings, split=args.split, seed=args.seed, progress=not args.quiet)
    except (FileNotFoundError, KeyError, ValueError) as exc:
        raise CliError(str(exc).strip("'\"")) from None
    sidecar = model.with_suffix(".bc.json")
    bc = json.loads(sidecar.read_text()) if sidecar.is_file() else None
    report = Path(args.report) if args.report else model.parent / f"report-{model.stem}"
    files = write_report(ev, report, bc)
    if not args.no_games:
        print(ev.game_table())
        print()
    print(f"{len(ev.games)} games ({args.split} split), PnL in SOL per game:")
    print(ev.summary_table())
    print(f"report: {files['markdown']}", file=sys.stderr if args.quiet else sys.stdout)
    return 0
