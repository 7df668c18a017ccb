"""Game files: one recorded game, every price from tick 0 to the rug.

``recordings/YYYY-MM-DD/games/{YYYYMMDDTHHMMSS}_{first 8 hex of the id's suffix}.game.json``::

    {
      "meta": {
        "game_id": "20251212-25dcb17086a24ad7",
        "start_time": "2025-12-12T22:17:19.615Z",      UTC, milliseconds, Z (tick 0)
        "end_time": "2025-12-12T22:18:16.865Z",        UTC (the rug, or the history timestamp)
        "duration_ticks": 230,                         == len(prices)
        "peak_multiplier": "1.273803618739543",        a price: max of the pre-rug prices
        "server_seed_hash": "eb40cc5d...",             64 hex, or null when never seen
        "server_seed": "365ddf8a...",                  64 hex, or null when never revealed
        -- optional additions: absent when unknown, never null --
        "rug_tick": 229,                               == len(prices) - 1
        "rug_price": "0.006550710277065084",           == prices[-1]
        "version": "v3",                               price-path algorithm
        "verified": true,                              every pre-rug price regenerated from the seed
        "verification": {"mismatch_count": 0, "first_mismatch": "..."},
        "price_sources": {"tick": 226, "snapshot": 4},  per tick, who supplied the final value; sums to
                                                        duration_ticks (PriceSource names the usual ones)
        "gaps_filled": 0,                               ticks not seen live, filled from seed or history
        "trade_count": 325, "sidebet_count": 58,
        "source": "live",                              live | history | ingest
        "recorder_version": "0.1.0"
        -- any other key: kept verbatim on read and write --
      },
      "prices": ["1.0", "1.019367556104368", ..., "0.006550710277065084"]
    }

``prices[k]`` is the price at tick ``k``; the last one is the rug price, so the rug tick is
``len(prices) - 1`` and a game has at least two prices.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import PlainValidator, model_validator

from recorder.files.base import RecordModel
from recorder.files.fields import (
    GameId,
    NonEmptyText,
    NonNegInt,
    PositiveInt,
    Price,
    Prices,
    SeedHex,
    StrictFlag,
    UtcTime,
    field_error,
    json_type,
    value_error,
)
from rugs_env.game.constants import VERSIONS


class PriceSource(StrEnum):
    """Where a tick's final price came from (the keys of ``meta.price_sources``; others are allowed)."""

    TICK = "tick"  # the ``price`` of that tick's gameStateUpdate
    PARTIAL = "partial"  # a later message's ``partialPrices`` window
    SNAPSHOT = "snapshot"  # the ``prices`` array of the first message after connecting
    HISTORY = "history"  # the game's ``gameHistory`` entry
    SEED = "seed"  # regenerated from the revealed server seed


class GameSource(StrEnum):
    """How the game came to be recorded."""

    LIVE = "live"  # watched on the feed (possibly from mid-game), completed from history and seed
    HISTORY = "history"  # never watched: recorded from its ``gameHistory`` entry
    INGEST = "ingest"  # converted offline from a capture


_SOURCE_KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,31}", re.ASCII)


def _validate_version(value: Any) -> str:
    if not isinstance(value, str) or value not in VERSIONS:
        raise value_error(f"expected one of {', '.join(VERSIONS)}, got {json_type(value)} {value!r}")
    return value


def _validate_sources(value: Any) -> dict[str, int]:
    if not isinstance(value, dict):
        raise value_error(f"expected an object of counts, got {json_type(value)}")
    for key, count in value.items():
        if not isinstance(key, str) or not _SOURCE_KEY_RE.fullmatch(key):
            raise value_error(f"not a source name (lowercase identifier): {key!r}")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise field_error(key, f"expected a count >= 0, got {json_type(count)} {count!r}")
    return dict(value)


Version = Annotated[str, PlainValidator(_validate_version)]
PriceSources = Annotated[dict[str, int], PlainValidator(_validate_sources)]


class VerificationDetail(RecordModel):
    """What the seed check found: how many recorded values differ, and the first difference in words."""

    mismatch_count: NonNegInt
    first_mismatch: NonEmptyText | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.mismatch_count == 0 and self.first_mismatch is not None:
            raise field_error("first_mismatch", "given although mismatch_count is 0")
        return self


class GameMeta(RecordModel):
    """The ``meta`` object of a game file (see the module docstring)."""

    game_id: GameId
    start_time: UtcTime
    end_time: UtcTime
    duration_ticks: PositiveInt
    peak_multiplier: Price
    server_seed_hash: SeedHex | None
    server_seed: SeedHex | None
    rug_tick: NonNegInt | None = None
    rug_price: Price | None = None
    version: Version | None = None
    verified: StrictFlag | None = None
    verification: VerificationDetail | None = None
    price_sources: PriceSources | None = None
    gaps_filled: NonNegInt | None = None
    trade_count: NonNegInt | None = None
    sidebet_count: NonNegInt | None = None
    source: GameSource | None = None
    recorder_version: NonEmptyText | None = None

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.end_time < self.start_time:
            raise field_error("end_time", "is before start_time")
        if self.verified and self.server_seed is None:
            raise field_error(
                "verified", "true but server_seed is null (a game is verified against its seed)"
            )
        if self.verified and self.verification is not None and self.verification.mismatch_count:
            raise field_error("verified", "true but verification.mismatch_count is not 0")
        return self

    @property
    def day(self) -> date:
        """The UTC date of the start: the day folder the game belongs in."""
        return self.start_time.date()


class GameRecording(RecordModel):
    """A game file: ``meta`` and ``prices`` (floats in memory; see the module docstring)."""

    meta: GameMeta
    prices: Prices

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        meta, n = self.meta, len(self.prices)
        if n < 2:
            raise field_error("prices", f"a game has at least 2 prices (tick 0 and the rug), got {n}")
        if meta.duration_ticks != n:
            raise field_error("meta.duration_ticks", f"expected {n} (len(prices)), got {meta.duration_ticks}")
        if meta.rug_tick is not None and meta.rug_tick != n - 1:
            raise field_error("meta.rug_tick", f"expected {n - 1} (len(prices) - 1), got {meta.rug_tick}")
        if meta.rug_price is not None and meta.rug_price != self.prices[-1]:
            raise field_error(
                "meta.rug_price", f"expected {self.prices[-1]!r} (the last price), got {meta.rug_price!r}"
            )
        if meta.price_sources is not None and sum(meta.price_sources.values()) != n:
            total = sum(meta.price_sources.values())
            raise field_error("meta.price_sources", f"counts sum to {total}, expected {n} (one per tick)")
        if meta.gaps_filled is not None and meta.gaps_filled > n:
            raise field_error("meta.gaps_filled", f"{meta.gaps_filled} is more than the {n} ticks")
        return self

    @classmethod
    def create(
        cls,
        *,
        game_id: str,
        start_time: datetime,
        end_time: datetime,
        prices: Sequence[float],
        server_seed_hash: str | None,
        server_seed: str | None,
        peak_multiplier: float | None = None,
        **additions: Any,
    ) -> GameRecording:
        """Build a game from its prices (rug price last), deriving the redundant fields.

        ``duration_ticks``, ``rug_tick`` and ``rug_price`` come from ``prices``; ``peak_multiplier``
        defaults to the maximum pre-rug price. ``additions`` are further meta keys (``version="v3"``,
        ``verified=True``, ``source=GameSource.LIVE``...). Raises ``pydantic.ValidationError`` (a
        ``ValueError``) for invalid values.
        """
        prices = tuple(prices)
        if peak_multiplier is None and len(prices) >= 2:
            peak_multiplier = max(prices[:-1])
        meta = {
            "game_id": game_id,
            "start_time": start_time,
            "end_time": end_time,
            "duration_ticks": len(prices),
            "peak_multiplier": peak_multiplier,
            "server_seed_hash": server_seed_hash,
            "server_seed": server_seed,
            "rug_tick": len(prices) - 1,
            "rug_price": prices[-1] if prices else None,
            **additions,
        }
        return cls.model_validate({"meta": meta, "prices": prices})

    @property
    def game_id(self) -> str:
        return self.meta.game_id

    @property
    def rug_tick(self) -> int:
        """The tick of the rug: ``len(prices) - 1``."""
        return len(self.prices) - 1

    @property
    def rug_price(self) -> float:
        return self.prices[-1]

    @property
    def pre_rug_prices(self) -> tuple[float, ...]:
        """Prices of ticks ``0 .. rug_tick - 1`` (the ones the seed determines)."""
        return self.prices[:-1]
