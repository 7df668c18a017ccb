"""The numpy vector env agrees with the ledger (through the single env) fill by fill; make_vec, autoreset, the
SB3 adapter."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode
from test_env_fixtures import recordings_root, store  # noqa: F401

import rugs_env  # noqa: F401
from rugs_env.envs import RugsReplayEnv
from rugs_env.envs.vector import RugsVectorEnv, make_sim_vector
from rugs_env.envs.vector_kernel import buy_qty, fraction_qty, sell_proceeds
from rugs_env.game.ledger_math import buy_qty as ledger_buy_qty
from rugs_env.game.ledger_math import fraction_qty as ledger_fraction_qty
from rugs_env.game.ledger_math import sell_proceeds as ledger_sell_proceeds


def test_vector_agrees_with_the_ledger_step_by_step(store) -> None:  # noqa: F811
    n = 24
    venv = RugsVectorEnv(store, n, initial_cash=2.0)
    obs, info = venv.reset(seed=11)
    singles = []
    for i in range(n):
        env = RugsReplayEnv(store, initial_cash=2.0)
        o, inf = env.reset(options={"game_index": int(venv.game[i])})
        assert np.array_equal(o, obs[i]) and np.array_equal(inf["action_mask"], info["action_mask"][i])
        singles.append(env)
    rng = np.random.default_rng(3)
    episodes = 0
    for _ in range(700):
        masks = venv.action_masks()
        acts = np.array([int(rng.choice(np.flatnonzero(m))) for m in masks])
        wild = rng.random(n) < 0.1  # some unmasked actions: both must ignore them the same way
        acts[wild] = rng.integers(0, venv.table.n, size=int(wild.sum()))
        obs, rew, term, trunc, info = venv.step(acts)
        for i, env in enumerate(singles):
            o, r, te, tr, inf = env.step(int(acts[i]))
            ledger = env.broker.account
            assert r == rew[i] and te == term[i] and tr == trunc[i], i
            assert bool(inf.get("invalid_action", False)) == info["invalid_action"][i]
            if te or tr:
                episodes += 1
                assert np.array_equal(o, info["final_obs"][i]) and inf["pnl"] == info["final_info"]["pnl"][i]
                o, inf = env.reset(options={"game_index": int(venv.game[i])})
            else:
                assert (ledger.cash, ledger.position_qty) == (venv.cash[i], venv.qty[i])
                assert ledger.avg_price == venv.avg[i]
                assert (ledger.sidebet.stake if ledger.sidebet else 0) == venv.stake[i]
                assert ledger.net_worth() == venv.nw[i]
            assert np.array_equal(o, obs[i]), (i, o, obs[i])
            assert np.array_equal(inf["action_mask"], info["action_mask"][i])
    assert episodes >= 20


def test_exact_helpers_match_the_ledger_math() -> None:
    rng = np.random.default_rng(0)
    qty = rng.integers(1, 2**52, size=4000)
    qty[:50] = np.arange(1, 51)
    for f in (0.1, 0.25, 0.5, 0.3, 0.01, 0.999, 1.0):
        num, den = f.as_integer_ratio()
        assert [fraction_qty(int(q), num, den) for q in qty] == [ledger_fraction_qty(int(q), f) for q in qty]
    prices = rng.uniform(0.001, 50.0, size=4000)
    small = rng.integers(1, 10**13, size=4000)
    pairs = list(zip(small.tolist(), prices.tolist(), strict=True))
    assert [sell_proceeds(q, p) for q, p in pairs] == [ledger_sell_proceeds(q, p) for q, p in pairs]
    amounts = rng.integers(10**6, 5 * 10**9, size=4000).tolist()
    pairs = list(zip(amounts, prices.tolist(), strict=True))
    assert [buy_qty(a, p) for a, p in pairs] == [ledger_buy_qty(a, p) for a, p in pairs]


def test_make_vec_and_autoreset(recordings_root) -> None:  # noqa: F811
    envs = gym.make_vec("RugsReplay-v0", num_envs=8, vectorization_mode="vector_entry_point",
                        source=recordings_root)  # fmt: skip
    assert envs.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    obs, info = envs.reset(seed=0)
    assert obs.shape == (8, envs.single_observation_space.shape[0]) and obs.dtype == np.float32
    assert envs.observation_space.contains(obs)
    finished = 0
    for _ in range(600):
        obs, rew, term, trunc, info = envs.step(np.zeros(8, dtype=np.int64))
        assert envs.observation_space.contains(obs)
        if (term | trunc).any():
            done = term | trunc
            finished += int(done.sum())
            assert np.all(obs[done, 0] == 1.0)  # the next episode's presale observation
            assert np.all(info["final_obs"][done, 1] == 1.0)  # the rugged final observation
    assert finished >= 8
    sim = gym.make_vec("RugsSim-v0", num_envs=4, vectorization_mode="vector_entry_point", pool_size=64)
    sim.reset(seed=1)
    sim.step(np.zeros(4, dtype=np.int64))


def test_sb3_adapter_contract() -> None:
    from stable_baselines3.common.vec_env import VecMonitor

    from rugs_env.envs.sb3 import Sb3VecEnv

    venv = VecMonitor(Sb3VecEnv(make_sim_vector(6, pool_size=32, seed=0)))
    obs = venv.reset()
    assert obs.shape == (6, 24)
    masks = np.stack(venv.env_method("action_masks"))
    assert masks.shape == (6, venv.action_space.n) and venv.has_attr("action_masks")
    seen_done = False
    for _ in range(400):
        obs, rew, dones, infos = venv.step(np.zeros(6, dtype=np.int64))
        assert rew.dtype == np.float32
        for d, inf in zip(dones, infos, strict=True):
            if d:
                seen_done = True
                assert inf["terminal_observation"].shape == (24,) and "episode" in inf
    assert seen_done
