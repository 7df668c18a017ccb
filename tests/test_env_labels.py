"""Labels: human actions as table actions in ``info["human_action"]``; the fidelity report."""

from __future__ import annotations

import numpy as np
from test_env_fixtures import recordings_root, store  # noqa: F401

from recorder.files import ActionKind
from rugs_env.envs import DEFAULT_TABLE, RugsReplayEnv, fit_table, label_actions, label_fidelity
from rugs_env.envs.labels import replay_labels


def test_human_action_in_info_follows_the_session(store) -> None:  # noqa: F811
    demos = [(gid, p) for gid in store.game_ids for p in store.players(gid)]
    assert demos
    env = RugsReplayEnv(store)
    for gid, player in demos:
        obs, info = env.reset(options={"game_id": gid, "player": player})
        assert info["demo_player"] == player
        labels = [info["human_action"]]
        done = False
        while not done:
            obs, r, term, trunc, info = env.step(0)
            done = term or trunc
            if not done:
                labels.append(info["human_action"])
        decisions = [a for a in store.demo(gid, player) if a.action in
                     (ActionKind.BUY, ActionKind.SELL, ActionKind.SIDEBET_PLACE)]  # fmt: skip
        acted = [i for i, a in enumerate(labels) if a != 0]
        expected = label_actions(store.demo(gid, player), env.table, len(labels) + 1)
        assert labels == expected.actions[: len(labels)].tolist()
        assert len(acted) == len(decisions) - expected.n_collisions
        for i, a in zip(acted, decisions, strict=False):  # kinds line up, step = tick + 1 (or presale)
            kind = env.table.names[labels[i]].split()[0]
            assert kind == {"BUY": "buy", "SELL": "sell", "SIDEBET_PLACE": "sidebet"}[a.action.value]
            assert i == a.tick + 1 or (a.tick == 0 and i == 0)


def test_no_human_action_without_a_session(store) -> None:  # noqa: F811
    env = RugsReplayEnv(store)
    bare = [g for g in store.game_ids if not store.players(g)]
    _, info = env.reset(options={"game_id": bare[0]})
    assert "human_action" not in info and "demo_player" not in info


def test_fidelity_report(store) -> None:  # noqa: F811
    report = label_fidelity(store)
    assert report.decisions >= 25 and 0 < report.exact <= report.decisions
    text = report.summary()
    assert "human actions exact" in text
    fitted = label_fidelity(store, fit_table(store))
    assert fitted.exact >= report.exact  # a table holding every amount used labels every buy exactly
    for g in fitted.games:
        if g.starts_flat and g.decisions == g.exact and g.collisions == 0 and g.pnl_gap is not None:
            assert g.label_pnl == g.human_pnl or g.traded > 0  # comparable rows exist
    # whole-position sells and round amounts are represented exactly by the default table
    labels = label_actions([a for a in store.demo(*_first_demo(store))], DEFAULT_TABLE, 2000)
    assert labels.n_decisions >= 1


def test_exact_labels_reproduce_the_recorded_pnl_to_the_lamport(store) -> None:  # noqa: F811
    """Where every decision of a player is represented exactly (table fitted to the amounts used) and none was
    inferred, replaying the labels gives the recorded PnL exactly."""
    from rugs_env.envs.labels import is_inferred

    report = label_fidelity(store, fit_table(store))
    clean = [
        g for g in report.games
        if g.exact == g.decisions and not g.collisions and g.starts_flat
        and not any(is_inferred(a) for a in store.demo(g.game_id, g.player))
    ]  # fmt: skip
    assert len(clean) >= 3
    for g in clean:
        assert g.label_pnl == g.human_pnl, g


def _first_demo(store):  # noqa: F811
    gid = next(g for g in store.game_ids if store.players(g))
    return gid, store.players(gid)[0]


def test_replaying_exact_labels_reproduces_the_ledger() -> None:
    prices = [1.0, 1.1, 1.3, 0.9, 1.2, 0.01]
    t = DEFAULT_TABLE
    labels = np.zeros(7, dtype=np.int64)
    labels[0] = t.index("buy 1")
    labels[3] = t.index("sell 100%")
    pnl, rejected = replay_labels(labels, prices, 10**10, t)
    assert rejected == 0 and pnl == int(1e9 * 1.3) - 10**9  # bought 1 token at 1.0, sold at tick 2 (1.3)


def test_demos_only_draws_games_with_sessions(store) -> None:  # noqa: F811
    env = RugsReplayEnv(store, demos_only=True)
    for seed in range(8):
        _, info = env.reset(seed=seed)
        assert store.players(info["game_id"]) and "human_action" in info
