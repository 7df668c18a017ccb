"""The episode's rules: rewards sum to the PnL to the lamport on every game, no look-ahead, masks agree with
the ledger, the presale / sidebet / rug timeline, truncation."""

from __future__ import annotations

import numpy as np
from test_env_fixtures import recordings_root, store  # noqa: F401

from rugs_env.envs import RugsReplayEnv, RugsSimEnv
from rugs_env.envs.games import GameStore
from rugs_env.envs.spec import DEFAULT_TABLE, OBS_SIZE, MaskCache
from rugs_env.game import Ledger, Phase


def random_masked(env, seed: int, hold_p: float = 0.6):
    """Play one episode with random masked actions; yield (obs, reward, info) per step."""
    rng = np.random.default_rng(seed)
    obs, info = env.reset(seed=seed, options=None)
    done = False
    while not done:
        valid = np.flatnonzero(info["action_mask"])
        a = 0 if rng.random() < hold_p else int(rng.choice(valid))
        obs, r, term, trunc, info = env.step(a)
        done = term or trunc
        yield a, obs, r, term, trunc, info


def test_rewards_sum_to_the_pnl_on_every_game(store) -> None:  # noqa: F811
    env = RugsReplayEnv(store, order="sequential")
    for k in range(store.n_games):
        for seed in (k, 1000 + k):
            env.reset(seed=seed, options={"game_index": k})
            steps = list(random_masked_from(env, seed))
            lamports = [round(step[2] * 1e9) for step in steps]
            ledger = env.broker.account
            assert ledger.phase is Phase.RUGGED and steps[-1][3]
            pnl = ledger.cash - env.initial_cash
            assert sum(lamports) == pnl == ledger.pnl()
            assert abs(sum(s[2] for s in steps) - pnl / 1e9) < 1e-9
            assert steps[-1][5]["pnl"] == pnl / 1e9
            assert len(steps) == len(store.game_prices(k))  # presale + ticks 0 .. rug - 1 decisions


def random_masked_from(env, seed: int):
    """Like random_masked, but on an env already reset (to a chosen game)."""
    rng = np.random.default_rng(seed)
    info = {"action_mask": env.action_masks()}
    done = False
    while not done:
        nw_before = env.broker.account.net_worth()
        valid = np.flatnonzero(info["action_mask"])
        a = 0 if rng.random() < 0.6 else int(rng.choice(valid))
        obs, r, term, trunc, info = env.step(a)
        # the reward is the change of the ledger's own net worth
        assert round(r * 1e9) == env.broker.account.net_worth() - nw_before
        done = term or trunc
        yield a, obs, r, term, trunc, info


def test_no_look_ahead(store) -> None:  # noqa: F811
    """Changing any price after tick t changes no observation (nor mask) up to t."""
    rng = np.random.default_rng(7)
    for k in range(store.n_games):
        prices = store.game_prices(k).copy()
        n = len(prices)
        for t in sorted({0, 1, n // 2, n - 2} & set(range(n - 1))):
            changed = prices.copy()
            changed[t + 1 :] *= rng.uniform(0.2, 5.0, size=n - t - 1)
            runs = []
            for p in (prices, changed):
                env = RugsReplayEnv(GameStore.from_prices([("20251212-0000000000000000", p)]))
                obs, info = env.reset(seed=1)
                seen = [(obs, info["action_mask"])]
                acts = np.random.default_rng(t).integers(0, env.table.n, size=t + 1)
                for i in range(t + 1):  # the observations of presale, tick 0 .. tick t
                    a = int(acts[i]) if info["action_mask"][acts[i]] else 0
                    obs, _, term, _, info = env.step(a)
                    seen.append((obs, info["action_mask"]))
                runs.append(seen)
            for (o1, m1), (o2, m2) in zip(*runs, strict=True):
                assert np.array_equal(o1, o2) and np.array_equal(m1, m2)


def test_masks_agree_with_the_ledger(store) -> None:  # noqa: F811
    env = RugsReplayEnv(store, initial_cash=0.3)
    checked = 0
    for seed in range(12):
        env.reset(seed=seed)
        info = {"action_mask": env.action_masks()}
        done = False
        rng = np.random.default_rng(seed)
        while not done:
            ledger: Ledger = env.broker.account
            mask = info["action_mask"]
            for a, order in enumerate(env.table.orders):
                if order is not None:
                    assert mask[a] == (env.broker.check(order) is None), (env.table.names[a], ledger)
            checked += 1
            valid = np.flatnonzero(mask)
            _, _, term, trunc, info = env.step(int(rng.choice(valid)))
            done = term or trunc
    assert checked > 200


def test_the_step_s_inline_mask_is_the_keyed_one() -> None:
    masks = MaskCache(DEFAULT_TABLE)
    cashes = [0, 10**6, 10**7 - 1, 10**7, 10**8, 10**9, 10**10, 10**12]
    for cash in cashes:
        for qty in (0, 1, 2, 3, 9, 10, 11, 10**9):
            for bet_open in (False, True):
                key = masks.active_key(cash, qty, bet_open)
                for _ in range(2):  # built on the first call, from the flat cache on the second
                    assert np.array_equal(masks.active(cash, qty, bet_open), masks.get(key))


def test_presale_sidebet_and_rug_timeline(store) -> None:  # noqa: F811
    k = int(np.argmin(store.lengths))  # the shortest game: a sidebet from presale wins iff rug <= 40
    env = RugsReplayEnv(store)
    obs, info = env.reset(options={"game_index": k})
    assert obs.shape == (OBS_SIZE,) and obs[0] == 1.0 and info["tick"] == -1
    assert not info["action_mask"][env.table.index("sell 100%")]  # no sells in presale
    obs, r, term, trunc, info = env.step(env.table.index("sidebet 0.01"))
    bet = env.broker.account.sidebet
    assert bet is not None and bet.start_tick == 0 and info["tick"] == 0 and r == 0.0
    total = r
    done = False
    while not done:
        obs, r, term, trunc, info = env.step(0)
        total += r
        done = term or trunc
    rug = int(store.rug_ticks[k])
    assert term and not trunc and info["tick"] == rug and obs[1] == 1.0
    assert round(total * 1e9) == (40_000_000 if rug <= 40 else -10_000_000)


def test_max_ticks_truncates(store) -> None:  # noqa: F811
    env = RugsReplayEnv(store, max_ticks=5)
    env.reset(seed=0, options={"game_index": int(np.argmax(store.lengths))})
    env.step(env.table.index("buy 0.1"))
    out = [env.step(0) for _ in range(5)]
    assert [o[3] for o in out] == [False] * 4 + [True] and not any(o[2] for o in out)


def test_sequential_order_and_game_choice(store) -> None:  # noqa: F811
    env = RugsReplayEnv(store, order="sequential")
    ids = [env.reset()[1]["game_id"] for _ in range(store.n_games)]
    assert ids == store.game_ids
    rnd = RugsReplayEnv(store)
    a = [rnd.reset(seed=5)[1]["game_id"], rnd.reset()[1]["game_id"]]
    b = [rnd.reset(seed=5)[1]["game_id"], rnd.reset()[1]["game_id"]]
    assert a == b


def test_sim_rewards_sum_to_pnl_and_fast_paths_look_real() -> None:
    for pf in (False, True):
        env = RugsSimEnv(provably_fair=pf)
        lengths = []
        for seed in range(30 if not pf else 5):
            steps = list(random_masked(env, seed))
            pnl = env.broker.account.cash - env.initial_cash
            assert sum(round(s[2] * 1e9) for s in steps) == pnl
            lengths.append(len(steps))
        assert min(lengths) >= 1


def test_sim_paths_follow_the_algorithm() -> None:
    from rugs_env.envs.sim import fast_price_path
    from rugs_env.game import verify

    rng = np.random.default_rng(0)
    paths = [fast_price_path(rng) for _ in range(3000)]
    mean_rug = np.mean([len(p) for p in paths])  # rug tick = len(pre-rug prices); mean 200
    assert 185 < mean_rug < 215
    steps = np.concatenate([np.diff(p) / np.array(p[:-1]) for p in paths if len(p) > 1])
    big = np.mean(np.abs(steps) >= 0.15 - 1e-12)
    assert 0.115 < big < 0.135  # big moves: 12.5 % of ticks
    env = RugsSimEnv(provably_fair=True)
    env.reset(seed=4)
    u = env.unwrapped
    assert verify(u.server_seed, u.game_id, u._prices).ok  # the real algorithm's path, rug price last
    factor = u._prices[-1] / min(u._prices[-2], 1.0)
    assert 0 < factor <= 0.020000000000000018


def test_masks_at_absurd_prices_and_cut_recordings() -> None:
    """Past 1e6x a 0.001 SOL buy gets no token: the mask follows the ledger (single and vector env). A
    recording cut before its rug (meta ``"rugged": false``) ends truncated, position still held."""
    from rugs_env.envs.vector import RugsVectorEnv

    prices = [1.0, 2e6, 3e6, 4e6, 0.5]
    cut = GameStore.from_prices([("20251212-00000000000000aa", prices)], rugged=[False])
    env = RugsReplayEnv(cut)
    env.reset(seed=0)
    _, _, _, _, info = env.step(0)  # tick 0, price 1.0
    _, _, _, _, info = env.step(0)  # tick 1, price 2e6
    small, big = env.table.index("buy 0.001"), env.table.index("buy 0.01")
    assert not info["action_mask"][small] and info["action_mask"][big]
    assert env.broker.check(env.table.orders[small]) is not None
    assert env.broker.check(env.table.orders[big]) is None
    venv = RugsVectorEnv(cut, 2)
    venv.reset(seed=0)
    venv.step(np.zeros(2, dtype=np.int64))
    _, _, _, _, vinfo = venv.step(np.zeros(2, dtype=np.int64))
    assert np.array_equal(vinfo["action_mask"][0], info["action_mask"])
    env.step(big)
    out = [env.step(0) for _ in range(2)]  # ticks 3 and 4, the last recorded (not a rug)
    assert [o[3] for o in out] == [False, True] and not any(o[2] for o in out)
    assert env.broker.account.position_qty > 0  # no rug, no liquidation
