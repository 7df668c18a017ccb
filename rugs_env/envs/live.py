"""``RugsLive-v0``: the live feed as an environment, trading through the socket broker (or paper fills)."""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from rugs_env.brokers.base import OrderKind, OrderResult, OrderStatus
from rugs_env.brokers.risk import RiskLimits
from rugs_env.envs.core import RugsEnvBase
from rugs_env.envs.spec import I_RUGGED, PRESALE_ROW, ActionTable, market_features, observation_rows
from rugs_env.game.ledger_types import Phase
from rugs_env.game.money import to_nano
from rugs_env.live.market import MarketPhase
from rugs_env.live.options import LiveOptions
from rugs_env.live.session import LiveSession
from rugs_env.secrets import Secret, as_secret

NANO = 1e9


class RugsLiveEnv(RugsEnvBase):
    """
    ## Description

    The live rugs.fun feed (or a local `rugs serve`) as an environment: one episode per live game, from its
    presale to its rug, one step per tick. Same action table, observation layout, rewards and ledger as
    `RugsReplay-v0` (see its docstring), so an agent trained on replays plays here unchanged. Orders go
    through a broker: `mode="paper"` (default) fills them with the rulebook's ledger at the live price
    (nothing sent); `mode="live"` sends them on the user's authenticated socket
    (`rugs_env.brokers.socket_broker.SocketBroker`), applies the fills from the server's own events and checks
    every `playerUpdate`; drift halts trading.

    ## Spaces

    As `RugsReplay-v0`: `Discrete(18)` over the default table, `Box(low, high, (24,), float32)`. The account
    features are scaled by the net worth at the episode's start. `action_masks()` also masks what the risk
    limits forbid, and everything but hold while the broker is not ready (syncing, an order unresolved,
    halted).

    ## Time

    `reset()` waits for the next game's presale (or takes the current one if it is in presale) and returns
    the presale observation. `step(a)` sends `a`'s order at once and then waits for the next tick. The market
    does not wait for the agent: a step that arrives after the tick it observed has passed acts on the
    current tick, and says so: `info["late"]` (bool) and `info["late_ticks"]` (ticks since the observed
    one); `info["skipped_ticks"]` counts ticks the agent did not see (when it is slower than the feed).

    ## Episode End

    - Termination: the rug (final observation with `rugged = 1`; the broker has settled the sidebet and the
      liquidation).
    - Truncation: the game was left without its rug being seen (a long disconnection), or no tick came for
      `tick_timeout` seconds; `info["truncated_reason"]` says which.

    ## Arguments

    `url` (the feed), `mode` (`"paper"`/`"live"`), `token` (a `rugs_env.secrets.Secret` or a string; live
    mode), `max_stake`, `max_loss` (SOL, checked before any order leaves), `rate`, `burst` (orders per
    second, token bucket), `paper_cash` (SOL), `record_dir` (recordings folder; None: none), `ack_timeout`,
    `tick_timeout`, `start_timeout`, `action_table`, `render_mode` (`"ansi"`, `"rgb_array"`), or `session`
    (an existing `rugs_env.live.session.LiveSession`, which the environment then does not close).

    ## Info

    `action_mask`, `tick` (-1 in presale), `game_id` (reset), `late`, `late_ticks`, `skipped_ticks`,
    `order` (the order's status) or `rejected` (its refusal code) with `reason`, `invalid_action`, `halted`
    (why trading stopped), `pnl` (SOL, last step), `truncated_reason`.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}  # noqa: RUF012

    def __init__(
        self,
        url: str | None = None,
        *,
        session: LiveSession | None = None,
        mode: str = "paper",
        token: str | Secret | None = None,
        max_stake: float | None = None,
        max_loss: float | None = None,
        rate: float = 2.0,
        burst: int = 5,
        paper_cash: float = 10.0,
        record_dir: str | None = None,
        ack_timeout: float = 5.0,
        tick_timeout: float = 60.0,
        start_timeout: float = 30.0,
        reset_timeout: float = 300.0,
        action_table: ActionTable | None = None,
        render_mode: str | None = None,
        **options: Any,
    ) -> None:
        super().__init__(
            action_table=action_table, initial_cash=max(paper_cash, 1e-9), render_mode=render_mode
        )
        if session is None:
            if url is None:
                raise ValueError("RugsLive-v0 needs a feed url (or a LiveSession)")
            limits = RiskLimits(
                max_stake=None if max_stake is None else to_nano(max_stake),
                max_loss=None if max_loss is None else to_nano(max_loss),
            )
            live_options = LiveOptions(
                url=url, token=as_secret(token), mode=mode, paper_cash=to_nano(paper_cash), limits=limits,
                rate=rate, burst=burst, ack_timeout=ack_timeout, out=record_dir, **options,
            )  # fmt: skip
            live_options.validate()
            self._own_session = True
            self._session: LiveSession | None = None
            self._options: LiveOptions | None = live_options
        else:
            self._own_session = False
            self._session = session
            self._options = None
        self.tick_timeout = tick_timeout
        self.start_timeout = start_timeout
        self.reset_timeout = reset_timeout
        self.last_acted: tuple[str, int] | None = None  # (game, observed tick) of the last step (tests)
        self._played: set[str] = set()
        self._prices = []

    # -- the session ---------------------------------------------------------------------------------------
    @property
    def session(self) -> LiveSession:
        """The live session (connected on first use)."""
        if self._session is None:
            assert self._options is not None
            self._session = LiveSession(self._options).start(self.start_timeout)
        return self._session

    @property
    def live_broker(self) -> Any:
        return self.session.broker

    # -- Gymnasium API -------------------------------------------------------------------------------------
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        gym.Env.reset(self, seed=seed)
        session = self.session
        self.broker = broker = session.broker
        mk = session.market

        def joinable() -> bool:
            ledger = broker.account
            return (
                mk.phase is MarketPhase.PRESALE
                and mk.game_id not in self._played
                and ledger.game_id == mk.game_id
                and ledger.phase is Phase.PRESALE
            ) or broker.halted is not None

        if not session.wait_until(joinable, self.reset_timeout):
            raise TimeoutError(f"no game's presale to join within {self.reset_timeout:g} s")
        with session.lock:
            self.game_id = mk.game_id or ""
            self._played.add(self.game_id)
            if len(self._played) > 64:
                self._played = {self.game_id}
            self._t = -1
            self._done = False
            self._prices = []
            self.history = []
            self.invalid_actions = 0
            worth = broker.account.net_worth(1.0)
            self.initial_cash = worth if worth > 0 else 10**9
            self._cash_scale = 1.0 / self.initial_cash
            obs = self._observe(PRESALE_ROW, 1.0)
            self._nw = self._nw_now
            info: dict[str, Any] = {"game_id": self.game_id, "action_mask": self.action_masks(), "tick": -1}
            if broker.halted is not None:
                info["halted"] = broker.halted
        return obs, info

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        if self._done:
            raise RuntimeError("step() after the episode ended: call reset()")
        a = int(action)
        if not 0 <= a < len(self._orders):
            raise ValueError(f"action {action!r} is not in Discrete({len(self._orders)})")
        session, broker, mk, gid = self.session, self.broker, self.session.market, self.game_id
        observed = self._t
        with session.lock:
            now_tick = self._market_tick(gid)
        info: dict[str, Any] = {
            "late": now_tick is None or now_tick > observed,
            "late_ticks": 0 if now_tick is None else max(0, now_tick - observed),
        }
        order = self._orders[a]
        if order is not None:
            try:
                result = broker.submit(order)
            except Exception as exc:  # the session's loop did not answer: the order may still be in flight
                result = OrderResult(
                    order, OrderStatus.ACCEPTED, None, f"no answer ({type(exc).__name__})", "error"
                )
            if result.status is OrderStatus.REJECTED:
                self.invalid_actions += 1
                info.update(invalid_action=True, rejected=result.code, reason=result.reason)
            else:
                info["order"] = result.status.value
                if result.fill is not None:
                    info["acted_tick"] = result.fill.tick
                if result.reason:
                    info["reason"] = result.reason
                if self.render_mode is not None:
                    self.history.append((observed, a, self._prices[-1] if self._prices else 1.0))
        with session.lock:
            current = self._market_tick(gid)
            after = observed if current is None else max(observed, current)
        self.last_acted = (gid, observed)

        def moved() -> bool:
            return mk.game_id != gid or gid in mk.rugs or (mk.phase is MarketPhase.ACTIVE and mk.tick > after)

        ok = session.wait_until(moved, self.tick_timeout)
        terminated = truncated = False
        rug = mk.rug_of(gid)
        if rug is not None:  # the broker applies the settlement before the rug message; wait if it has not
            session.wait_until(
                lambda: broker.account.game_id != gid or broker.account.phase is Phase.RUGGED, 5.0
            )
        with session.lock:
            rug = mk.rug_of(gid)
            if rug is not None:
                t, price = rug
                terminated = True
            elif mk.game_id != gid or not ok:
                t, price = max(observed, 0), (self._prices[-1] if self._prices else 1.0)
                truncated = True
                info["truncated_reason"] = (
                    "left the game without seeing its rug" if ok else "the feed stalled"
                )
            else:
                t, price = mk.tick, mk.price
            self._prices = mk.prices_upto(gid, t)
            self._prices[-1] = price
            info["skipped_ticks"] = max(0, t - observed - 1)
            self._t = t
            self._done = terminated or truncated
            row = observation_rows(market_features(self._prices)[-1:])[0]
            obs = self._observe(row, price)
            if terminated:
                obs[I_RUGGED] = 1.0
            nw = self._nw_now
            reward = (nw - self._nw) / NANO
            self._nw = nw
            info["action_mask"] = self.action_masks()
            info["tick"] = t
            if broker.halted is not None:
                info["halted"] = broker.halted
            if self._done:
                info["pnl"] = (nw - self.initial_cash) / NANO
        return obs, reward, terminated, truncated, info

    def _market_tick(self, gid: str) -> int | None:
        """The tick the market is at in ``gid`` (-1 in its presale; None once it rugged or moved on)."""
        mk = self.session.market
        if mk.game_id != gid or gid in mk.rugs:
            return None
        return mk.tick if mk.phase is MarketPhase.ACTIVE else -1

    def action_masks(self) -> np.ndarray:
        """The ledger's valid actions, less what the risk limits forbid; only hold while not ready."""
        broker = self.broker
        with self.session.lock:
            mask = super().action_masks()
            if self._done:
                return mask
            if broker.halted is not None or not broker.ready:
                mask[1:] = False
                return mask
            guard, cash = broker.guard, broker.account.cash
            for i, order in enumerate(self._orders):
                if mask[i] and order is not None and order.kind in (OrderKind.BUY, OrderKind.SIDEBET):
                    mask[i] = guard.allows(order, cash)
        return mask

    def close(self) -> None:
        if self._own_session and self._session is not None:
            self._session.close()
        super().close()

    @property
    def prices_so_far(self) -> list[float]:
        return list(self._prices)

    def __repr__(self) -> str:
        return f"<RugsLiveEnv {self._session!r}>"


__all__ = ["RugsLiveEnv"]
