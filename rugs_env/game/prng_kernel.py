"""The price path, compiled: :func:`rugs_env.game.prng.generate` without the interpreter.

Regenerating a revealed game is the recorder's costliest step per game (~5 draws a tick, each decoded from the
keystream, then a few float operations): ~0.5 ms for a 200-tick game in Python, ~25 us here. Numba compiles it
(``cache=True``: once per machine; imported lazily, so only what regenerates paths pays numba's import).

Bit for bit the Python procedure (PROTOCOL.md §6): seedrandom's ARC4 (the key schedule, 256 bytes dropped,
then the keystream byte by byte: integers only), the draws decoded as :func:`rugs_env.game.seedrandom.draws`
decodes them (integers below 2**53 scaled by powers of two: exact), and the tick loop in the same IEEE
doubles in the same order, no fast-math (no fused multiply-add, no reassociation). Tests compare it with the
reference port.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from rugs_env.game import constants as C

SIGNIFICANCE = 2**52
OVERFLOW = 2**53
DROP = 256
RUG_PROB, STARTING_PRICE = C.RUG_PROB, C.STARTING_PRICE
GOD_CHANCE, GOD_MOVE, GOD_MAX = C.GOD_CANDLE_CHANCE, C.GOD_CANDLE_MOVE, C.GOD_CANDLE_MAX_PRICE
BIG_CHANCE, BIG_MIN, BIG_WIDTH = C.BIG_MOVE_CHANCE, C.BIG_MOVE_MIN, C.BIG_MOVE_MAX - C.BIG_MOVE_MIN
DRIFT_MIN, DRIFT_WIDTH = C.DRIFT_MIN, C.DRIFT_MAX - C.DRIFT_MIN
VOL_BASE = C.VOLATILITY_BASE


@njit(cache=True)
def arc4(key: np.ndarray) -> np.ndarray:
    """seedrandom's ARC4 after its key schedule and the 256 dropped bytes: the 256-byte state, then the two
    indexes ``i`` and ``j`` (``state[256]``, ``state[257]``)."""
    state = np.empty(258, dtype=np.int64)
    for i in range(256):
        state[i] = i
    j = 0
    for i in range(256):
        t = state[i]
        j = (j + key[i % key.shape[0]] + t) & 255
        state[i] = state[j]
        state[j] = t
    state[256] = 0
    state[257] = 0
    for _ in range(DROP):
        next_byte(state)
    return state


@njit(cache=True, inline="always")
def next_byte(state: np.ndarray) -> int:
    """The next keystream byte (ARC4's ``g(1)``)."""
    i = (state[256] + 1) & 255
    t = state[i]
    j = (state[257] + t) & 255
    state[i] = state[j]
    state[j] = t
    state[256] = i
    state[257] = j
    return state[(state[i] + t) & 255]


@njit(cache=True)
def next_double(state: np.ndarray) -> float:
    """The next double in [0, 1), as ``prng()`` computes it (:meth:`SeedRandom.random`)."""
    n = 0
    for _ in range(6):
        n = (n << 8) | next_byte(state)
    if n >= 1 << 44:  # first byte >= 16: one more byte and n is 52 .. 55 bits; keep the top 53
        n = (n << 8) | next_byte(state)
        shift = 0 if n < 1 << 53 else (1 if n < 1 << 54 else (2 if n < 1 << 55 else 3))
        return math.ldexp(float(n >> shift), shift - 56)
    exponent = 48  # the denominator 2**48, kept as its exponent
    x = 0
    while n < SIGNIFICANCE:
        n = (n + x) * 256
        exponent += 8
        x = next_byte(state)
    while n >= OVERFLOW:
        n //= 2
        exponent -= 1
        x >>= 1
    return math.ldexp(float(n + x), -exponent)  # n + x rounded once, as (n + x) / d is


@njit(cache=True)
def path_kernel(key: np.ndarray, god_candles: bool, vol_cap: float, out: np.ndarray) -> tuple[int, int]:
    """Fill ``out`` (``MAX_TICKS + 1`` doubles) with the pre-rug prices of the game whose ARC4 key is ``key``;
    returns ``(count, rug_tick)``, ``rug_tick`` ``len(out)`` when the path never rugs."""
    state = arc4(key)
    price = STARTING_PRICE
    out[0] = price
    count = 1
    for t in range(out.shape[0] - 1):
        if next_double(state) < RUG_PROB:
            return count, t + 1
        if god_candles:
            god = next_double(state)
            if god < GOD_CHANCE and price <= GOD_MAX:
                price = price * GOD_MOVE
                out[count] = price
                count += 1
                continue
        a = next_double(state)
        b = next_double(state)
        c = next_double(state)
        if a < BIG_CHANCE:
            move = BIG_MIN + b * BIG_WIDTH
            change = move if c > 0.5 else -move
        else:
            drift = DRIFT_MIN + b * DRIFT_WIDTH
            vol = VOL_BASE * min(vol_cap, math.sqrt(price))
            change = drift + vol * (2 * c - 1)
        price = price * (1 + change)
        if price < 0:
            price = 0.0
        out[count] = price
        count += 1
    return count, out.shape[0]
