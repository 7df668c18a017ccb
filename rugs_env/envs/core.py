"""The episode mechanics shared by the replay and simulation environments.

A subclass supplies the game of each episode (:meth:`RugsEnvBase._next_game`: id, prices with the rug price
last, market features, whether the last price is a rug); this base runs the episode through a
:class:`~rugs_env.brokers.SimulatedBroker` (hence the rulebook's ledger):

* ``reset`` opens the game's presale (price 1.0). An action in presale executes at 1.0 (sidebet start 0).
* each ``step(a)`` executes ``a`` at the price of the tick the agent sees, then reveals the next tick;
  when the next tick is the rug, the sidebet is settled and the position liquidated at the rug price
  (``terminated``); a recording cut before its rug, or ``max_ticks``, ends it as ``truncated``.
* the reward is the change of the ledger's net worth in SOL; the per-step lamport changes sum exactly to
  the game's PnL (net worth after the rug is the cash).

Hot path: no per-step allocation beyond the returned observation, mask and info; the market part of the
observation is a precomputed row; masks come from a cache keyed by three counts (see ``spec.MaskCache``).
"""

from __future__ import annotations

import struct
from math import floor, log
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rugs_env.brokers.base import OrderKind
from rugs_env.brokers.simulated import SimulatedBroker
from rugs_env.envs.spec import (
    DEFAULT_TABLE,
    HUGE_PRICE,
    I_ACCOUNT,
    I_RUGGED,
    OBS_HIGH,
    OBS_LOW,
    OBS_SIZE,
    PRESALE_ROW,
    SIDEBET_WINDOW_TICKS,
    ActionTable,
    MaskCache,
)
from rugs_env.game.ledger_math import SELL_REFLOOR_PASSES, sell_proceeds
from rugs_env.game.ledger_types import AccountFields, Phase
from rugs_env.game.money import to_nano

NANO = 1e9
NANO_INT = 10**9  # money.from_nano divides by the int, as here
# the account columns, the last seven of an observation, written by one struct.pack_into (native float32,
# like the array): one call instead of up to seven numpy item writes (~150 ns a step less)
_CASH = I_ACCOUNT
_ACCOUNT_OFFSET = I_ACCOUNT * np.dtype(np.float32).itemsize
_pack_account = struct.Struct(f"={OBS_SIZE - I_ACCOUNT}f").pack_into
_INLINE_SELL = SELL_REFLOOR_PASSES == 2  # the inlined sell rounding below assumes two re-floors


class RugsEnvBase(gym.Env[np.ndarray, np.int64]):
    """Base of ``RugsReplay-v0`` and ``RugsSim-v0``; see the subclasses' docstrings."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self,
        *,
        action_table: ActionTable | None = None,
        initial_cash: float = 10.0,
        max_ticks: int | None = None,
        render_mode: str | None = None,
    ) -> None:
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            modes = self.metadata["render_modes"]
            raise ValueError(f"render_mode must be one of {modes}, got {render_mode!r}")
        self.table = action_table or DEFAULT_TABLE
        self.initial_cash = to_nano(initial_cash)
        if self.initial_cash <= 0:
            raise ValueError(f"initial_cash must be > 0 SOL, got {initial_cash!r}")
        self.max_ticks = max_ticks
        self.render_mode = render_mode
        self.action_space = spaces.Discrete(self.table.n)
        self.observation_space = spaces.Box(OBS_LOW, OBS_HIGH, shape=(OBS_SIZE,), dtype=np.float32)
        self.broker = SimulatedBroker(self.initial_cash, keep_fills=False)
        self._masks = MaskCache(self.table)
        self._orders = self.table.orders
        self._cash_scale = 1.0 / self.initial_cash
        # episode state
        self.game_id = ""
        self._prices: list[float] = [1.0, 1.0]
        self._feats = np.zeros((2, OBS_SIZE), dtype=np.float32)  # observation rows, account zero
        self._end = 1  # the last tick of the episode (the rug tick, or the truncation tick)
        self._end_is_rug = True
        self._t = -1  # the tick the agent sees; -1 = presale
        self._nw = self.initial_cash
        self._done = True
        self._labels: np.ndarray | None = None
        self._fields = self.broker.account.fields
        self.demo_player: str | None = None
        self.invalid_actions = 0
        self.history: list[tuple[int, int, float]] = []  # (tick, action, price) of executed orders (render)

    # -- to be supplied by subclasses ---------------------------------------------------------------------
    def _next_game(self, options: dict[str, Any]) -> tuple[str, list[float], np.ndarray, bool]:
        """``(game_id, prices with the rug price last, observation rows per tick (``spec.observation_rows``),
        last price is a rug)``."""
        raise NotImplementedError

    def _demo_labels(self, options: dict[str, Any]) -> np.ndarray | None:
        """Per-step human actions of the episode (index 0 = presale, ``t + 1`` = tick ``t``), or None."""
        return None

    # -- Gymnasium API ------------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        options = options or {}
        self.game_id, prices, feats, is_rug = self._next_game(options)
        # float32 C rows, as _observe's struct write needs (the very same array when they already are)
        self._prices, self._feats = prices, np.ascontiguousarray(feats, dtype=np.float32)
        end = len(prices) - 1
        self._end_is_rug = is_rug
        if self.max_ticks is not None and self.max_ticks < end:
            end, self._end_is_rug = self.max_ticks, False
        self._end = end
        self.broker.reset(self.initial_cash)
        self.broker.open_game(self.game_id)
        # the ledger's live fields, read by every step's observation; the ledger replaces them only in
        # reset / open_game (just above), else it changes them in place
        self._fields = self.broker.account.fields
        self._t = -1
        self._nw = self.initial_cash
        self._done = False
        self.invalid_actions = 0
        self.history = []
        self._labels = self._demo_labels(options)
        info: dict[str, Any] = {"game_id": self.game_id, "action_mask": self.action_masks(), "tick": -1}
        if self._labels is not None:
            info["demo_player"] = self.demo_player
            info["human_action"] = int(self._labels[0])
        return self._observe(PRESALE_ROW, 1.0), info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("step() after the episode ended: call reset()")
        a = int(action)
        broker = self.broker
        order = self._orders[a] if 0 <= a < len(self._orders) else None
        invalid = False
        if order is not None:
            if not broker.execute(order):
                invalid = True
                self.invalid_actions += 1
            elif self.render_mode is not None:
                self.history.append((self._t, a, self._prices[self._t] if self._t >= 0 else 1.0))
        elif a != 0:
            raise ValueError(f"action {action!r} is not in Discrete({len(self._orders)})")
        t = self._t + 1
        self._t = t
        price = self._prices[t]
        terminated = truncated = False
        if t >= self._end:
            self._done = True
            if self._end_is_rug:
                broker.rug(t, price)
                terminated = True
            else:
                broker.advance(t, price)
                truncated = True
        else:
            broker.advance(t, price)
        obs = self._observe(self._feats[t], price, self._fields)
        if terminated:
            obs[I_RUGGED] = 1.0
        nw = self._nw_now
        reward = (nw - self._nw) / NANO
        self._nw = nw
        # info keys in a fixed order: action_mask, tick, [invalid_action], then human_action or pnl
        if self._done:
            info: dict[str, Any] = {"action_mask": self._masks.get((0, 0, 0)), "tick": t}
            if invalid:
                info["invalid_action"] = True
            info["pnl"] = (nw - self.initial_cash) / NANO
        else:
            if price < HUGE_PRICE:  # active: the mask from the account's fields (as action_masks)
                f = self._fields
                mask = self._masks.active(f.cash, f.position_qty, f.sidebet is not None)
            else:
                mask = self.action_masks()
            info = {"action_mask": mask, "tick": t}
            if invalid:
                info["invalid_action"] = True
            if self._labels is not None:
                info["human_action"] = int(self._labels[t + 1])
        return obs, reward, terminated, truncated, info

    def action_masks(self) -> np.ndarray:
        """Bool mask of the actions the ledger would accept now (sb3-contrib's MaskablePPO calls this)."""
        ledger = self.broker.account
        phase = ledger.phase
        open_ = not self._done and (phase is Phase.PRESALE or phase is Phase.ACTIVE)
        key = self._masks.key(
            ledger.cash, ledger.position_qty, open_, phase is Phase.PRESALE, ledger.sidebet is not None
        )
        mask = self._masks.get(key)
        if open_ and ledger.price >= HUGE_PRICE:  # a buy may get no token: ask the ledger, size by size
            for i, order in enumerate(self._orders):
                if mask[i] and order is not None and order.kind is OrderKind.BUY:
                    mask[i] = ledger.buy_error(order.amount) is None
        return mask

    def render(self) -> str | np.ndarray | None:
        if self.render_mode is None:
            gym.logger.warn("render() without a render_mode: pass render_mode='ansi' or 'rgb_array'")
            return None
        from rugs_env.envs import render as _render

        if self.render_mode == "ansi":
            return _render.ansi_line(self)
        return _render.rgb_chart(self)

    # -- internals ----------------------------------------------------------------------------------------
    def _observe(self, row: np.ndarray, price: float, fields: AccountFields | None = None) -> np.ndarray:
        """The observation: a copy of the tick's row (market part) with the account filled in.

        ``fields``: the broker's ledger's (``broker.account.fields``), when the caller has them at hand.
        """
        # plain attribute reads of the fields: a ledger property costs ~70 ns a read
        a = self.broker.account.fields if fields is None else fields
        scale = self._cash_scale
        cash, qty, bet = a.cash, a.position_qty, a.sidebet
        obs = row.copy()  # the account columns of a row are zeros
        worth = cash
        if not qty and bet is None:  # flat, no bet: the cash is the one account value not zero
            obs[_CASH] = cash * scale
            self._nw_now = worth
            return obs
        value_f = held_f = cost_f = bet_f = left_f = stake_f = 0.0  # the account columns, as floats
        if qty:
            # ledger_math.sell_proceeds inline (the same double operations; odd values take the call):
            # floor9(qty / 1e9 * price), re-floored twice; the tests check it against the ledger's net worth.
            v = qty / NANO_INT * price
            if v < 1e290 and _INLINE_SELL:
                value = floor(floor(floor(v * 1e9) / NANO_INT * 1e9) / NANO_INT * 1e9)
            else:
                value = sell_proceeds(qty, price)
            worth += value
            value_f, held_f = value * scale, 1.0
            avg = a.avg_price
            if not (price <= 0.0 or avg <= 0.0):  # spec.log_ratio inline (0 otherwise)
                r = log(price / avg)
                cost_f = -30.0 if r < -30.0 else (30.0 if r > 30.0 else r)
        if bet is not None:
            left = bet.start_tick + SIDEBET_WINDOW_TICKS - (self._t if self._t > 0 else 0)  # end_tick inline
            stake = bet.stake
            worth += stake
            bet_f, stake_f = 1.0, stake * scale
            left_f = (left if left > 0 else 0) / SIDEBET_WINDOW_TICKS
        cash_f = cash * scale
        try:  # the seven account columns in one write: float32 rounding as numpy's (the same C cast)
            _pack_account(obs, _ACCOUNT_OFFSET, cash_f, value_f, held_f, cost_f, bet_f, left_f, stake_f)
        except OverflowError:  # beyond float32: numpy's cast gives inf (and warns), as it always did
            obs[_CASH:] = (cash_f, value_f, held_f, cost_f, bet_f, left_f, stake_f)
        self._nw_now = worth  # net worth: cash + position value + open stake
        return obs

    @property
    def tick(self) -> int:
        """The tick the agent sees (-1 in presale)."""
        return self._t

    @property
    def prices_so_far(self) -> list[float]:
        """Prices of ticks ``0 .. tick`` (empty in presale): what the agent has seen."""
        return self._prices[: self._t + 1]

    @property
    def net_worth(self) -> int:
        """Net worth now, lamports."""
        return self._nw
