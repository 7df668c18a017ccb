"""Risk limits and the order rate limit, checked before any order leaves (live and paper brokers alike).

:class:`RiskLimits` (plain data, lamports):

* ``max_stake``: no single buy or sidebet stakes more than this (``--max-stake``). Sells are never capped.
* ``max_loss``: the session never loses more than this (``--max-loss``). The guard keeps a *cash floor*,
  the session's starting net worth minus ``max_loss``: an order that would spend cash below the floor (a
  buy or a sidebet; what is spent is all that can be lost, since tokens and stakes can go to zero) is
  refused. So once the losses reach ``max_loss`` no buy or sidebet is sent at all; sells, which only
  reduce risk, stay allowed, so a position can still be closed.

:class:`TokenBucket`: at most ``burst`` orders at once, refilled at ``rate`` orders per second. An order
that finds the bucket empty is refused at once (never queued: in a game that moves every 250 ms a queued
order would act on a stale decision).

:class:`RiskGuard` combines both. :meth:`RiskGuard.refusal` returns ``(code, message)`` for an order that
must not be sent, or None; codes are ``max_stake``, ``max_loss`` and ``rate_limited``. Orders refused here
never reach the socket.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from rugs_env.brokers.base import Order, OrderKind
from rugs_env.game.money import from_nano

MAX_STAKE = "max_stake"
MAX_LOSS = "max_loss"
RATE_LIMITED = "rate_limited"


@dataclass(frozen=True, slots=True)
class RiskLimits:
    """Per-order stake cap and session loss cap, lamports (None: no limit)."""

    max_stake: int | None = None
    max_loss: int | None = None

    def __post_init__(self) -> None:
        for name in ("max_stake", "max_loss"):
            value = getattr(self, name)
            if value is not None and (type(value) is not int or value < 0):
                raise ValueError(f"{name} must be a number of lamports >= 0, got {value!r}")

    def describe(self) -> str:
        stake = "none" if self.max_stake is None else f"{from_nano(self.max_stake):g} SOL"
        loss = "none" if self.max_loss is None else f"{from_nano(self.max_loss):g} SOL"
        return f"max stake {stake}, max loss {loss}"


class TokenBucket:
    """``burst`` tokens, refilled continuously at ``rate`` per second; thread-safe."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"rate must be a finite number > 0, got {rate!r}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, got {burst!r}")
        self.rate = float(rate)
        self.burst = int(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._at = clock()
        self._lock = threading.Lock()

    def _refill(self) -> None:
        now = self._clock()
        if now > self._at:
            self._tokens = min(float(self.burst), self._tokens + (now - self._at) * self.rate)
        self._at = now

    def try_take(self) -> bool:
        """Take one token if there is one; False (nothing taken) when the bucket is empty."""
        with self._lock:
            self._refill()
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return True
            return False

    @property
    def available(self) -> float:
        with self._lock:
            self._refill()
            return self._tokens

    def wait_time(self) -> float:
        """Seconds until a token is available (0 if one is now)."""
        with self._lock:
            self._refill()
            return max(0.0, (1.0 - self._tokens) / self.rate)


def stake_of(order: Order) -> int:
    """Lamports an order puts at risk (buys and sidebets); 0 for sells."""
    if order.kind is OrderKind.BUY or order.kind is OrderKind.SIDEBET:
        return order.amount
    return 0


class RiskGuard:
    """The limits and the token bucket of one session (see the module docstring)."""

    def __init__(self, limits: RiskLimits | None = None, bucket: TokenBucket | None = None) -> None:
        self.limits = limits or RiskLimits()
        self.bucket = bucket
        self.start_worth: int | None = None  # set once, from the first account the session trades with
        self.refused: dict[str, int] = {}

    def set_start(self, net_worth: int) -> None:
        """The session's starting net worth (lamports): the loss floor is measured from it. Set once."""
        if self.start_worth is None:
            self.start_worth = net_worth

    @property
    def cash_floor(self) -> int | None:
        """Cash below which no buy or sidebet may take the account (None: no loss limit)."""
        if self.limits.max_loss is None or self.start_worth is None:
            return None
        return self.start_worth - self.limits.max_loss

    def limit_refusal(self, order: Order, cash: int) -> tuple[str, str] | None:
        """Why the limits forbid ``order`` with ``cash`` lamports in hand (no token is taken)."""
        stake = stake_of(order)
        if not stake:
            return None
        cap = self.limits.max_stake
        if cap is not None and stake > cap:
            return MAX_STAKE, f"{order} stakes {from_nano(stake):g} SOL, above --max-stake {from_nano(cap):g}"
        floor = self.cash_floor
        if self.limits.max_loss is not None and (floor is None or cash - stake < floor):
            if floor is None:
                return MAX_LOSS, "the session's starting balance is not known yet"
            return MAX_LOSS, (
                f"{order} would put the session's possible loss past --max-loss "
                f"{from_nano(self.limits.max_loss):g} SOL "
                f"(cash {from_nano(cash):g}, floor {from_nano(floor):g})"
            )
        return None

    def refusal(self, order: Order, cash: int) -> tuple[str, str] | None:
        """``(code, message)`` if ``order`` must not be sent now, else None (a rate token is then taken)."""
        found = self.limit_refusal(order, cash)
        if found is None and self.bucket is not None and not self.bucket.try_take():
            found = (
                RATE_LIMITED,
                f"{order}: more than {self.bucket.rate:g} orders/s (burst {self.bucket.burst})",
            )
        if found is not None:
            self.refused[found[0]] = self.refused.get(found[0], 0) + 1
        return found

    def allows(self, order: Order, cash: int) -> bool:
        """Whether the limits allow ``order`` (for action masks; the rate limit is not consulted)."""
        return self.limit_refusal(order, cash) is None


__all__ = [
    "MAX_LOSS",
    "MAX_STAKE",
    "RATE_LIMITED",
    "RiskGuard",
    "RiskLimits",
    "TokenBucket",
    "stake_of",
]
