"""A native numpy vector environment: many episodes of recorded (or simulated) games stepped at once.

``gym.make_vec("RugsReplay-v0", num_envs=512, vectorization_mode="vector_entry_point")`` builds it. Same
spaces, rewards and episode timeline as the single environments; the account arithmetic is the ledger's,
redone in numpy: int64 lamports and nano-tokens, float64 prices, the server's ``floor9`` evaluated in doubles
exactly as :mod:`rugs_env.game.ledger_math` does (buy ``floor9(A / p)``, sells ``floor9`` three times,
fraction sells ``floor(qty * f)`` exact, the weighted average entry price). A test replays random action
sequences over real games through both and compares them fill by fill.

Autoreset is ``SAME_STEP`` (declared in ``metadata["autoreset_mode"]``): an episode that ends returns the
first observation of the next one, with the final observation and info in ``info["final_obs"]`` /
``info["final_info"]`` (masks ``info["_final_obs"]``). Invalid actions are ignored (hold) and reported in
``info["invalid_action"]``. ``action_masks()`` returns the ``(num_envs, n_actions)`` masks, also in
``info["action_mask"]``. Demonstration labels are not provided here (use ``RugsReplay-v0``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rugs_env.envs.games import GameStore, load_store
from rugs_env.envs.spec import (
    BUY,
    DEFAULT_TABLE,
    HUGE_PRICE,
    I_ACCOUNT,
    I_RUGGED,
    OBS_HIGH,
    OBS_LOW,
    OBS_SIZE,
    PRESALE_MARKET,
    SELL,
    SIDEBET,
    ActionTable,
)
from rugs_env.envs.vector_math import NANO, buy_qty, fraction_qty, sell_proceeds
from rugs_env.game.constants import (
    DEFAULT_MAX_BET_LAMPORTS,
    MIN_BET_LAMPORTS,
    SIDEBET_WINDOW_TICKS,
    SIDEBET_X_PAYOUT,
)
from rugs_env.game.money import to_nano


class RugsVectorEnv(VectorEnv):
    """``num_envs`` episodes over a :class:`GameStore`, stepped with numpy (see the module docstring)."""

    metadata: dict[str, Any] = {"autoreset_mode": AutoresetMode.SAME_STEP, "render_modes": []}

    def __init__(
        self,
        store: GameStore,
        num_envs: int = 64,
        *,
        action_table: ActionTable | None = None,
        initial_cash: float = 10.0,
        order: str = "random",
        max_ticks: int | None = None,
    ) -> None:
        if num_envs < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        self.store = store
        self.num_envs = num_envs
        self.table = table = action_table or DEFAULT_TABLE
        self.order = order
        self.max_ticks = max_ticks
        self.initial_cash = to_nano(initial_cash)
        self.single_action_space = spaces.Discrete(table.n)
        self.single_observation_space = spaces.Box(OBS_LOW, OBS_HIGH, shape=(OBS_SIZE,), dtype=np.float32)
        self.action_space = batch_space(self.single_action_space, num_envs)
        self.observation_space = batch_space(self.single_observation_space, num_envs)
        self._kinds = table.kinds.astype(np.int64)
        self._lam = table.lamports
        self._frac = table.fractions
        ratios = [float(f).as_integer_ratio() if f > 0 else (0, 1) for f in table.fractions]
        self._num = np.array([r[0] for r in ratios], dtype=np.int64)
        self._den = np.array([r[1] for r in ratios], dtype=np.int64)
        self._min_sell_qty = np.array(
            [1 if n >= d else -(-d // n) if n else 2**62 for n, d in ratios], dtype=np.int64
        )
        in_limits = (self._lam >= MIN_BET_LAMPORTS) & (self._lam <= DEFAULT_MAX_BET_LAMPORTS)
        self._stake_ok = in_limits
        self._is_buy = self._kinds == BUY
        self._is_sell = self._kinds == SELL
        self._is_bet = self._kinds == SIDEBET
        self._scale = 1.0 / self.initial_cash
        n = num_envs
        z = np.zeros
        self.game = z(n, np.int64)
        self.off = z(n, np.int64)
        self.end = z(n, np.int64)  # the episode's last tick
        self.end_rug = np.ones(n, dtype=bool)
        self.t = np.full(n, -1, dtype=np.int64)
        self.cash = np.full(n, self.initial_cash, dtype=np.int64)
        self.qty = z(n, np.int64)
        self.avg = z(n, np.float64)
        self.stake = z(n, np.int64)
        self.bet_start = z(n, np.int64)
        self.nw = np.full(n, self.initial_cash, dtype=np.int64)
        self.price = np.ones(n, dtype=np.float64)  # the price of the tick each env shows (1.0 in presale)
        # observation rows: the presale row, then every tick of every game, account columns zero
        self._rows = np.zeros((len(store.features) + 1, OBS_SIZE), dtype=np.float32)
        self._rows[0, :I_ACCOUNT] = PRESALE_MARKET
        self._rows[1:, :I_ACCOUNT] = store.features
        self._presale_obs = self._rows[0].copy()
        self._presale_obs[I_ACCOUNT] = 1.0  # cash / initial cash
        # the table's groups are contiguous: hold | buys | sells | sidebets
        self._buy_slice = slice(table.first_buy, table.first_sell)
        self._sell_slice = slice(table.first_sell, table.first_sidebet)
        self._bet_slice = slice(table.first_sidebet, table.n)
        # per action, the cash (buys, sidebets) or position (sells) it needs; 2**62 = never
        never = np.int64(2**62)
        self._need_cash = np.where((self._is_buy | self._is_bet) & self._stake_ok, self._lam, never)
        self._need_qty = np.where(self._is_sell, self._min_sell_qty, never)
        self._cursor = -1
        self._np_random = np.random.default_rng()
        self._ar = np.arange(n)

    # -- episodes -----------------------------------------------------------------------------------------
    def _pick_games(self, k: int) -> np.ndarray:
        n_games = self.store.n_games
        if self.order == "sequential":
            idx = (self._cursor + 1 + np.arange(k)) % n_games
            self._cursor = int(idx[-1]) if k else self._cursor
            return idx
        return self._np_random.integers(n_games, size=k)

    def _start(self, envs: np.ndarray) -> None:
        g = self._pick_games(len(envs))
        st = self.store
        self.game[envs] = g
        self.off[envs] = st.offsets[g]
        end = st.rug_ticks[g]
        rug = st.rugged[g].copy()
        if self.max_ticks is not None:
            cut = end > self.max_ticks
            end = np.where(cut, self.max_ticks, end)
            rug &= ~cut
        self.end[envs] = end
        self.end_rug[envs] = rug
        self.t[envs] = -1
        self.cash[envs] = self.initial_cash
        self.qty[envs] = 0
        self.avg[envs] = 0.0
        self.stake[envs] = 0
        self.bet_start[envs] = 0
        self.nw[envs] = self.initial_cash
        self.price[envs] = 1.0

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            first = seed[0] if isinstance(seed, list) else seed
            self._np_random = np.random.default_rng(first)
            self._cursor = -1
        self._start(self._ar)
        obs = np.tile(self._presale_obs, (self.num_envs, 1))
        return obs, {"action_mask": self.action_masks()}

    # -- the account --------------------------------------------------------------------------------------
    def action_masks(self) -> np.ndarray:
        """``(num_envs, n_actions)`` bool: the orders the ledger would accept now.

        A buy or sidebet needs its size in cash (sizes outside the limits need an impossible amount); a
        sidebet also needs none open; a sell of ``f`` needs ``qty >= ceil(1 / f)`` so that ``floor(qty * f)``
        is a token (in presale the position is always flat, so no sell is possible there).
        """
        cash = self.cash[:, None]
        mask = np.empty((self.num_envs, self.table.n), dtype=bool)
        mask[:, 0] = True
        ge = np.greater_equal
        ge(cash, self._need_cash[None, self._buy_slice], out=mask[:, self._buy_slice])
        ge(self.qty[:, None], self._need_qty[None, self._sell_slice], out=mask[:, self._sell_slice])
        bets = mask[:, self._bet_slice]
        ge(cash, self._need_cash[None, self._bet_slice], out=bets)
        bets &= (self.stake == 0)[:, None]
        huge = self.price >= HUGE_PRICE
        if huge.any():  # a buy may get no token at such prices: the ledger's own rule, size by size
            rows = np.flatnonzero(huge)
            lam = self._lam[None, self._buy_slice]
            mask[rows, self._buy_slice] &= buy_qty(lam, self.price[rows][:, None]) > 0
        return mask

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        a = np.asarray(actions).astype(np.int64, copy=False).reshape(self.num_envs)
        if a.view(np.uint64).max() >= self.table.n:  # negative actions are huge as unsigned
            raise ValueError(f"actions must be in [0, {self.table.n}), got {a}")
        t, cash, qty, price, stake, avg = self.t, self.cash, self.qty, self.price, self.stake, self.avg
        # the validity of each order is the mask's rule, evaluated for the action taken
        need_cash = self._need_cash[a]
        buy = cash >= need_cash
        buy &= self._is_buy[a]
        idx = np.flatnonzero(buy)
        if idx.size:
            lam, p = need_cash[idx], price[idx]
            bq = buy_qty(lam, p)
            if not bq.all():  # a buy that gets no token is refused (only at absurd prices)
                keep = bq > 0
                buy[idx[~keep]] = False
                idx, lam, p, bq = idx[keep], lam[keep], p[keep], bq[keep]
            old = qty[idx]
            old_t, new_t = old / NANO, bq / NANO  # the ledger's blend, in the same double operations
            with np.errstate(invalid="ignore", divide="ignore"):  # flat rows take the price itself
                blended = (avg[idx] * old_t + p * new_t) / (old_t + new_t)
            avg[idx] = np.where(old == 0, p, blended)
            cash[idx] -= lam
            qty[idx] = old + bq
        sell = qty >= self._need_qty[a]
        idx = np.flatnonzero(sell)
        if idx.size:
            ai = a[idx]
            num = self._num[ai]
            q = qty[idx]
            sold = fraction_qty(q, num, self._den[ai], num >= self._den[ai])
            cash[idx] += sell_proceeds(sold, price[idx])
            rest = q - sold
            qty[idx] = rest
            avg[idx[rest == 0]] = 0.0
        bet = cash >= need_cash
        bet &= self._is_bet[a]
        bet &= stake == 0
        idx = np.flatnonzero(bet)
        if idx.size:
            stake[idx] = need_cash[idx]
            self.bet_start[idx] = np.maximum(t[idx], 0)
            cash[idx] -= need_cash[idx]
        invalid = a != 0
        invalid &= ~(buy | sell | bet)
        # the next tick: settle sidebets (win at a rug inside the window, lose past it), liquidate at a rug
        t += 1
        price = self.price = self.store.prices[self.off + t]
        done = t >= self.end
        any_done = done.any()
        terminated = done & self.end_rug if any_done else np.zeros(self.num_envs, dtype=bool)
        idx = np.flatnonzero(stake)
        if idx.size:
            tb, start = t[idx], self.bet_start[idx]
            end = start + SIDEBET_WINDOW_TICKS
            rug = terminated[idx]
            win = rug & (tb > start) & (tb <= end)
            if win.any():
                w = idx[win]
                cash[w] += SIDEBET_X_PAYOUT * stake[w]
            stake[idx[rug | (tb > end)]] = 0
        if any_done:
            idx = np.flatnonzero(terminated & (qty > 0))
            if idx.size:
                cash[idx] += sell_proceeds(qty[idx], price[idx])
                qty[idx] = 0
                avg[idx] = 0.0
        obs = self._observe(np.take(self._rows, self.off + t + 1, axis=0))
        nw = self._nw_now
        rewards = (nw - self.nw) / NANO
        self.nw = nw
        info: dict[str, Any] = {"invalid_action": invalid}
        truncated = done & ~self.end_rug if any_done else np.zeros(self.num_envs, dtype=bool)
        if any_done:
            obs[terminated, I_RUGGED] = 1.0
            info = self._autoreset(done, obs, info)
        info["action_mask"] = self.action_masks()
        return obs, rewards, terminated, truncated, info

    def _autoreset(self, done: np.ndarray, obs: np.ndarray, info: dict[str, Any]) -> dict[str, Any]:
        envs = np.flatnonzero(done)
        final_obs = np.zeros_like(obs)
        final_obs[envs] = obs[envs]
        pnl = np.zeros(self.num_envs)
        pnl[envs] = (self.nw[envs] - self.initial_cash) / NANO
        info["final_obs"] = final_obs
        info["_final_obs"] = done
        info["final_info"] = {"pnl": pnl, "_pnl": done, "game_index": self.game.copy(), "_game_index": done}
        info["_final_info"] = done
        self._start(envs)
        obs[envs] = self._presale_obs
        return info

    def _observe(self, obs: np.ndarray) -> np.ndarray:
        """Fill the account columns of ``obs`` (rows of market features); sets ``_nw_now``."""
        t, qty, cash, stake, price = self.t, self.qty, self.cash, self.stake, self.price
        value = sell_proceeds(qty, price)
        s = self._scale
        a = I_ACCOUNT
        obs[:, a] = cash * s
        idx = np.flatnonzero(qty)
        if idx.size:
            obs[idx, a + 1] = value[idx] * s
            obs[idx, a + 2] = 1.0
            obs[idx, a + 3] = np.clip(np.log(price[idx] / self.avg[idx]), -30.0, 30.0)
        idx = np.flatnonzero(stake)
        if idx.size:
            left = self.bet_start[idx] + SIDEBET_WINDOW_TICKS - np.maximum(t[idx], 0)
            obs[idx, a + 4] = 1.0
            obs[idx, a + 5] = np.maximum(left, 0) / SIDEBET_WINDOW_TICKS
            obs[idx, a + 6] = stake[idx] * s
        self._nw_now = cash + value + stake
        return obs


def make_replay_vector(
    num_envs: int = 64,
    source: str | Path | list[str | Path] | GameStore | None = None,
    *,
    date_from: str | None = None,
    date_to: str | None = None,
    **kwargs: Any,
) -> RugsVectorEnv:
    """The ``vector_entry_point`` of ``RugsReplay-v0``: a :class:`RugsVectorEnv` over recorded games."""
    kwargs.pop("render_mode", None)
    kwargs.pop("demo_player", None)
    kwargs.pop("demos_only", None)
    if not isinstance(source, GameStore):
        source = load_store(source, date_from=date_from, date_to=date_to)
    store = source
    return RugsVectorEnv(store, num_envs, **kwargs)


def make_sim_vector(num_envs: int = 64, *, pool_size: int = 4096, seed: int | None = None,
                    **kwargs: Any) -> RugsVectorEnv:  # fmt: skip
    """The ``vector_entry_point`` of ``RugsSim-v0``: a :class:`RugsVectorEnv` over a pool of fresh games.

    ``pool_size`` games are drawn from the algorithm's law (:func:`rugs_env.envs.sim.fast_price_path`, rug
    prices from their empirical law); episodes sample them with replacement.
    """
    from rugs_env.envs.sim import fast_price_path
    from rugs_env.game.rug_price import sample_rug_price

    kwargs.pop("render_mode", None)
    kwargs.pop("provably_fair", None)
    rng = np.random.default_rng(seed)
    games = []
    for i in range(pool_size):
        pre = fast_price_path(rng)
        games.append((f"20990101-{i:016x}", pre + [sample_rug_price(pre[-1], rng)]))
    return RugsVectorEnv(GameStore.from_prices(games), num_envs, **kwargs)


__all__ = ["RugsVectorEnv", "make_replay_vector", "make_sim_vector"]
