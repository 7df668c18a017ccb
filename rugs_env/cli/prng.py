"""``rugs prng SERVER_SEED GAME_ID``: the price path a seed gives."""

from __future__ import annotations

import argparse

from rugs_env.cli.common import CliError, print_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("prng", help="print the provably-fair price path of a seed and game id")
    p.add_argument("server_seed", metavar="SERVER_SEED", help="the revealed server seed (64 hex)")
    p.add_argument("game_id", metavar="GAME_ID", help="the game id, e.g. 20251212-25dcb17086a24ad7")
    p.add_argument("--version", default="v3", choices=("v1", "v2", "v3"), help="algorithm (default v3)")
    p.add_argument("--json", action="store_true", help="print one JSON object with every price")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rugs_env.game.prng import generate

    try:
        path = generate(args.server_seed, args.game_id, args.version)
    except ValueError as exc:
        raise CliError(str(exc)) from exc
    if args.json:
        print_json(path.to_json())
        return 0
    print(f"game_id           {path.game_id}")
    print(f"version           {path.version}")
    print(f"server_seed_hash  {path.server_seed_hash}")
    print(f"rug_tick          {path.rug_tick}")
    print(f"peak              {path.peak!r}")
    print(f"last pre-rug      {path.prices[-1]!r}")
    return 0
