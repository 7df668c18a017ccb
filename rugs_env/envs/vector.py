"""A native vector environment: many episodes of recorded (or simulated) games stepped at once.

``gym.make_vec("RugsReplay-v0", num_envs=512, vectorization_mode="vector_entry_point")`` builds it. Same
spaces, rewards and episode timeline as the single environments; the account arithmetic is the ledger's,
redone for all envs at once by a compiled kernel (:mod:`rugs_env.envs.vector_kernel`: int64 lamports and
nano-tokens, float64 prices, the server's ``floor9`` evaluated in doubles exactly as
:mod:`rugs_env.game.ledger_math` does). A test replays random action sequences over real games through both
and compares them fill by fill.

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

from rugs_env.envs import vector_kernel as K
from rugs_env.envs.games import GameStore, load_store
from rugs_env.envs.spec import (
    BUY,
    DEFAULT_TABLE,
    HUGE_PRICE,
    I_ACCOUNT,
    OBS_HIGH,
    OBS_LOW,
    OBS_SIZE,
    PRESALE_MARKET,
    SELL,
    SIDEBET,
    ActionTable,
)
from rugs_env.game.constants import DEFAULT_MAX_BET_LAMPORTS, MIN_BET_LAMPORTS
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
        # per action, the cash (buys, sidebets) or position (sells) it needs; NEVER = no account has it
        self._need_cash = np.where((self._is_buy | self._is_bet) & self._stake_ok, self._lam, K.NEVER)
        self._need_qty = np.where(self._is_sell, self._min_sell_qty, K.NEVER)
        # per game: where it starts in the store, its last tick, whether that tick is a rug
        st = self.store
        self._game_off = np.ascontiguousarray(st.offsets[:-1], dtype=np.int64)
        ends = st.rug_ticks.astype(np.int64)
        rug = st.rugged.astype(bool)
        if max_ticks is not None:
            rug = rug & ~(ends > max_ticks)
            ends = np.minimum(ends, max_ticks)
        self._game_end, self._game_rug = ends, rug
        # the games episodes start, drawn ahead in batches (the kernel takes them in env order)
        self._queue = np.zeros(0, dtype=np.int64)
        self._qpos = np.zeros(1, dtype=np.int64)
        self._cursor = 0
        self._np_random = np.random.default_rng()

    # -- episodes -----------------------------------------------------------------------------------------
    def _refill_queue(self, need: int) -> None:
        """Make sure at least ``need`` game indices wait in the queue."""
        left = self._queue[self._qpos[0] :]
        if len(left) >= need:
            return
        k = max(4096, 2 * need)
        n_games = self.store.n_games
        if self.order == "sequential":
            more = (self._cursor + np.arange(k)) % n_games
            self._cursor = int((self._cursor + k) % n_games)
        else:
            more = self._np_random.integers(n_games, size=k)
        self._queue = np.concatenate([left, more.astype(np.int64)])
        self._qpos[0] = 0

    def reset(
        self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        if seed is not None:
            first = seed[0] if isinstance(seed, list) else seed
            self._np_random = np.random.default_rng(first)
            self._cursor = 0
            self._queue = np.zeros(0, dtype=np.int64)
            self._qpos[0] = 0
        self._refill_queue(self.num_envs)
        for i in range(self.num_envs):
            K.start_game(i, self._queue[self._qpos[0]], self._game_off, self._game_end, self._game_rug,
                         self.initial_cash, self.game, self.t, self.cash, self.qty, self.avg, self.stake,
                         self.bet_start, self.nw, self.price, self.off, self.end, self.end_rug)  # fmt: skip
            self._qpos[0] += 1
        obs = np.tile(self._presale_obs, (self.num_envs, 1))
        return obs, {"action_mask": self.action_masks()}

    # -- the account --------------------------------------------------------------------------------------
    def action_masks(self) -> np.ndarray:
        """``(num_envs, n_actions)`` bool: the orders the ledger would accept now.

        A buy or sidebet needs its size in cash (sizes outside the limits need an impossible amount); a
        sidebet also needs none open; a sell of ``f`` needs ``qty >= ceil(1 / f)`` so that ``floor(qty * f)``
        is a token (in presale the position is always flat, so no sell is possible there); at absurd prices
        a buy must still get a token.
        """
        mask = np.empty((self.num_envs, self.table.n), dtype=bool)
        K.masks(self.cash, self.qty, self.stake, self.price, self._kinds, self._lam, self._need_cash,
                self._need_qty, HUGE_PRICE, mask)  # fmt: skip
        return mask

    def step(self, actions: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
        a = np.asarray(actions).astype(np.int64, copy=False).reshape(self.num_envs)
        if a.view(np.uint64).max() >= self.table.n:  # negative actions are huge as unsigned
            raise ValueError(f"actions must be in [0, {self.table.n}), got {a}")
        self._refill_queue(self.num_envs)
        obs, rewards, terminated, truncated, invalid, final_obs, pnl, game, mask = K.empty_outputs(
            self.num_envs, OBS_SIZE, self.table.n
        )
        any_done = K.step(
            a, self._kinds, self._lam, self._num, self._den, self._need_cash, self._need_qty,
            self.game, self.t, self.cash, self.qty, self.avg, self.stake, self.bet_start, self.nw, self.price,
            self.off, self.end, self.end_rug,
            self.store.prices, self._rows, self._presale_obs, self._game_off, self._game_end, self._game_rug,
            self._queue, self._qpos,
            self._scale, self.initial_cash, HUGE_PRICE,
            obs, rewards, terminated, truncated, invalid, final_obs, pnl, game, mask,
        )  # fmt: skip
        info: dict[str, Any] = {"invalid_action": invalid}
        if any_done:
            done = terminated | truncated
            info["final_obs"] = final_obs
            info["_final_obs"] = done
            info["final_info"] = {"pnl": pnl, "_pnl": done, "game_index": game, "_game_index": done}
            info["_final_info"] = done
        info["action_mask"] = mask
        return obs, rewards, terminated, truncated, info


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
