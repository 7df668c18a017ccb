"""The ``rugs`` command: one subcommand per module of this package, each with a ``register`` function.

Subcommand modules import their heavy dependencies inside their handlers, so ``rugs --help`` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from rugs_env.cli.common import CliError

# Module names under rugs_env.cli, in the order `rugs --help` lists them.
COMMANDS: tuple[str, ...] = (
    "prng", "index", "serve", "record", "ingest", "verify", "games", "dataset", "train", "evaluate", "play",
    "demo",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rugs",
        description="Record rugs.fun games, replay them as Gymnasium environments, train, evaluate, play.",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"rugs_env.cli.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args) or 0)
    except CliError as exc:
        print(f"rugs {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except BrokenPipeError:  # e.g. `rugs ... | head`: the reader left, nothing more to say
        sys.stderr.close()
        return 141
    except KeyboardInterrupt:
        print(f"rugs {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
