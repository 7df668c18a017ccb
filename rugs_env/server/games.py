"""Where games come from: fresh provably-fair seeds, a fixed list (tests), or recorded games (``--replay``).

A :class:`GameSpec` is everything the engine needs to play one game: its id, the seed and its hash, the
pre-rug prices (``prices[k]`` at tick ``k``, ``rug_tick == len(prices)``) and the rug price. Sources are
iterators of specs; they take the wall-clock time (ms) because a game id carries the UTC date it was made.
"""

from __future__ import annotations

import random
import secrets
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rugs_env.game import constants as C
from rugs_env.game.prng import generate
from rugs_env.game.rug_price import sample_rug_price


@dataclass(frozen=True, slots=True)
class GameSpec:
    """One game to play. ``server_seed`` may be None only for replayed games recorded without a reveal."""

    game_id: str
    server_seed: str | None
    server_seed_hash: str
    version: str
    prices: tuple[float, ...]  # pre-rug prices, ticks 0 .. rug_tick - 1
    rug_price: float

    @property
    def rug_tick(self) -> int:
        return len(self.prices)

    @property
    def peak(self) -> float:
        return max(self.prices)

    def price_at(self, tick: int) -> float:
        """The price broadcast at ``tick`` (the rug price at the rug tick)."""
        return self.prices[tick] if tick < len(self.prices) else self.rug_price

    @classmethod
    def from_seed(
        cls,
        server_seed: str,
        game_id: str,
        rug_price: float | None = None,
        *,
        rng: random.Random | None = None,
        version: str = C.DEFAULT_VERSION,
    ) -> GameSpec:
        """The game a seed gives; the rug price is sampled from its law unless given."""
        path = generate(server_seed, game_id, version)
        if rug_price is None:
            rug_price = sample_rug_price(path.prices[-1], rng or random.Random())
        return cls(
            game_id=game_id,
            server_seed=server_seed,
            server_seed_hash=path.server_seed_hash,
            version=version,
            prices=tuple(path.prices),
            rug_price=rug_price,
        )


def game_id_for(now_ms: int, suffix_bits: int) -> str:
    """``YYYYMMDD-<16 lowercase hex>`` with the UTC date of ``now_ms``."""
    day = datetime.fromtimestamp(now_ms / 1000, tz=UTC).strftime("%Y%m%d")
    return f"{day}-{suffix_bits:016x}"


class RandomGames:
    """Fresh games: random 64-hex seeds (from ``rng`` when seeded, else the OS), rug prices from the law."""

    def __init__(self, rng: random.Random | None, version: str = C.DEFAULT_VERSION) -> None:
        self._rng = rng
        self._rug_rng = random.Random(rng.random()) if rng is not None else random.Random()
        self._version = version

    def _seed(self) -> str:
        if self._rng is None:
            return secrets.token_hex(32)
        return f"{self._rng.getrandbits(256):064x}"

    def _suffix(self) -> int:
        return self._rng.getrandbits(64) if self._rng is not None else secrets.randbits(64)

    def make(self, now_ms: int) -> GameSpec:
        return GameSpec.from_seed(
            self._seed(), game_id_for(now_ms, self._suffix()), rng=self._rug_rng, version=self._version
        )


def coerce_spec(item: Any, rng: random.Random) -> GameSpec:
    """A GameSpec from a config item: a GameSpec, ``(seed, game_id)`` or ``(seed, game_id, rug_price)``."""
    if isinstance(item, GameSpec):
        return item
    if isinstance(item, (tuple, list)) and len(item) in (2, 3):
        rug = float(item[2]) if len(item) == 3 and item[2] is not None else None
        return GameSpec.from_seed(str(item[0]), str(item[1]), rug, rng=rng)
    raise ValueError(
        f"cannot make a game from {item!r}: expected GameSpec, (seed, id) or (seed, id, rug_price)"
    )


class GameFeed:
    """The engine's supply of games: the fixed ones first, then ``fallback`` (fresh or replayed) games."""

    def __init__(
        self,
        fixed: Iterable[Any],
        fallback: Callable[[int], GameSpec | None],
        rng: random.Random,
    ) -> None:
        self._fixed: Iterator[Any] = iter(list(fixed))
        self._fallback = fallback
        self._rng = rng

    def next_game(self, now_ms: int) -> GameSpec | None:
        """The next game to play, or None when the supply is exhausted (replay of a finite directory)."""
        item = next(self._fixed, None)
        if item is not None:
            return coerce_spec(item, self._rng)
        return self._fallback(now_ms)
