"""Chronological splits: games ordered by start time are cut into consecutive blocks, never shuffled.

``--split 0.7,0.15,0.15`` gives ``train``, ``val``, ``test``; two ratios give ``train``, ``test``; one gives
``train`` only. Every game of a later split started at or after every game of an earlier one, so the test set
is the most recent games (what an agent would face next). Block sizes are the ratios times the number of
games, rounded so that they add up, and every split with a positive ratio gets at least one game when there
are enough games.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

SPLIT_NAMES: dict[int, tuple[str, ...]] = {
    1: ("train",),
    2: ("train", "test"),
    3: ("train", "val", "test"),
}
DEFAULT_RATIOS = (0.7, 0.15, 0.15)


def parse_ratios(text: str | Sequence[float]) -> tuple[float, ...]:
    """Ratios from ``"0.7,0.15,0.15"`` (or ``"70,15,15"``: they are normalised); ``ValueError`` if bad."""
    if isinstance(text, str):
        try:
            values = tuple(float(x) for x in text.replace(":", ",").split(",") if x.strip())
        except ValueError:
            raise ValueError(f"bad split ratios {text!r}: expected numbers like 0.7,0.15,0.15") from None
    else:
        values = tuple(float(x) for x in text)
    if not 1 <= len(values) <= 3:
        raise ValueError(f"bad split ratios {text!r}: give 1 to 3 ratios (train[,val],test)")
    if any(not (v >= 0) for v in values) or sum(values) <= 0 or values[0] <= 0:
        raise ValueError(f"bad split ratios {text!r}: ratios must be >= 0, train's > 0")
    total = sum(values)
    return tuple(v / total for v in values)


def split_names(ratios: Sequence[float]) -> tuple[str, ...]:
    """The names of the splits of ``ratios`` (see the module docstring)."""
    return SPLIT_NAMES[len(ratios)]


def block_sizes(n: int, ratios: Sequence[float]) -> list[int]:
    """How many of ``n`` games each split gets (largest remainders; non-empty where possible)."""
    raw = [n * r for r in ratios]
    sizes = [int(x) for x in raw]
    order = sorted(range(len(raw)), key=lambda i: raw[i] - sizes[i], reverse=True)
    for i in order[: n - sum(sizes)]:
        sizes[i] += 1
    # a split with a positive ratio gets a game taken from the largest block, if that leaves it non-empty
    for i, r in enumerate(ratios):
        if r > 0 and sizes[i] == 0:
            j = max(range(len(sizes)), key=lambda k: sizes[k])
            if sizes[j] > 1:
                sizes[j] -= 1
                sizes[i] += 1
    return sizes


def chronological_split(
    games: Sequence[tuple[str, datetime | None]], ratios: Sequence[float]
) -> dict[str, list[str]]:
    """Game ids per split, from ``(game_id, start_time)`` pairs: sorted by (start time, id), cut in blocks."""
    ordered = sorted(games, key=lambda g: (g[1] is None, g[1] or datetime.min, g[0]))
    sizes = block_sizes(len(ordered), ratios)
    out: dict[str, list[str]] = {}
    start = 0
    for name, size in zip(split_names(ratios), sizes, strict=True):
        out[name] = [gid for gid, _ in ordered[start : start + size]]
        start += size
    return out


__all__ = ["DEFAULT_RATIOS", "block_sizes", "chronological_split", "parse_ratios", "split_names"]
