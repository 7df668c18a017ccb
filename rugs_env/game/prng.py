"""The provably-fair price path: an exact port of rugs.fun's per-tick procedure (PROTOCOL.md §6).

``generate(server_seed, game_id, version)`` returns every pre-rug price and the rug tick, bit for bit as the
live game produces them; ``verify(...)`` checks a recorded game against its revealed seed and says precisely
what differs. The rug *price* is not a function of the seed (it comes from the feed, or from
:mod:`rugs_env.game.rug_price` in simulation).

================  =====================================================================================
Quantity          Meaning
================  =====================================================================================
``prices``        pre-rug prices, ticks ``0 .. rug_tick - 1``; ``prices[0] == 1.0``
``rug_tick``      the tick whose message carries ``rugged=true``; ``== len(prices)``
``peak``          ``max(prices)`` (includes the starting 1.0)
``server_seed_hash``  lowercase hex SHA-256 of the seed *text* (the commitment published before the game)
================  =====================================================================================
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from rugs_env.game import constants as C
from rugs_env.game.seedrandom import draws, keystream, keystream_cipher

_DRAWS_PER_TICK = 5  # rug check + god-candle draw (v3) + 3 for either move branch; fewer on rug/god ticks
_BYTES_PER_DRAW = 8  # 7 in 15 cases of 16, so this over-provisions slightly


@dataclass(frozen=True, slots=True)
class GamePath:
    """A game's path as the seed determines it (see the module docstring for the fields)."""

    game_id: str
    version: str
    server_seed_hash: str
    prices: list[float]
    rug_tick: int
    peak: float

    def to_json(self) -> dict[str, object]:
        return {
            "game_id": self.game_id,
            "version": self.version,
            "server_seed_hash": self.server_seed_hash,
            "rug_tick": self.rug_tick,
            "peak": self.peak,
            "prices": self.prices,
        }


def seed_hash(server_seed: str) -> str:
    """The commitment: SHA-256 of the seed's ASCII text (not of its hex-decoded bytes)."""
    return hashlib.sha256(server_seed.encode("utf-8")).hexdigest()


def combined_seed(server_seed: str, game_id: str) -> str:
    return f"{server_seed}-{game_id}"


class _DrawSource:
    """Doubles from the seed's keystream, decoded in batches; the stream grows on demand."""

    def __init__(self, seed: str, expected_ticks: int) -> None:
        self._cipher = keystream_cipher(seed)
        self._stream = keystream(self._cipher, expected_ticks * _DRAWS_PER_TICK * _BYTES_PER_DRAW)
        self._pos = 0

    def take(self, count: int) -> list[float]:
        while True:
            try:
                values, self._pos = draws(self._stream, self._pos, count)
                return values
            except IndexError:
                self._stream += keystream(self._cipher, max(len(self._stream), 4096))


def generate(server_seed: str, game_id: str, version: str = C.DEFAULT_VERSION) -> GamePath:
    """Every pre-rug price and the rug tick of game ``game_id`` under ``server_seed``.

    Raises ``ValueError`` for an unknown version.
    """
    if version not in C.VERSIONS:
        raise ValueError(f"unknown price-path version {version!r}; expected one of {', '.join(C.VERSIONS)}")
    god_candles = version == "v3"
    vol_cap = math.inf if version == "v1" else C.VOLATILITY_SQRT_CAP
    rug_prob, god_chance = C.RUG_PROB, C.GOD_CANDLE_CHANCE
    god_move, god_max = C.GOD_CANDLE_MOVE, C.GOD_CANDLE_MAX_PRICE
    big_chance, big_min, big_width = C.BIG_MOVE_CHANCE, C.BIG_MOVE_MIN, C.BIG_MOVE_MAX - C.BIG_MOVE_MIN
    drift_min, drift_width = C.DRIFT_MIN, C.DRIFT_MAX - C.DRIFT_MIN
    vol_base = C.VOLATILITY_BASE
    sqrt = math.sqrt

    source = _DrawSource(combined_seed(server_seed, game_id), expected_ticks=256)
    batch: list[float] = []
    k = 0
    price = C.STARTING_PRICE
    prices = [price]
    append = prices.append
    rug_tick = C.MAX_TICKS + 1  # never reached in practice (P ~ 1e-11); the path then simply ends
    for t in range(C.MAX_TICKS):
        if k + _DRAWS_PER_TICK > len(batch):
            batch = batch[k:] + source.take(64)
            k = 0
        if batch[k] < rug_prob:
            rug_tick = t + 1
            break
        k += 1
        if god_candles:
            g = batch[k]
            k += 1
            if g < god_chance and price <= god_max:
                price = price * god_move
                append(price)
                continue
        if batch[k] < big_chance:
            move = big_min + batch[k + 1] * big_width
            change = move if batch[k + 2] > 0.5 else -move
        else:
            drift = drift_min + batch[k + 1] * drift_width
            vol = vol_base * min(vol_cap, sqrt(price))
            change = drift + vol * (2 * batch[k + 2] - 1)
        k += 3
        price = price * (1 + change)
        if price < 0:
            price = 0.0
        append(price)
    return GamePath(
        game_id=game_id,
        version=version,
        server_seed_hash=seed_hash(server_seed),
        prices=prices,
        rug_tick=rug_tick if rug_tick <= C.MAX_TICKS else len(prices),
        peak=max(prices),
    )


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One difference between a recorded game and its seed: ``field`` is hash, rug_tick, price or peak."""

    field: str
    expected: object
    observed: object
    tick: int | None = None

    def __str__(self) -> str:
        where = f" at tick {self.tick}" if self.tick is not None else ""
        return f"{self.field}{where}: seed gives {self.expected!r}, recorded {self.observed!r}"


@dataclass(frozen=True, slots=True)
class Verification:
    """The outcome of :func:`verify`. ``ok`` iff nothing differs; ``unchecked_ticks`` were gaps (None)."""

    game_id: str
    path: GamePath
    mismatches: list[Mismatch] = field(default_factory=list)
    unchecked_ticks: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def summary(self, limit: int = 5) -> str:
        if self.ok:
            gaps = f", {len(self.unchecked_ticks)} ticks not recorded" if self.unchecked_ticks else ""
            return f"{self.game_id}: verified (rug tick {self.path.rug_tick}{gaps})"
        shown = "; ".join(str(m) for m in self.mismatches[:limit])
        more = f"; and {len(self.mismatches) - limit} more" if len(self.mismatches) > limit else ""
        return f"{self.game_id}: {len(self.mismatches)} mismatches: {shown}{more}"


def verify(
    server_seed: str,
    game_id: str,
    prices: Sequence[float | None],
    *,
    server_seed_hash: str | None = None,
    peak: float | None = None,
    version: str = C.DEFAULT_VERSION,
) -> Verification:
    """Check a recorded game against its revealed seed.

    ``prices`` is the recording's array: ``prices[k]`` at tick ``k`` and the rug price last, so the recorded
    rug tick is ``len(prices) - 1``. ``None`` marks a tick that was not seen (not a mismatch, but listed in
    ``unchecked_ticks``). Every pre-rug price must equal the seed's bit for bit. The rug price itself is
    not checked (the seed does not determine it). ``server_seed_hash`` and ``peak``, when given, are checked.
    """
    path = generate(server_seed, game_id, version)
    mismatches: list[Mismatch] = []
    if server_seed_hash is not None and server_seed_hash != path.server_seed_hash:
        mismatches.append(Mismatch("server_seed_hash", path.server_seed_hash, server_seed_hash))
    recorded_rug_tick = len(prices) - 1
    if recorded_rug_tick != path.rug_tick:
        mismatches.append(Mismatch("rug_tick", path.rug_tick, recorded_rug_tick))
    unchecked: list[int] = []
    for tick, observed in enumerate(prices[: min(recorded_rug_tick, path.rug_tick)]):
        if observed is None:
            unchecked.append(tick)
        elif observed != path.prices[tick]:
            mismatches.append(Mismatch("price", path.prices[tick], observed, tick))
    if peak is not None and peak != path.peak:
        mismatches.append(Mismatch("peak", path.peak, peak))
    return Verification(game_id=game_id, path=path, mismatches=mismatches, unchecked_ticks=unchecked)
