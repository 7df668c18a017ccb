"""The rug price: not a function of the seed, drawn from its empirical law (PROTOCOL.md §6.5).

Over ~1,630 real games the price of the rug tick is ``min(last_price, 1.0) * V`` where ``last_price`` is the
price of the tick before the rug and ``0 < V <= RUG_PRICE_FACTOR_MAX`` (the double ``1 - 0.98``,
0.020000000000000018). ``V`` equals that bound exactly in ~17 % of games; otherwise it follows the quantile
table measured on 835 games of Oct-Nov 2025 (min 0.0012, 1 % 0.0041, 5 % 0.0069, 10 % 0.0090,
25 % 0.0131, 50 % 0.0165, 75 % 0.0197; the quantiles are of the whole sample, bound included).

The sampler is the inverse of that CDF, piecewise linear between the table's knots, with an atom at the
bound. It takes a uniform draw, or any generator with a ``random()`` method (``random.Random`` and
``numpy.random.Generator`` both qualify), so the local server and the simulator environment share it.
"""

from __future__ import annotations

import math
from typing import Protocol

from rugs_env.game.constants import RUG_PRICE_FACTOR_MAX

# Share of games whose factor is exactly the bound: 144 of the 835 games the quantile table comes from
# (pooled over Jul, Oct-Nov and Dec 2025: 275 / 1631, the same to within a percent).
P_FACTOR_AT_BOUND: float = 144 / 835

# (cumulative probability, factor) knots of the continuous part; the last knot closes it at the bound.
RUG_FACTOR_QUANTILES: tuple[tuple[float, float], ...] = (
    (0.00, 0.0012),
    (0.01, 0.0041),
    (0.05, 0.0069),
    (0.10, 0.0090),
    (0.25, 0.0131),
    (0.50, 0.0165),
    (0.75, 0.0197),
    (1.0 - P_FACTOR_AT_BOUND, RUG_PRICE_FACTOR_MAX),
)

_BELOW_BOUND = math.nextafter(RUG_PRICE_FACTOR_MAX, 0.0)


class UniformSource(Protocol):
    """Anything with a ``random()`` method returning a float in [0, 1)."""

    def random(self) -> float: ...


def rug_factor(u: float) -> float:
    """The factor ``V`` at cumulative probability ``u`` in [0, 1) (the inverse CDF of the law)."""
    if not 0.0 <= u < 1.0:
        raise ValueError(f"u must be in [0, 1), got {u!r}")
    cut = RUG_FACTOR_QUANTILES[-1][0]
    if u >= cut:
        return RUG_PRICE_FACTOR_MAX
    for (p0, v0), (p1, v1) in zip(RUG_FACTOR_QUANTILES, RUG_FACTOR_QUANTILES[1:], strict=False):
        if u < p1:
            value = v0 + (v1 - v0) * (u - p0) / (p1 - p0)
            # the continuous part stays strictly below the atom at the bound
            return min(value, _BELOW_BOUND)
    return _BELOW_BOUND  # pragma: no cover - unreachable: u < cut is covered by the last segment


def sample_rug_factor(rng: UniformSource) -> float:
    """One draw of ``V`` from the empirical law."""
    return rug_factor(rng.random())


def rug_price(last_price: float, factor: float) -> float:
    """The rug tick's price for the last pre-rug price and a factor: ``min(last_price, 1.0) * factor``."""
    return min(last_price, 1.0) * factor


def sample_rug_price(last_price: float, rng: UniformSource) -> float:
    """A rug price for a game whose last pre-rug price is ``last_price``."""
    return rug_price(last_price, sample_rug_factor(rng))
