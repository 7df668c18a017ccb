"""Helpers shared by the subcommands."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any


class CliError(Exception):
    """A user-facing failure: printed as one line, no traceback."""

    def __init__(self, message: str, exit_code: int = 2) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def print_json(obj: Any) -> None:
    """One JSON document on stdout (floats as their shortest round-trip repr, as json does)."""
    json.dump(obj, sys.stdout, separators=(",", ":"), allow_nan=False)
    sys.stdout.write("\n")


def positive(kind: type) -> Callable[[str], Any]:
    """An argparse ``type`` for numbers of ``kind`` (int, float) that must be > 0."""

    def parse(text: str) -> Any:
        value = kind(text)
        if not value > 0:
            raise argparse.ArgumentTypeError(f"must be > 0, got {text}")
        return value

    return parse


def add_follow_arguments(p: argparse.ArgumentParser) -> None:
    """``--follow`` and ``--start-balance``: whose sessions to record (``rugs record``, ``rugs ingest``)."""
    p.add_argument(
        "--follow",
        nargs="+",
        action="extend",
        default=[],
        metavar="NAME_OR_ID",
        help="record the sessions of these players (username or did:privy id; '*' for everyone)",
    )
    p.add_argument(
        "--start-balance",
        default=None,
        metavar="SOL",
        help="followed players' starting balance (default: unknown, the smallest consistent one)",
    )


def start_balance(args: argparse.Namespace) -> int | None:
    """``--start-balance`` in lamports (None when not given); a clear error for a bad amount."""
    if args.start_balance is None:
        return None
    from rugs_env.game.money import MoneyFormatError, to_nano

    try:
        balance = to_nano(args.start_balance)
    except MoneyFormatError as exc:
        raise CliError(f"--start-balance: {exc}") from None
    if balance < 0:
        raise CliError("--start-balance must be >= 0")
    return balance
