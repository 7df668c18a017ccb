"""The action table and the observation layout shared by every environment (replay, sim, vector, live, data).

Actions
-------
A discrete table: ``0`` holds, then one action per buy size, per sell fraction and per sidebet size, in that
order. :data:`DEFAULT_TABLE`:

====== =================== ================================================================
 id    name                order
====== =================== ================================================================
 0     ``hold``            nothing
 1-7   ``buy <SOL>``       spend 0.001, 0.01, 0.05, 0.1, 0.25, 1 or 5 SOL
 8-11  ``sell <pct>%``     sell 10, 25, 50 or 100 % of the position
 12-17 ``sidebet <SOL>``   stake 0.001, 0.005, 0.01, 0.015, 0.05 or 0.1 SOL on a rug in 40 ticks
====== =================== ================================================================

Why these sizes: the buys are the UI's round amounts (its quick buttons add 0.001, 0.01, 0.1 and 1 SOL) plus
0.05 / 0.25 between them and the 5 SOL maximum; the sidebets are the six most used stakes of the 297 real
sidebets in the Dec-12-2025 capture (0.001 x81, 0.005 x35, 0.01 x29, 0.015 x20, 0.05 x14, 0.1 x12: 64 % of
them); the sells are the wire's percentages. Humans also type odd amounts (0.123, 0.09, 0.065...): those are
represented by the nearest size, not exactly (see :mod:`rugs_env.envs.labels` and ``fit_table``).

An action is valid (its mask bit is set) iff the ledger would accept the order now; :func:`action_mask_key`
computes that from the account state alone, with the ledger's own rules (limits, cash, phase, position).

Observation
-----------
A flat ``float32`` vector of ``OBS_SIZE`` features. The market part is a function of ``prices[0..t]`` only
(the peak is the peak *so far*; nothing depends on the game's length), the account part of the player's state.

=====  ====================  =============================================================  ===============
index  name                  meaning                                                        range
=====  ====================  =============================================================  ===============
0      ``presale``           1 in presale (before tick 0), else 0                           {0, 1}
1      ``rugged``            1 on the final observation of a rugged game, else 0            {0, 1}
2      ``tick``              ``log1p(tick) / 8`` (0 in presale)                             [0, 1.1]
3      ``log_price``         ``log(price)`` (presale: 0)                                    [-30, 10]
4      ``price_to_peak``     ``price / max(prices[0..t])``                                  [0, 1]
5      ``log_peak``          ``log(max(prices[0..t]))``                                     [0, 10]
6      ``ticks_since_peak``  ``log1p(t - argmax(prices[0..t])) / 8``                        [0, 1.1]
7-16   ``ret_k``             log return of tick ``t-k`` (k = 0..9), 0 before tick 1          [-30, 5]
17     ``cash``              cash / initial cash                                            [0, 1e6]
18     ``position_value``    value of a full sale now / initial cash                        [0, 1e6]
19     ``in_position``       1 if holding tokens                                            {0, 1}
20     ``avg_cost_ratio``    ``log(price / average entry price)``, 0 when flat              [-30, 30]
21     ``sidebet_active``    1 if a sidebet is open                                         {0, 1}
22     ``sidebet_left``      ticks left in its window / 40 (0 when none)                    [0, 1]
23     ``sidebet_stake``     the open stake / initial cash                                  [0, 1e6]
=====  ====================  =============================================================  ===============
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Final

import numpy as np

from rugs_env.brokers.base import Order
from rugs_env.game.constants import DEFAULT_MAX_BET_LAMPORTS, MIN_BET_LAMPORTS, SIDEBET_WINDOW_TICKS
from rugs_env.game.money import to_nano

HOLD: Final = 0
BUY: Final = 1
SELL: Final = 2
SIDEBET: Final = 3
KIND_NAMES: Final = ("hold", "buy", "sell", "sidebet")

N_RETURNS: Final = 10
MARKET_FEATURES: Final = (
    "presale",
    "rugged",
    "tick",
    "log_price",
    "price_to_peak",
    "log_peak",
    "ticks_since_peak",
    *(f"ret_{k}" for k in range(N_RETURNS)),
)
ACCOUNT_FEATURES: Final = (
    "cash",
    "position_value",
    "in_position",
    "avg_cost_ratio",
    "sidebet_active",
    "sidebet_left",
    "sidebet_stake",
)
OBS_NAMES: Final = MARKET_FEATURES + ACCOUNT_FEATURES
N_MARKET: Final = len(MARKET_FEATURES)
OBS_SIZE: Final = len(OBS_NAMES)
I_PRESALE, I_RUGGED = 0, 1
I_ACCOUNT: Final = N_MARKET
TICK_SCALE: Final = 8.0
_LOG_FLOOR: Final = 1e-13  # prices are > 0 in practice; log(0) is kept finite


def _bounds() -> tuple[np.ndarray, np.ndarray]:
    spec = {
        "presale": (0, 1), "rugged": (0, 1), "tick": (0, 1.1), "log_price": (-30, 10),
        "price_to_peak": (0, 1), "log_peak": (0, 10), "ticks_since_peak": (0, 1.1),
        "cash": (0, 1e6), "position_value": (0, 1e6), "in_position": (0, 1), "avg_cost_ratio": (-30, 30),
        "sidebet_active": (0, 1), "sidebet_left": (0, 1), "sidebet_stake": (0, 1e6),
    }  # fmt: skip
    low = np.array([spec.get(n, (-30, 5))[0] for n in OBS_NAMES], dtype=np.float32)
    high = np.array([spec.get(n, (-30, 5))[1] for n in OBS_NAMES], dtype=np.float32)
    return low, high


OBS_LOW, OBS_HIGH = _bounds()


def market_features(prices: Sequence[float] | np.ndarray) -> np.ndarray:
    """The market features of every tick of a price path, ``(len(prices), N_MARKET)`` float32.

    Row ``t`` uses ``prices[0..t]`` only (cumulative max, backward differences): causal by construction, so
    the last row (the rug tick's) may be the terminal observation without revealing anything earlier.
    """
    p = np.maximum(np.asarray(prices, dtype=np.float64), _LOG_FLOOR)
    n = len(p)
    out = np.zeros((n, N_MARKET), dtype=np.float64)
    ticks = np.arange(n, dtype=np.float64)
    peak = np.maximum.accumulate(p)
    logp = np.log(p)
    # index of the running peak: the last tick at which the running max was reached (first occurrence)
    is_new_peak = np.empty(n, dtype=bool)
    is_new_peak[0] = True
    is_new_peak[1:] = p[1:] > peak[:-1]
    peak_idx = np.maximum.accumulate(np.where(is_new_peak, ticks, 0.0))
    out[:, 2] = np.log1p(ticks) / TICK_SCALE
    out[:, 3] = logp
    out[:, 4] = p / peak
    out[:, 5] = np.log(peak)
    out[:, 6] = np.log1p(ticks - peak_idx) / TICK_SCALE
    rets = np.zeros(n, dtype=np.float64)
    rets[1:] = np.diff(logp)
    for k in range(min(N_RETURNS, n)):
        out[k:, 7 + k] = rets[: n - k]
    low, high = OBS_LOW[:N_MARKET], OBS_HIGH[:N_MARKET]
    return np.clip(out, low, high).astype(np.float32)


PRESALE_MARKET: Final = np.zeros(N_MARKET, dtype=np.float32)
PRESALE_MARKET[I_PRESALE] = 1.0
PRESALE_MARKET[4] = 1.0  # price 1.0 is its own peak


def observation_rows(market: np.ndarray) -> np.ndarray:
    """Full-width observation rows from market rows, account columns zero (filled in per step)."""
    rows = np.zeros((len(market), OBS_SIZE), dtype=np.float32)
    rows[:, :N_MARKET] = market
    return rows


PRESALE_ROW: Final = observation_rows(PRESALE_MARKET[None, :])[0]


@dataclass(frozen=True)
class ActionTable:
    """A discrete action table: hold, then buys (SOL), sells (fractions of the position), sidebets (SOL).

    Sizes are given in SOL and held in lamports exactly (``to_nano``); fractions in ``[0.01, 1]``. Buy and
    sidebet sizes are sorted ascending (masks rely on it), duplicates refused.
    """

    buy_sizes: tuple[float, ...] = (0.001, 0.01, 0.05, 0.1, 0.25, 1.0, 5.0)
    sell_fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)
    sidebet_sizes: tuple[float, ...] = (0.001, 0.005, 0.01, 0.015, 0.05, 0.1)
    kinds: np.ndarray = field(init=False, repr=False, compare=False)
    lamports: np.ndarray = field(init=False, repr=False, compare=False)
    fractions: np.ndarray = field(init=False, repr=False, compare=False)
    orders: tuple[Order | None, ...] = field(init=False, repr=False, compare=False)
    names: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        buys = tuple(to_nano(x) for x in self.buy_sizes)
        bets = tuple(to_nano(x) for x in self.sidebet_sizes)
        fracs = tuple(float(f) for f in self.sell_fractions)
        for label, sizes in (("buy_sizes", buys), ("sidebet_sizes", bets)):
            if list(sizes) != sorted(set(sizes)) or any(s <= 0 for s in sizes):
                raise ValueError(f"{label} must be positive, distinct and ascending: {sizes}")
        if list(fracs) != sorted(set(fracs)) or any(not 0.01 <= f <= 1.0 for f in fracs):
            raise ValueError(f"sell_fractions must be distinct, ascending, in [0.01, 1]: {fracs}")
        kinds = [HOLD] + [BUY] * len(buys) + [SELL] * len(fracs) + [SIDEBET] * len(bets)
        orders: list[Order | None] = [None]
        orders += [Order.buy(a) for a in buys] + [Order.sell(f) for f in fracs]
        orders += [Order.sidebet(a) for a in bets]
        names = ["hold"] + [f"buy {_sol(a)}" for a in buys] + [f"sell {f * 100:g}%" for f in fracs]
        names += [f"sidebet {_sol(a)}" for a in bets]
        set_ = object.__setattr__
        set_(self, "kinds", np.array(kinds, dtype=np.int8))
        set_(self, "lamports", np.array([0, *buys, *([0] * len(fracs)), *bets], dtype=np.int64))
        set_(self, "fractions", np.array([0.0] * (1 + len(buys)) + list(fracs) + [0.0] * len(bets)))
        set_(self, "orders", tuple(orders))
        set_(self, "names", tuple(names))

    @property
    def n(self) -> int:
        """Number of actions (hold included)."""
        return len(self.orders)

    @property
    def buy_lamports(self) -> tuple[int, ...]:
        return tuple(int(x) for x in self.lamports[self.kinds == BUY])

    @property
    def sidebet_lamports(self) -> tuple[int, ...]:
        return tuple(int(x) for x in self.lamports[self.kinds == SIDEBET])

    @property
    def first_buy(self) -> int:
        return 1

    @property
    def first_sell(self) -> int:
        return 1 + len(self.buy_sizes)

    @property
    def first_sidebet(self) -> int:
        return 1 + len(self.buy_sizes) + len(self.sell_fractions)

    def index(self, name: str) -> int:
        """The id of the action named ``name`` (e.g. ``"sell 100%"``)."""
        return self.names.index(name)

    def describe(self) -> str:
        """The table as text, one action per line."""
        return "\n".join(f"{i:3d}  {name}" for i, name in enumerate(self.names))


def _sol(lamports: int) -> str:
    return f"{lamports / 1e9:g}"


DEFAULT_TABLE: Final = ActionTable()


class MaskCache:
    """Masks of a table keyed by ``(buys affordable, sells possible, sidebets possible)``, built on demand.

    Valid buys are a prefix of the (ascending) buy sizes, sellable fractions a suffix of the (ascending)
    fractions, valid sidebets a prefix of their sizes, so three counts identify the mask.
    """

    def __init__(self, table: ActionTable, min_bet: int = MIN_BET_LAMPORTS,
                 max_bet: int = DEFAULT_MAX_BET_LAMPORTS) -> None:  # fmt: skip
        self.table = table
        self.min_bet, self.max_bet = min_bet, max_bet
        self.buys = table.buy_lamports
        self.bets = table.sidebet_lamports
        fr = [float(f) for f in table.sell_fractions]
        self.fraction_ratios = [f.as_integer_ratio() for f in fr]
        self._masks: dict[tuple[int, int, int], np.ndarray] = {}
        # stakes outside [min_bet, max_bet] are never valid: only the in-limit ones count
        self._buy_ok = [a for a in self.buys if min_bet <= a <= max_bet]
        self._bet_ok = [a for a in self.bets if min_bet <= a <= max_bet]
        # smallest position each fraction can sell from, ascending (fractions descending)
        self._sell_min_qty = sorted(1 if n >= d else -(-d // n) for n, d in self.fraction_ratios)
        # the same masks by a flat index of the three counts, for ``active`` (a list index is cheaper than
        # building and hashing a tuple key)
        self._n_sell, self._n_bet = len(self._sell_min_qty) + 1, len(self._bet_ok) + 1
        self._flat: list[np.ndarray | None] = [None] * ((len(self._buy_ok) + 1) * self._n_sell * self._n_bet)

    def get(self, key: tuple[int, int, int]) -> np.ndarray:
        """A fresh copy of the mask for ``key`` (Gymnasium: every step's info is the caller's own data)."""
        return self._cached(key).copy()

    def _cached(self, key: tuple[int, int, int]) -> np.ndarray:
        mask = self._masks.get(key)
        if mask is None:
            mask = self._masks[key] = self._build(key)
        return mask

    def _build(self, key: tuple[int, int, int]) -> np.ndarray:
        n_buy, n_sell, n_bet = key
        t = self.table
        mask = np.zeros(t.n, dtype=bool)
        mask[0] = True
        ok_buys = set(self._buy_ok[:n_buy])
        ok_bets = set(self._bet_ok[:n_bet])
        for i in range(t.first_buy, t.first_sell):
            mask[i] = int(t.lamports[i]) in ok_buys
        n_fr = t.first_sidebet - t.first_sell
        for j in range(n_fr):
            mask[t.first_sell + j] = j >= n_fr - n_sell
        for i in range(t.first_sidebet, t.n):
            mask[i] = int(t.lamports[i]) in ok_bets
        return mask

    def key(self, cash: int, position_qty: int, open_: bool, presale: bool, sidebet_open: bool) -> tuple:
        """The key of the mask for an account (the ledger's rules: phase, limits, cash, position, one bet)."""
        if not open_:
            return (0, 0, 0)
        if presale:  # no sells in presale
            n_bet = 0 if sidebet_open else bisect_right(self._bet_ok, cash)
            return (bisect_right(self._buy_ok, cash), 0, n_bet)
        return self.active_key(cash, position_qty, sidebet_open)

    def active(self, cash: int, position_qty: int, sidebet_open: bool) -> np.ndarray:
        """``get(active_key(...))``, computed in one call (the environments' step): the counts are
        :meth:`active_key`'s, inline (a test holds the two together)."""
        n_buy = bisect_right(self._buy_ok, cash)
        n_sell = bisect_right(self._sell_min_qty, position_qty) if position_qty else 0
        n_bet = 0 if sidebet_open else bisect_right(self._bet_ok, cash)
        i = (n_buy * self._n_sell + n_sell) * self._n_bet + n_bet
        mask = self._flat[i]
        if mask is None:
            mask = self._flat[i] = self._cached((n_buy, n_sell, n_bet))
        return mask.copy()

    def active_key(self, cash: int, position_qty: int, sidebet_open: bool) -> tuple[int, int, int]:
        """:meth:`key` in the active phase (the hot path)."""
        # a fraction f sells floor(qty * f) > 0 tokens iff qty >= ceil(1 / f) (all of it for f = 1)
        return (
            bisect_right(self._buy_ok, cash),
            bisect_right(self._sell_min_qty, position_qty) if position_qty else 0,
            0 if sidebet_open else bisect_right(self._bet_ok, cash),
        )


HUGE_PRICE: Final = 1e5
"""Above this price a small buy could get no token (``floor9(0.001 / p) == 0`` past 1e6): masks then check
each buy size exactly instead of by cash alone. No real game has come near (the record peak is ~2000x)."""


def sidebet_window() -> int:
    """Ticks a sidebet covers after its start tick (40)."""
    return SIDEBET_WINDOW_TICKS


def log_ratio(a: float, b: float) -> float:
    """``log(a / b)`` clipped to [-30, 30], 0 when either is not positive."""
    if a <= 0.0 or b <= 0.0:
        return 0.0
    v = math.log(a / b)
    return -30.0 if v < -30.0 else (30.0 if v > 30.0 else v)
