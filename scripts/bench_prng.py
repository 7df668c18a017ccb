#!/usr/bin/env python
"""Benchmark: the provably-fair price path's speed in ticks per second, single-threaded.

Games get fresh random seeds and ids, so their lengths follow the real distribution (the PRNG *is* the
game: P(rug at tick k) = 0.995**(k-1) * 0.005, mean 200 ticks). Compares the fast path (C ARC4 keystream,
bulk decoding) with the line-by-line reference port of seedrandom, the "straightforward port".

    .venv/bin/python scripts/bench_prng.py [--games 5000] [--reference-games 300]
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import time

from rugs_env.game import constants as C
from rugs_env.game.prng import generate
from rugs_env.game.seedrandom import SeedRandom


def reference_generate(server_seed: str, game_id: str) -> int:
    """The v3 path straight from PROTOCOL.md §6.3 with the reference PRNG; returns the rug tick."""
    rng = SeedRandom(f"{server_seed}-{game_id}")
    price, prices = 1.0, [1.0]
    for t in range(C.MAX_TICKS):
        if rng.random() < C.RUG_PROB:
            return t + 1
        if rng.random() < C.GOD_CANDLE_CHANCE and price <= C.GOD_CANDLE_MAX_PRICE:
            price *= C.GOD_CANDLE_MOVE
            prices.append(price)
            continue
        if rng.random() < C.BIG_MOVE_CHANCE:
            move = C.BIG_MOVE_MIN + rng.random() * (C.BIG_MOVE_MAX - C.BIG_MOVE_MIN)
            change = move if rng.random() > 0.5 else -move
        else:
            drift = C.DRIFT_MIN + rng.random() * (C.DRIFT_MAX - C.DRIFT_MIN)
            vol = C.VOLATILITY_BASE * min(C.VOLATILITY_SQRT_CAP, math.sqrt(price))
            change = drift + vol * (2 * rng.random() - 1)
        price = max(price * (1 + change), 0.0)
        prices.append(price)
    return len(prices)


def games(n: int, rnd: random.Random) -> list[tuple[str, str]]:
    return [(f"{rnd.getrandbits(256):064x}", f"20251212-{rnd.getrandbits(64):016x}") for _ in range(n)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", type=int, default=5000)
    parser.add_argument("--reference-games", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rnd = random.Random(args.seed)

    batch = games(args.games, rnd)
    start = time.perf_counter()
    lengths = [generate(seed, game_id).rug_tick for seed, game_id in batch]
    fast_s = time.perf_counter() - start
    fast_rate = sum(lengths) / fast_s

    ref_batch = games(args.reference_games, rnd)
    start = time.perf_counter()
    ref_ticks = sum(reference_generate(seed, game_id) for seed, game_id in ref_batch)
    ref_s = time.perf_counter() - start
    ref_rate = ref_ticks / ref_s

    print(
        f"games: {len(batch)}  ticks: {sum(lengths)}  mean length {statistics.mean(lengths):.1f}, "
        f"median {statistics.median(lengths):.0f} (real game: mean 200, median 139)"
    )
    print(f"rugs_env.game.prng.generate : {fast_rate:>10,.0f} ticks/s  ({len(batch) / fast_s:,.0f} games/s)")
    print(f"reference port (pure Python): {ref_rate:>10,.0f} ticks/s  ({args.reference_games} games)")
    print(f"speed-up                    : {fast_rate / ref_rate:>10.1f}x")


if __name__ == "__main__":
    main()
