"""Environment speed: raw steps/s of RugsReplay-v0 (one env, random masked actions), env-steps/s of the numpy
vector env at 64 and 512 envs, and, in the same run, gym-anytrading's ``stocks-v0`` for reference.

    make bench-env          # installs gym-anytrading into .venv (benchmark only), then runs this
    .venv/bin/python scripts/bench_env.py [--seconds 3] [--source datasets/sample]

gym-anytrading is not a project dependency: ``.venv/bin/pip install gym-anytrading`` if it is missing.
Each figure is the best of three timed runs of ``--seconds`` each (the machines are shared).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import gymnasium as gym
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import rugs_env  # noqa: E402,F401
from rugs_env.envs.games import default_source, load_store  # noqa: E402
from rugs_env.envs.vector import RugsVectorEnv  # noqa: E402


def best_rate(run: Callable[[float], tuple[int, float]], seconds: float, repeats: int = 3) -> float:
    return max(n / dt for n, dt in (run(seconds) for _ in range(repeats)))


def single_env(env: gym.Env, seconds: float) -> tuple[int, float]:
    """Random masked actions: uniform over the actions the mask allows."""
    rng = np.random.default_rng(0)
    u = rng.random(1 << 16).tolist()
    _, info = env.reset(seed=0)
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(1000):
            valid = info["action_mask"].nonzero()[0]
            obs, r, term, trunc, info = env.step(valid[int(u[n & 0xFFFF] * len(valid))])
            n += 1
            if term or trunc:
                _, info = env.reset()
        if time.perf_counter() > deadline:
            return n, time.perf_counter() - t0


def vector_env(venv: RugsVectorEnv, seconds: float) -> tuple[int, float]:
    rng = np.random.default_rng(0)
    # uniform over the allowed actions: the argmax of random keys on the allowed ones (a pool of keys, so
    # that drawing random numbers is not what is measured)
    keys = rng.random((64, venv.num_envs, venv.table.n), dtype=np.float32)
    _, info = venv.reset(seed=0)
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while time.perf_counter() < deadline:
        mask = info["action_mask"]
        acts = np.argmax(np.where(mask, keys[(n // venv.num_envs) & 63], -1.0), axis=1)
        _, _, _, _, info = venv.step(acts)
        n += venv.num_envs
    return n, time.perf_counter() - t0


def anytrading(seconds: float) -> tuple[int, float]:
    import gym_anytrading  # noqa: F401

    env = gym.make("stocks-v0").unwrapped
    acts = np.random.default_rng(0).integers(0, 2, 1 << 16).tolist()
    env.reset(seed=0)
    n = 0
    t0 = time.perf_counter()
    deadline = t0 + seconds
    while True:
        for _ in range(1000):
            _, _, term, trunc, _ = env.step(acts[n & 0xFFFF])
            n += 1
            if term or trunc:
                env.reset()
        if time.perf_counter() > deadline:
            return n, time.perf_counter() - t0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--source", default=None, help="recordings (default: datasets/sample/)")
    args = parser.parse_args()
    store = load_store(args.source or default_source())
    print(f"games: {store.n_games} ({int(store.lengths.sum())} ticks) from {args.source or default_source()}")
    try:
        import gym_anytrading  # noqa: F401
    except ImportError:
        print("gym-anytrading is missing: .venv/bin/pip install gym-anytrading (or make bench-env)")
        return 2
    ref = best_rate(anytrading, args.seconds)
    raw = best_rate(lambda s: single_env(gym.make("RugsReplay-v0", source=store).unwrapped, s), args.seconds)
    wrapped = best_rate(lambda s: single_env(gym.make("RugsReplay-v0", source=store), s), args.seconds)
    v64 = best_rate(lambda s: vector_env(RugsVectorEnv(store, 64), s), args.seconds)
    v512 = best_rate(lambda s: vector_env(RugsVectorEnv(store, 512), s), args.seconds)
    print(f"{'gym-anytrading stocks-v0 (unwrapped)':44} {ref:12,.0f} steps/s")
    print(f"{'RugsReplay-v0 env.unwrapped, masked random':44} {raw:12,.0f} steps/s   {raw / ref:6.2f} x")
    print(f"{'RugsReplay-v0 gym.make (wrapped)':44} {wrapped:12,.0f} steps/s   {wrapped / ref:6.2f} x")
    print(f"{'RugsVectorEnv 64 envs':44} {v64:12,.0f} env-steps/s {v64 / ref:6.2f} x")
    print(f"{'RugsVectorEnv 512 envs':44} {v512:12,.0f} env-steps/s {v512 / ref:6.2f} x")
    print("(x = ratio to gym-anytrading's rate measured in this run)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
