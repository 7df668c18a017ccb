"""The vector environment's step, compiled: the ledger's arithmetic for many accounts in one pass.

Each env's step is a few dozen integer and double operations; as numpy calls over all envs it took ~100 array
operations per step, whose fixed costs dominated. Numba compiles these loops instead (``cache=True``: once per
machine). The arithmetic is exactly :mod:`rugs_env.game.ledger_math`'s, evaluated in the same IEEE doubles and
int64 (no fast-math): buys ``floor9(A / 1e9 / p)``, sells ``floor9(q / 1e9 * p)`` re-floored
``SELL_REFLOOR_PASSES`` times, fraction sells ``floor(q * f)`` exact, the quantity-weighted average entry
price. Tests compare the vector env with the ledger fill by fill, and these helpers with ledger_math's.

State arrays (one element per env) are mutated in place: ``game``, ``t`` (tick shown, -1 in presale),
``cash``, ``qty`` (nano-tokens), ``avg`` (average entry price), ``stake`` (open sidebet, 0 = none),
``bet_start``, ``nw`` (net worth), ``price`` (of the tick shown), ``off`` (the game's offset in the store),
``end`` (last tick), ``end_rug``.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from rugs_env.envs.spec import BUY, I_ACCOUNT, I_RUGGED, SELL, SIDEBET
from rugs_env.game.constants import SIDEBET_WINDOW_TICKS, SIDEBET_X_PAYOUT
from rugs_env.game.ledger_math import SELL_REFLOOR_PASSES

NANO = 1e9
NEVER = 2**62  # a need no account meets


@njit(cache=True)
def buy_qty(amount: int, price: float) -> int:
    """``ledger_math.buy_qty``: ``floor9(amount / 1e9 / price)``."""
    return int(math.floor(amount / NANO / price * NANO))


@njit(cache=True)
def sell_proceeds(qty: int, price: float) -> int:
    """``ledger_math.sell_proceeds``: ``floor9(qty / 1e9 * price)``, then re-floored (floats stay exact)."""
    units = math.floor(qty / NANO * price * NANO)
    for _ in range(SELL_REFLOOR_PASSES):
        units = math.floor(units / NANO * NANO)
    return int(units)


@njit(cache=True)
def fraction_qty(qty: int, num: int, den: int) -> int:
    """``ledger_math.fraction_qty`` for ``f = num / den`` (``den`` a power of two <= 2**61, ``qty`` < 2**53).

    The double product is within one of ``qty * f``, so its floor ``c`` is off by at most one; the remainder
    ``qty * num - c * den``, in wrapping int64 arithmetic (its true value lies within ``2 den`` of 0, so it is
    recovered exactly), says which way.
    """
    if num >= den:
        return qty
    c = int(math.floor(qty * (num / den)))
    r = qty * num - c * den
    if r < 0:
        c -= 1
    elif r >= den:
        c += 1
    return c


@njit(cache=True, inline="always")  # inlined: passing ~15 arrays per call costs more than the work
def _trade(i, a, kinds, lam, num, den, need_cash, need_qty, t, cash, qty, avg, stake, bet_start, price):  # noqa: ANN001
    """Execute action ``a`` for env ``i`` if the ledger would accept it; returns whether it did."""
    kind = kinds[a]
    p = price[i]
    if kind == BUY:
        if cash[i] < need_cash[a]:
            return False
        bought = buy_qty(lam[a], p)
        if bought <= 0:  # no token at an absurd price: the ledger refuses
            return False
        old = qty[i]
        if old == 0:
            avg[i] = p
        else:
            old_t, new_t = old / NANO, bought / NANO
            avg[i] = (avg[i] * old_t + p * new_t) / (old_t + new_t)
        cash[i] -= lam[a]
        qty[i] = old + bought
        return True
    if kind == SELL:
        if qty[i] < need_qty[a]:
            return False
        sold = fraction_qty(qty[i], num[a], den[a])
        cash[i] += sell_proceeds(sold, p)
        qty[i] -= sold
        if qty[i] == 0:
            avg[i] = 0.0
        return True
    if kind == SIDEBET:
        if cash[i] < need_cash[a] or stake[i] != 0:
            return False
        stake[i] = lam[a]
        bet_start[i] = t[i] if t[i] > 0 else 0
        cash[i] -= lam[a]
        return True
    return a == 0


@njit(cache=True, inline="always")  # inlined: passing ~15 arrays per call costs more than the work
def start_game(i, g, game_off, game_end, game_rug, init_cash, game, t, cash, qty, avg, stake, bet_start, nw,
               price, off, end, end_rug):  # noqa: ANN001 # fmt: skip
    """Env ``i`` starts game ``g`` in presale with a fresh account."""
    game[i] = g
    off[i] = game_off[g]
    end[i] = game_end[g]
    end_rug[i] = game_rug[g]
    t[i] = -1
    cash[i] = init_cash
    qty[i] = 0
    avg[i] = 0.0
    stake[i] = 0
    bet_start[i] = 0
    nw[i] = init_cash
    price[i] = 1.0


@njit(cache=True)
def step(
    actions, kinds, lam, num, den, need_cash, need_qty,  # noqa: ANN001 - the action table
    game, t, cash, qty, avg, stake, bet_start, nw, price, off, end, end_rug,  # noqa: ANN001 - state, mutated
    prices, rows, presale_obs, game_off, game_end, game_rug, queue, qpos,  # noqa: ANN001 - games
    scale, init_cash, huge_price,  # noqa: ANN001
    obs, rewards, terminated, truncated, invalid, final_obs, final_pnl, final_game, mask,  # noqa: ANN001
):  # fmt: skip
    """One step of every env: the action at the tick shown, the next tick, and for an env whose episode
    ended, its final observation and PnL then the presale of the next game (``queue[qpos[0]]``, in env
    order); finally the masks of the new states. Returns whether any episode ended."""
    n_market = I_ACCOUNT
    any_done = False
    for i in range(actions.shape[0]):
        a = actions[i]
        invalid[i] = not _trade(i, a, kinds, lam, num, den, need_cash, need_qty, t, cash, qty, avg, stake,
                                bet_start, price)  # fmt: skip
        tick = t[i] + 1
        t[i] = tick
        p = prices[off[i] + tick]
        price[i] = p
        done = tick >= end[i]
        rugs = done and end_rug[i]
        terminated[i] = rugs
        truncated[i] = done and not end_rug[i]
        if stake[i] != 0:  # a rug inside the window wins 5x; past the window the stake is lost
            window_end = bet_start[i] + SIDEBET_WINDOW_TICKS
            if rugs and bet_start[i] < tick <= window_end:
                cash[i] += SIDEBET_X_PAYOUT * stake[i]
            if rugs or tick > window_end:
                stake[i] = 0
        if rugs and qty[i] > 0:  # liquidation at the rug price
            cash[i] += sell_proceeds(qty[i], p)
            qty[i] = 0
            avg[i] = 0.0
        row = rows[off[i] + tick + 1]
        for k in range(n_market):
            obs[i, k] = row[k]
        value = sell_proceeds(qty[i], p) if qty[i] > 0 else 0
        obs[i, n_market] = cash[i] * scale
        if qty[i] > 0:
            obs[i, n_market + 1] = value * scale
            obs[i, n_market + 2] = 1.0
            obs[i, n_market + 3] = min(max(np.log(p / avg[i]), -30.0), 30.0)
        else:
            obs[i, n_market + 1] = 0.0
            obs[i, n_market + 2] = 0.0
            obs[i, n_market + 3] = 0.0
        if stake[i] != 0:
            left = bet_start[i] + SIDEBET_WINDOW_TICKS - (tick if tick > 0 else 0)
            obs[i, n_market + 4] = 1.0
            obs[i, n_market + 5] = (left if left > 0 else 0) / SIDEBET_WINDOW_TICKS
            obs[i, n_market + 6] = stake[i] * scale
        else:
            obs[i, n_market + 4] = 0.0
            obs[i, n_market + 5] = 0.0
            obs[i, n_market + 6] = 0.0
        if rugs:
            obs[i, I_RUGGED] = 1.0
        worth = cash[i] + value + stake[i]
        rewards[i] = (worth - nw[i]) / NANO
        nw[i] = worth
        if done:  # same-step autoreset
            any_done = True
            for k in range(obs.shape[1]):
                final_obs[i, k] = obs[i, k]
                obs[i, k] = presale_obs[k]
            final_pnl[i] = (worth - init_cash) / NANO
            final_game[i] = game[i]
            start_game(i, queue[qpos[0]], game_off, game_end, game_rug, init_cash, game, t, cash, qty, avg,
                       stake, bet_start, nw, price, off, end, end_rug)  # fmt: skip
            qpos[0] += 1
        _mask_row(i, cash, qty, stake, price, kinds, lam, need_cash, need_qty, huge_price, mask)
    return any_done


@njit(cache=True, inline="always")  # inlined: passing ~15 arrays per call costs more than the work
def _mask_row(i, cash, qty, stake, price, kinds, lam, need_cash, need_qty, huge_price, out):  # noqa: ANN001
    """``out[i, a]``: would the ledger accept action ``a`` of env ``i`` now (the rule of :func:`_trade`)."""
    for a in range(kinds.shape[0]):
        kind = kinds[a]
        if kind == BUY:
            ok = cash[i] >= need_cash[a]
            if ok and price[i] >= huge_price:  # a buy may get no token at such prices
                ok = buy_qty(lam[a], price[i]) > 0
        elif kind == SELL:
            ok = qty[i] >= need_qty[a]
        elif kind == SIDEBET:
            ok = cash[i] >= need_cash[a] and stake[i] == 0
        else:
            ok = True
        out[i, a] = ok


@njit(cache=True)
def masks(cash, qty, stake, price, kinds, lam, need_cash, need_qty, huge_price, out):  # noqa: ANN001
    """The masks of every env into ``out`` (see :func:`_mask_row`)."""
    for i in range(cash.shape[0]):
        _mask_row(i, cash, qty, stake, price, kinds, lam, need_cash, need_qty, huge_price, out)


def empty_outputs(n: int, obs_size: int, n_actions: int) -> tuple[np.ndarray, ...]:
    """Fresh output arrays for :func:`step` (they are handed to the caller, so never reused): obs, rewards,
    terminated, truncated, invalid, final_obs, final_pnl, final_game, mask."""
    return (
        np.empty((n, obs_size), dtype=np.float32),
        np.empty(n, dtype=np.float64),
        np.empty(n, dtype=np.bool_),
        np.empty(n, dtype=np.bool_),
        np.empty(n, dtype=np.bool_),
        np.zeros((n, obs_size), dtype=np.float32),
        np.zeros(n, dtype=np.float64),
        np.zeros(n, dtype=np.int64),
        np.empty((n, n_actions), dtype=np.bool_),
    )


__all__ = [
    "NEVER",
    "buy_qty",
    "empty_outputs",
    "fraction_qty",
    "masks",
    "sell_proceeds",
    "start_game",
    "step",
]
