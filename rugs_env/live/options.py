"""The live session's options (plain data: the CLI and the environment map onto it) and its error type."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rugs_env.brokers.risk import RiskLimits
from rugs_env.game.constants import LAMPORTS_PER_SOL
from rugs_env.secrets import Secret

MODES = ("paper", "live")
REAL_SERVICE_HEADERS = {"Origin": "https://rugs.fun"}


def real_service_defaults(url: str, headers: dict[str, str]) -> tuple[str, dict[str, str]]:
    """For the real service (``*.rugs.fun``): the ``Origin`` header and the ``frontend-version`` query the
    web client sends (PROTOCOL.md §1: send both to be safe), unless given. Other URLs are left alone."""
    from urllib.parse import urlparse

    parts = urlparse(url)
    if not (parts.hostname or "").endswith("rugs.fun"):
        return url, headers
    if "frontend-version" not in parts.query:
        url += ("&" if parts.query else ("" if url.endswith("?") else "?")) + "frontend-version=1.0"
    if not any(name.lower() == "origin" for name in headers):
        headers = {**REAL_SERVICE_HEADERS, **headers}
    return url, headers


class LiveError(RuntimeError):
    """The live session cannot start or go on (never contains the token)."""


@dataclass(slots=True)
class LiveOptions:
    """How a live session connects, trades and records.

    ``mode``: ``paper`` (default; the live feed, simulated fills, no token needed) or ``live`` (real orders
    on the authenticated socket: needs ``token``). Amounts in lamports; times in seconds.
    """

    url: str
    token: Secret | None = None
    mode: str = "paper"
    paper_cash: int = 10 * LAMPORTS_PER_SOL
    limits: RiskLimits = field(default_factory=RiskLimits)
    rate: float = 2.0  # orders per second (token bucket refill)
    burst: int = 5  # orders at once
    ack_timeout: float = 5.0
    reconcile_grace: float = 0.5  # after a lost ack, seconds to wait for its trade before asking the server
    tolerance: int = 0  # lamports (and nano-tokens) of allowed difference from the server's account
    patience: int = 8  # ticks a playerUpdate may wait for the events that explain it
    out: Path | None = None  # recordings folder (None: nothing recorded)
    journal: bool = True
    headers: dict[str, str] = field(default_factory=dict)
    transports: list[str] | None = field(default_factory=lambda: ["websocket"])
    stale_after: float = 15.0
    connect_timeout: float = 10.0
    reconnect_delay: float = 0.5
    reconnect_max: float = 30.0
    auth_event: str = "authenticate"
    auth_payload: Any = field(default_factory=lambda: {"token": "{token}"})
    agent: dict[str, Any] = field(default_factory=dict)  # who plays (policy, model): for the session meta

    def validate(self) -> None:
        if self.mode not in MODES:
            raise LiveError(f"mode must be one of {MODES}, got {self.mode!r}")
        if not isinstance(self.url, str) or not self.url:
            raise LiveError("a feed URL is needed")
        if self.mode == "live" and self.token is None:
            raise LiveError("live trading needs the user's token (RUGS_TOKEN or a token file)")
        if self.token is not None and not isinstance(self.token, Secret):
            raise LiveError("the token must be a rugs_env.secrets.Secret")
        if self.paper_cash < 0:
            raise LiveError("paper_cash must be >= 0")
        for name in ("rate", "ack_timeout", "reconcile_grace", "stale_after", "connect_timeout"):
            value = getattr(self, name)
            if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
                raise LiveError(f"{name} must be a number > 0, got {value!r}")
        if self.burst < 1 or self.patience < 1 or self.tolerance < 0:
            raise LiveError("burst and patience must be >= 1, tolerance >= 0")
        if self.out is not None:
            self.out = Path(self.out)
        self.url, self.headers = real_service_defaults(self.url, self.headers)

    def describe(self) -> dict[str, Any]:
        """For the journal header and the session meta (no token, of course)."""
        return {
            "mode": self.mode,
            "url": self.url,
            "limits": self.limits.describe(),
            "rate": f"{self.rate:g}/s burst {self.burst}",
            **({"agent": self.agent} if self.agent else {}),
        }


__all__ = ["MODES", "REAL_SERVICE_HEADERS", "LiveError", "LiveOptions"]
