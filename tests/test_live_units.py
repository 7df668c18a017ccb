"""Unit tests of live play's parts: the token bucket and risk guard, the token's secrecy, the wire form of
orders, the market tracker under bad and reordered messages, reconciliation of an order of unknown fate, and
the environment's spaces (those of ``RugsReplay-v0``)."""

from __future__ import annotations

import copy
import logging
import pickle

import gymnasium as gym
import numpy as np
import pytest

import rugs_env  # noqa: F401
from recorder.events import parse_game_state
from rugs_env.brokers.base import Order
from rugs_env.brokers.orders import percentage_of, wire_order
from rugs_env.brokers.reconcile import Op, Replayable, account_state, reconcile
from rugs_env.brokers.risk import RiskGuard, RiskLimits, TokenBucket
from rugs_env.envs.live import RugsLiveEnv
from rugs_env.game.ledger import Ledger
from rugs_env.live.market import MarketPhase, MarketTracker
from rugs_env.live.options import LiveError, LiveOptions
from rugs_env.live.policies import PolicyError, load_policy, random_policy
from rugs_env.secrets import RedactingFilter, Secret, TokenError, load_token, scrub

SOL = 10**9
GID, GID2 = "20250101-00000000000000aa", "20250101-00000000000000bb"


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_token_bucket_refills_and_never_queues() -> None:
    clock = Clock()
    bucket = TokenBucket(rate=2.0, burst=3, clock=clock)
    assert [bucket.try_take() for _ in range(4)] == [True, True, True, False]
    clock.t = 0.4  # 0.8 of a token
    assert not bucket.try_take()
    clock.t = 0.5
    assert bucket.try_take() and not bucket.try_take()
    clock.t = 100.0
    assert bucket.available == 3.0  # capped at the burst
    with pytest.raises(ValueError):
        TokenBucket(rate=0, burst=1)


def test_risk_guard_stake_and_loss_floor() -> None:
    guard = RiskGuard(RiskLimits(max_stake=SOL // 10, max_loss=SOL // 2))
    assert guard.refusal(Order.buy(SOL // 10), 10 * SOL)[0] == "max_loss"  # start not known: refuse
    guard.set_start(10 * SOL)
    guard.set_start(3 * SOL)  # set once
    assert guard.cash_floor == 10 * SOL - SOL // 2
    assert guard.refusal(Order.buy(SOL // 5), 10 * SOL)[0] == "max_stake"
    assert guard.refusal(Order.sidebet(SOL // 5), 10 * SOL)[0] == "max_stake"
    assert guard.refusal(Order.buy(SOL // 10), 10 * SOL - SOL // 2 + SOL // 10) is None  # lands on the floor
    assert guard.refusal(Order.buy(SOL // 10), 10 * SOL - SOL // 2)[0] == "max_loss"
    assert guard.refusal(Order.sell(1.0), 0) is None  # sells are never refused by the limits
    limited = RiskGuard(bucket=TokenBucket(1.0, 1, clock=Clock()))
    assert (
        limited.refusal(Order.sell(0.5), 0) is None
        and limited.refusal(Order.sell(0.5), 0)[0] == "rate_limited"
    )
    assert limited.refused == {"rate_limited": 1}


def test_secret_never_shows_itself(caplog: pytest.LogCaptureFixture) -> None:
    secret = Secret("tok-unit-SECRET")
    texts = [str(secret), repr(secret), f"{secret}", f"{secret!r}", "%s" % (secret,), repr([secret])]  # noqa: UP031
    assert all("tok-unit-SECRET" not in t for t in texts)
    assert secret.reveal() == "tok-unit-SECRET" and copy.deepcopy(secret) is secret
    with pytest.raises(TypeError):
        pickle.dumps(secret)
    assert scrub('{"token": "tok-unit-SECRET"} and tok-unit-SECRET', [secret]).count("tok-unit-SECRET") == 0
    options = LiveOptions(url="http://x", token=secret, mode="live")
    assert "tok-unit-SECRET" not in repr(options) + str(options.describe())
    logger = logging.getLogger("test.secret")
    flt = RedactingFilter([secret])
    caplog.handler.addFilter(flt)
    try:
        logger.warning("sending %s", "tok-unit-SECRET")
        try:
            raise RuntimeError("boom tok-unit-SECRET")
        except RuntimeError:
            logger.exception("failed")
    finally:
        caplog.handler.removeFilter(flt)
    assert "tok-unit-SECRET" not in caplog.text and "<redacted>" in caplog.text


def test_load_token_order_and_plain_warning(tmp_path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "token"
    path.write_text("  from-file \n")
    path.chmod(0o600)
    env = {"RUGS_TOKEN": "from-env"}
    assert load_token(token_file=path, token="plain", env=env).reveal() == "from-file"
    assert load_token(token="plain", env=env).reveal() == "from-env"
    with caplog.at_level(logging.WARNING):
        assert load_token(token="plain", env={}).reveal() == "plain"
    assert "shell history" in caplog.text and "plain" not in caplog.text.replace("plain argument", "")
    assert load_token(env={}) is None
    with pytest.raises(TokenError):
        load_token(token="plain", env={}, allow_plain=False)
    empty = tmp_path / "empty"
    empty.write_text("\n")
    with pytest.raises(TokenError, match="empty"):
        load_token(token_file=empty, env={})
    with pytest.raises(LiveError, match="token"):
        LiveOptions(url="http://x", mode="live").validate()


def test_wire_orders_round_trip_exactly() -> None:
    for fraction in (0.1, 0.25, 0.5, 1.0, 0.3, 0.07, 0.75):
        assert percentage_of(fraction) / 100 == fraction
    # no double divides by 100 to exactly 1/3: the nearest is sent (the ledger applies the trade's quantity)
    assert abs(percentage_of(1 / 3) / 100 - 1 / 3) < 1e-15
    assert wire_order(Order.sell(0.1)) == ("sellOrder", {"percentage": 10})
    assert wire_order(Order.buy(123_000_000)) == ("buyOrder", {"amount": 0.123})
    event, payload = wire_order(Order.sidebet(1_000_000))
    assert event == "requestSidebet" and payload["xPayout"] == 5 and payload["amount"] == 0.001
    assert wire_order(Order.sell_qty(5)) is None


def state(**fields):
    base = {"gameId": GID, "cooldownTimer": 0, "allowPreRoundBuys": False}
    return parse_game_state({**base, **fields})


def test_market_tracker_transitions_and_bad_messages() -> None:
    mk = MarketTracker()
    kinds = lambda trs: [(t.kind, t.tick) for t in trs]  # noqa: E731
    assert kinds(mk.on_state(state(cooldownTimer=12000))) == [("game", 0)]
    assert mk.phase is MarketPhase.COOLDOWN
    assert kinds(mk.on_state(state(cooldownTimer=9000, allowPreRoundBuys=True))) == [("presale", 0)]
    tick = {"active": True, "rugged": False}
    assert kinds(mk.on_state(state(**tick, tickCount=0, price=1))) == [("tick", 0)]
    window = {"startTick": 0, "endTick": 3, "values": {"0": 1, "1": 1.1, "2": 1.2, "3": 1.3}}
    assert kinds(mk.on_state(state(**tick, tickCount=3, price=1.3, partialPrices=window))) == [("tick", 3)]
    assert mk.prices_upto(GID, 3) == [1, 1.1, 1.2, 1.3]
    # duplicated, reordered and malformed messages change nothing
    assert mk.on_state(state(**tick, tickCount=3, price=1.3)) == []
    assert mk.on_state(state(**tick, tickCount=2, price=1.2)) == []
    assert mk.on_state(state(active="true", rugged=False, tickCount=9, price=5.0)) == []
    assert mk.on_state(state(active=True, tickCount=9, price=5.0)) == []  # rugged missing
    assert (mk.tick, mk.phase) == (3, MarketPhase.ACTIVE)
    # the rug: its tick is the end of the partial window (the post-rug message counts on)
    rug = {"startTick": 1, "endTick": 4, "values": {"3": 1.3, "4": 0.02}}
    assert kinds(
        mk.on_state(state(active=True, rugged=True, tickCount=6, price=0.02, partialPrices=rug))
    ) == [("rug", 4)]
    assert mk.rug_of(GID) == (4, 0.02) and mk.phase is MarketPhase.RUGGED
    # the next game; a late message of the old one adds nothing
    assert kinds(parse_and_feed(mk, {"gameId": GID2, "cooldownTimer": 15000})) == [("game", 0)]
    assert (
        parse_and_feed(mk, {"gameId": GID, "active": True, "rugged": False, "tickCount": 4, "price": 9}) == []
    )
    assert mk.game_id == GID2


def parse_and_feed(mk: MarketTracker, payload: dict) -> list:
    return mk.on_state(parse_game_state(payload))


def test_market_tracker_takes_a_missed_rug_from_history() -> None:
    mk = MarketTracker()
    mk.on_state(state(active=True, rugged=False, tickCount=2, price=1.1))
    history = [{"id": GID, "prices": [1, 1.05, 1.1, 0.012], "provablyFair": {}}]
    trs = parse_and_feed(mk, {"gameId": GID2, "cooldownTimer": 15000, "gameHistory": history})
    assert [(t.kind, t.game_id, t.tick, t.price) for t in trs] == [
        ("rug", GID, 3, 0.012),
        ("game", GID2, 0, 1.0),
    ]


def test_reconcile_finds_the_fill_or_its_absence() -> None:
    ledger = Ledger(10 * SOL)
    ledger.open_game(GID)
    ledger.on_tick(5, 1.25)
    prices = {6: 1.5, 7: 1.75, 8: 2.0}
    history = Replayable(ledger.snapshot())
    for tick in (6, 8):  # tick 7 never arrived; its price did (a partialPrices window)
        Op("on_tick", (tick, prices[tick])).apply(ledger)
        history.ops.append(Op("on_tick", (tick, prices[tick])))
    price_at = lambda gid, t: prices.get(t)  # noqa: E731
    order = Order.buy(SOL)
    for tick in (5, 6, 7, 8):  # the server filled it at any of these ticks
        truth = Ledger.restore(history.start)
        if tick > 5:
            truth.on_tick(tick, prices[tick])
        truth.buy(SOL)
        if truth.tick < 8:
            truth.on_tick(8, prices[8])
        found = reconcile(history, order, GID, account_state(truth), price_at, fresh=False)
        assert found is not None and found.fill is not None and found.fill.tick == tick
        assert found.ledger.snapshot() == truth.snapshot()
    untouched = account_state(ledger)
    assert reconcile(history, order, GID, untouched, price_at, fresh=False) is None  # not from a stale update
    found = reconcile(history, order, GID, untouched, price_at, fresh=True)
    assert found is not None and found.fill is None
    other = Ledger(10 * SOL - 7)
    assert reconcile(history, order, GID, account_state(other), price_at, fresh=True) is None


def test_policies() -> None:
    mask = np.zeros(18, dtype=bool)
    mask[[0, 3, 9]] = True
    policy = random_policy(1)
    assert {policy(np.zeros(24), mask) for _ in range(50)} == {0, 3, 9}
    assert load_policy(None, "hold")(np.zeros(24), mask) == 0
    with pytest.raises(PolicyError):
        load_policy(None, "genius")
    with pytest.raises(PolicyError, match="no model"):
        load_policy("/nonexistent/model.zip")


def test_live_env_has_the_replay_spaces() -> None:
    live = gym.make("RugsLive-v0", url="http://127.0.0.1:9")  # nothing connects before reset()
    replay = gym.make("RugsReplay-v0")
    assert live.observation_space == replay.observation_space
    assert live.action_space == replay.action_space
    assert isinstance(live.unwrapped, RugsLiveEnv) and "SECRET" not in repr(live.unwrapped)
    live.close()
    replay.close()
