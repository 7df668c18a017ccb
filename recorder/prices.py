"""PriceHistoryHandler: one game's price array, assembled from what the feed showed and checked by the seed.

Observations come from three places (PROTOCOL.md §2, §3.1), each kept with its source:

- ``tick``: the ``price`` of a running (``active`` and not ``rugged``) message at its ``tickCount``, and the
  rug message's price at the rug tick;
- ``partial``: the ``partialPrices`` window (the last <= 5 ticks) of any active message, which fills the
  ticks whose own message was lost;
- ``snapshot``: the ``prices`` array of the first message after connecting (every tick so far).

Nothing else is a price: cooldown and presale messages (``price: 1``, ``tickCount: 0``), messages whose
``active``/``rugged`` flags are missing or mistyped, and post-rug messages (``tickCount`` R+1, R+2) never
add an observation, so there are no phantom tick-0 or post-rug prices.

:meth:`PriceHistoryHandler.assemble` completes the game when it ends: with the revealed seed every pre-rug
tick is regenerated (:func:`rugs_env.game.prng.generate`) and every observed value is compared with it bit
for bit; ticks never seen are filled from the ``gameHistory`` prices or the seed (``gaps_filled``). The rug
price always comes from the feed. A disagreement is reported (``verified`` false, ``mismatches``), never
papered over: the observed value stays in the file.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from rugs_env.game.prng import GamePath

MISSING = "missing"  # a tick nobody supplied (no seed): its value is carried from the tick before


@dataclass(slots=True)
class Assembly:
    """A finished price array: ``prices[k]`` at tick ``k``, the rug price last."""

    prices: list[float]
    sources: dict[str, int]
    gaps_filled: int
    mismatches: list[str] = field(default_factory=list)
    missing_ticks: list[int] = field(default_factory=list)
    phantom_ticks: int = 0

    @property
    def rug_tick(self) -> int:
        return len(self.prices) - 1


class PriceHistoryHandler:
    """The observed prices of one game, by tick, with where each came from."""

    __slots__ = ("_values", "_sources", "conflicts", "conflict_ticks")

    def __init__(self) -> None:
        self._values: dict[int, float] = {}
        self._sources: dict[int, str] = {}
        self.conflicts = 0  # observations of a tick that disagreed with an earlier one
        self.conflict_ticks: list[int] = []

    def __len__(self) -> int:
        return len(self._values)

    def get(self, tick: int) -> float | None:
        return self._values.get(tick)

    def source(self, tick: int) -> str | None:
        return self._sources.get(tick)

    @property
    def max_tick(self) -> int | None:
        return max(self._values) if self._values else None

    def ticks(self) -> list[int]:
        return sorted(self._values)

    def observe(self, tick: int, price: float, source: str) -> None:
        """One observation; the first value of a tick stays, a different later one is a conflict.

        The first source to supply a tick is credited with it, except that the tick's own message (``tick``)
        takes the credit from an earlier window or snapshot that agreed with it.
        """
        old = self._values.get(tick)
        if old is None:
            self._values[tick] = price
            self._sources[tick] = source
            return
        if old != price:
            self.conflicts += 1
            if len(self.conflict_ticks) < 100:
                self.conflict_ticks.append(tick)
            return
        if source == "tick":  # the tick's own message is credited over a window or snapshot that agreed
            self._sources[tick] = source

    def observe_window(self, values: Mapping[int, float], source: str = "partial") -> None:
        """A ``partialPrices`` window (or any tick -> price mapping)."""
        for tick, price in values.items():
            self.observe(tick, price, source)

    def observe_snapshot(self, prices: Sequence[float | None]) -> None:
        """The ``prices`` array sent on connect: ``prices[k]`` at tick ``k`` (None entries were invalid)."""
        for tick, price in enumerate(prices):
            if price is not None:
                self.observe(tick, price, "snapshot")

    def assemble(
        self,
        *,
        rug_tick: int,
        rug_price: float | None,
        seed_path: GamePath | None = None,
        history_prices: Sequence[float] | None = None,
        observed_rug_tick: int | None = None,
    ) -> Assembly | None:
        """The finished array for a game rugging at ``rug_tick``; None when no rug price is known.

        ``rug_tick`` is the seed's when there is a seed. ``rug_price`` is the feed's price of a rugged
        message (used when no observation sits at the rug tick). ``history_prices`` are ``gameHistory``'s
        (``len == rug_tick + 1`` to be used).
        """
        mismatches: list[str] = []
        history = (
            history_prices if history_prices is not None and len(history_prices) == rug_tick + 1 else None
        )
        if history_prices is not None and history is None:
            mismatches.append(
                f"history: {len(history_prices)} prices, the rug tick {rug_tick} needs {rug_tick + 1}"
            )
        if observed_rug_tick is not None and observed_rug_tick != rug_tick:
            mismatches.append(f"rug_tick: seed gives {rug_tick}, the feed rugged at {observed_rug_tick}")
        seed = seed_path.prices if seed_path is not None else None
        values, sources = self._values, self._sources
        prices: list[float] = []
        credit: Counter[str] = Counter()
        missing: list[int] = []
        filled = 0
        for tick in range(rug_tick):
            value = values.get(tick)
            expected = seed[tick] if seed is not None and tick < len(seed) else None
            if value is not None:
                credit[sources[tick]] += 1
                if expected is not None and value != expected:
                    mismatches.append(
                        f"price at tick {tick}: seed gives {expected!r}, the feed showed {value!r}"
                    )
            elif history is not None:
                value = history[tick]
                credit["history"] += 1
                filled += 1
                if expected is not None and value != expected:
                    mismatches.append(
                        f"price at tick {tick}: seed gives {expected!r}, gameHistory has {value!r}"
                    )
            elif expected is not None:
                value = expected
                credit["seed"] += 1
                filled += 1
            else:
                value = prices[-1] if prices else 1.0
                credit[MISSING] += 1
                missing.append(tick)
            prices.append(value)
        final = values.get(rug_tick)
        if final is not None:
            credit[sources[rug_tick]] += 1
        elif rug_price is not None:
            final = rug_price
            credit["tick"] += 1
        elif history is not None:
            final = history[rug_tick]
            credit["history"] += 1
        else:
            return None
        if rug_price is not None and final != rug_price:
            mismatches.append(f"rug price: the partial window shows {final!r}, the rug message {rug_price!r}")
        if history is not None and history[rug_tick] != final:
            mismatches.append(f"rug price: the feed showed {final!r}, gameHistory has {history[rug_tick]!r}")
        prices.append(final)
        phantoms = sum(1 for t in values if t > rug_tick)
        return Assembly(prices, dict(credit), filled, mismatches, missing, phantoms)
