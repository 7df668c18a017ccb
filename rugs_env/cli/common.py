"""Helpers shared by the subcommands."""

from __future__ import annotations

import json
import sys
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
