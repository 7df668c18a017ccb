"""Parity: recorded games served by ``rugs serve --replay`` and played with the same scripted actions through
``RugsLive-v0`` (the socket broker, real orders over loopback) and through ``RugsReplay-v0`` (the simulated
broker) end with identical ledgers, identical observations, masks and rewards at every step, and identical
reward sums. The same holds for ``RugsLive-v0`` in paper mode (simulated fills on the live feed).

The server's clock is driven in lockstep with the live environment (``tests/test_live_helpers.py``), so every
order executes on the tick the agent observed, as in replay. The actions are drawn from the replay
environment's mask with a seeded generator (a random masked policy), so buys, sells and sidebets of every
size happen, including presale orders, sidebet wins and losses and liquidations at the rug.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from test_live_helpers import TOKEN, Lockstep, player

import rugs_env  # noqa: F401  (registers the environments)
from recorder.checks_tree import check_recordings
from rugs_env.envs.games import default_source
from rugs_env.envs.replay import RugsReplayEnv
from rugs_env.game.money import from_nano
from rugs_env.server.config import ServerConfig
from rugs_env.server.runner import ServerThread

pytestmark = pytest.mark.e2e

# short games of the bundled sample: an instarug, quick rugs, a god candle (97 ticks), a 111-tick game
GAMES = [
    "20251029-4d3c9619817844a2",
    "20251212-dbb443e2e08a45fd",
    "20251212-a1ca096c182b4812",
    "20251031-63d8549ec87e4f03",
    "20251212-c877a17e170c44f9",
]


@pytest.fixture(scope="module")
def replay_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("replay")
    sample = default_source()
    wanted = {gid.split("-")[1][:8] for gid in GAMES}
    for path in sorted(sample.rglob("*.game.json")):
        if path.name.split("_")[1][:8] in wanted:
            shutil.copy(path, out / path.name)
    assert len(list(out.glob("*.game.json"))) == len(GAMES)
    return out


@pytest.mark.parametrize("mode", ["live", "paper"])
def test_live_and_replay_end_with_identical_ledgers(mode: str, replay_dir: Path, tmp_path: Path) -> None:
    config = ServerConfig(speed=1.0, seed=5, manual_clock=True, replay_dir=replay_dir, players=[player()])
    rng = np.random.default_rng(20251212)
    played: list[str] = []
    kinds: set[str] = set()
    with ServerThread(config) as server:
        env = gym.make(
            "RugsLive-v0",
            url=server.url,
            mode=mode,
            token=TOKEN if mode == "live" else None,
            rate=1000.0,
            burst=1000,
            record_dir=str(tmp_path / "rec"),
            start_timeout=60.0,
        )
        live = env.unwrapped
        lockstep = Lockstep(server, env)
        try:
            for _ in GAMES:
                obs, info = env.reset()
                cash = live.broker.account.cash
                replay = RugsReplayEnv(replay_dir, initial_cash=from_nano(cash), order="sequential")
                r_obs, r_info = replay.reset(options={"game_id": live.game_id})
                played.append(live.game_id)
                np.testing.assert_array_equal(obs, r_obs)
                np.testing.assert_array_equal(info["action_mask"], r_info["action_mask"])
                live_sum = replay_sum = 0.0
                steps = 0
                while True:
                    action = int(rng.choice(np.flatnonzero(r_info["action_mask"])))
                    obs, reward, term, trunc, info = env.step(action)
                    r_obs, r_reward, r_term, r_trunc, r_info = replay.step(action)
                    steps += 1
                    assert not info["late"], f"step {steps} of {live.game_id} acted late: {info}"
                    assert info.get("invalid_action", False) == r_info.get("invalid_action", False), info
                    np.testing.assert_array_equal(obs, r_obs, err_msg=f"{live.game_id} step {steps}")
                    np.testing.assert_array_equal(info["action_mask"], r_info["action_mask"])
                    assert reward == r_reward, (live.game_id, steps, reward, r_reward)
                    assert (term, trunc) == (r_term, r_trunc)
                    live_sum += reward
                    replay_sum += r_reward
                    if term or trunc:
                        break
                kinds.update(f.kind.value for f in live.broker.poll_fills())
                assert live.broker.account.snapshot() == replay.broker.account.snapshot()
                assert live_sum == replay_sum
                assert info["pnl"] == r_info["pnl"]
                if mode == "live":  # and the server's own ledger agrees to the lamport
                    truth = server.call(lambda s: s.truth.player(player().player_id).state)
                    assert truth["cash_lamports"] == live.broker.account.cash
        finally:
            frames = lockstep.stop()
            summary = live.session.summary()
            env.close()
    assert sorted(played) == sorted(GAMES)
    assert {"buy", "sell", "sidebet_place", "liquidation"} <= kinds, kinds
    assert frames > 0
    orders = summary["orders"]
    assert orders["sent"] > 20 and orders["filled"] == orders["sent"]
    assert summary["halted"] is None
    if mode == "live":
        assert summary["verification"]["drift_count"] == 0
    report = check_recordings(tmp_path / "rec")
    assert report.ok, [str(p) for p in report.problems]
