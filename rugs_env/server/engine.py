"""The game engine: a deterministic, time-free state machine that says what to send and how long to wait.

``advance(now_ms)`` runs the lifecycle one step and returns a :class:`Frame`: the events to send now and the
game time (seconds at speed 1) until the next step. Nothing here sleeps or touches a socket; the async clock
in :mod:`rugs_env.server.runner` scales the waits by ``--speed`` and the socket app delivers the events.
Orders (from sockets and bots alike) go through :meth:`GameEngine.submit` between steps.

The lifecycle of one game (PROTOCOL.md §2), every step 100 ms in cooldown/presale and 250 ms when active:

1. cooldown: full message (timer 15000, the previous game revealed in ``gameHistory[0]``), then minimal
   messages 14900 .. 10100;
2. presale: at 10000 a 21-key message (``active`` false) and a minimal one, then minimal 9900 .. 100;
3. tick 0: slim (14 keys) then full message; ticks 1 .. R-1: one 21-key message each;
4. rug tick R: settlement first (sidebet results, forced sells, player updates), then the rug message
   (``rugged`` true while ``active`` stays true);
5. post-rug full message (``tickCount`` R+1 or R+2) after ``post_rug_delay_s``; the next game's first
   cooldown message follows after ``next_game_delay_s``.
"""

from __future__ import annotations

import random
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from rugs_env.game import constants as C
from rugs_env.server import messages as M
from rugs_env.server.audit import audit_players
from rugs_env.server.bots import BotCrew
from rugs_env.server.config import ServerConfig
from rugs_env.server.games import GameFeed, GameSpec, RandomGames
from rugs_env.server.market import Market, Phase
from rugs_env.server.order_log import OrderRecord
from rugs_env.server.stats import GameStats
from rugs_env.server.trading import OrderOutcome, TradingDesk
from rugs_env.server.truth import Truth
from rugs_env.server.wire import Emission, num

COOLDOWN_STEP_MS = 100
COOLDOWN_STEP_S = C.COOLDOWN_MESSAGE_SECONDS
TICK_S = C.TICK_SECONDS
PREFILL_SPACING_MS = 60_000  # invented history games are spaced a minute apart


@dataclass(slots=True)
class Frame:
    """What to send now, and the game time to wait before the next step (None: no more games).

    ``player_updates``: a tick step; authenticated sockets also get their ``gameStatePlayerUpdate``.
    """

    emissions: list[Emission] = field(default_factory=list)
    wait: float | None = 0.0
    player_updates: bool = False


def seeded(seed: int | None, stream: str) -> random.Random | None:
    """An independent generator per purpose, derived from the run's seed (None when unseeded)."""
    return None if seed is None else random.Random(f"rugs-serve:{seed}:{stream}")


class GameEngine:
    """Plays games forever (or ``max_games``), keeping the ground truth as it goes."""

    def __init__(self, config: ServerConfig, feed: GameFeed | None = None) -> None:
        config.validate()
        self.config = config
        self._rng = seeded(config.seed, "engine") or random.Random()
        self._fresh = RandomGames(seeded(config.seed, "games"))
        if feed is None:
            fallback = self._fresh.make
            if config.replay_dir is not None:
                from rugs_env.server.replay import ReplayGames  # reads recording files (recorder.files)

                fallback = ReplayGames(config.replay_dir).next_game
            feed = GameFeed(config.games, fallback, random.Random(self._rng.random()))
        self.feed = feed
        self.market = Market()
        self.stats = GameStats()
        self.truth = Truth(max_games=config.truth_max_games, max_orders=config.truth_max_orders)
        self.desk = TradingDesk(self.market, self.stats, self.truth, config)
        self.bots = BotCrew(config.bots, seeded(config.seed, "bots") or random.Random(), self.desk)
        self.sockets_connected = 0  # maintained by the socket app
        self.game_time = 0.0  # seconds of game time elapsed (pauses included)
        self.games_started = 0
        self.ticks_played = 0  # active-tick steps (tick 0 and the rug tick included)
        faults = config.faults
        self._pause_every = faults.pause_every_s if faults.pause_duration_s > 0 else 0.0
        self._next_pause = self._pause_every
        self._now_ms = 0
        self._wire_prices: list[Any] = []
        self._pf: dict[str, Any] = {}
        self._post_rug_tick = 0
        self._lifecycle: Generator[Frame, None, None] | None = None

    # -- the clock's interface ---------------------------------------------------------------------------
    @property
    def finished(self) -> bool:
        return self._lifecycle is not None and self.market.phase is Phase.IDLE

    def advance(self, now_ms: int) -> Frame:
        """Run one step of the lifecycle at wall time ``now_ms`` (used for timestamps and game-id dates)."""
        self._now_ms = now_ms
        if self._lifecycle is None:
            self._prefill(now_ms)
            self._lifecycle = self._run()
        frame = next(self._lifecycle, None) or Frame(wait=None)
        if frame.player_updates:
            self.ticks_played += 1
        if frame.wait is not None:
            self.game_time += frame.wait
            if self._pause_every and self.game_time >= self._next_pause:
                frame.wait += self.config.faults.pause_duration_s  # the fault: nothing moves for a while
                self.game_time += self.config.faults.pause_duration_s
                self._next_pause = self.game_time + self._pause_every
        return frame

    def submit(self, player_id: str, event: str, payload: Any, now_ms: int) -> OrderOutcome:
        """Execute an order at the current tick (the one path for sockets and bots)."""
        return self.desk.submit(player_id, event, payload, now_ms)

    def receive_order(
        self, player_id: str | None, event: str, payload: Any, now_ms: int, connection: int | None
    ) -> OrderRecord:
        """Note an order event in the ground truth as received, before it is handled (outcome pending)."""
        mk = self.market
        return self.truth.order_log.receive(
            player_id, event, payload, time_ms=now_ms, game_id=mk.game_id, phase=mk.phase.value,
            tick=mk.tick, connection=connection,
        )  # fmt: skip

    def audit(self) -> list[str]:
        """Ground-truth consistency: every finished game regenerates from its seed, every ledger balances."""
        return self.truth.verify_games() + audit_players(self.truth, self.desk.accounts.by_id)

    @property
    def connected(self) -> int:
        """``connectedPlayers``: sockets plus bots (bots are players without sockets)."""
        return self.sockets_connected + len(self.bots)

    # -- messages ----------------------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The full message a newly connected socket gets first, with every price of the game so far."""
        mk, spec = self.market, self.market.spec
        if spec is None:
            return {}
        active = mk.phase in (Phase.ACTIVE, Phase.RUGGED)
        if mk.phase is Phase.RUGGED:
            tick = self._post_rug_tick or mk.tick
        else:
            tick = mk.tick if active else 0
        last = min(mk.tick, spec.rug_tick) if active else 0
        return M.full(
            self.stats,
            game_id=spec.game_id,
            active=active,
            rugged=mk.phase is Phase.RUGGED,
            price=num(mk.price) if active else 1,
            tick=tick,
            timer=mk.timer if not active else 0,
            presale=mk.phase is Phase.PRESALE,
            leaderboard=self.desk.leaderboard(),
            connected=self.connected,
            version=spec.version,
            pf=self._pf,
            prices=self._wire_prices[: last + 1],
        )

    def _minimal(self) -> Emission:
        mk = self.market
        spec = mk.spec
        assert spec is not None
        return Emission(
            "gameStateUpdate",
            M.cooldown_minimal(
                spec.game_id,
                mk.timer,
                mk.phase is Phase.PRESALE,
                self.desk.leaderboard(),
                self.connected,
                self._pf,
            ),
        )

    def _tick_message(
        self, *, active: bool = True, rugged: bool = False, trades: int | None = None
    ) -> Emission:
        mk = self.market
        spec = mk.spec
        assert spec is not None
        presale = mk.phase is Phase.PRESALE
        return Emission(
            "gameStateUpdate",
            M.active_tick(
                game_id=spec.game_id,
                active=active,
                rugged=rugged,
                price=num(mk.price),
                tick=mk.tick,
                partial=M.partial_prices(self._wire_prices, mk.tick),
                trade_count=self.desk.trade_count if trades is None else trades,
                timer=mk.timer,
                presale=presale,
                leaderboard=[] if presale else self.desk.leaderboard(),
                connected=self.connected,
                pf=self._pf,
                stats=self.stats,
            ),
        )

    def _full(self, *, active: bool, rugged: bool, tick: int, partial: dict[str, Any]) -> Emission:
        mk = self.market
        spec = mk.spec
        assert spec is not None
        return Emission(
            "gameStateUpdate",
            M.full(
                self.stats,
                game_id=spec.game_id,
                active=active,
                rugged=rugged,
                price=num(mk.price),
                tick=tick,
                timer=mk.timer,
                presale=False,
                leaderboard=[] if tick == 0 and active else self.desk.leaderboard(),
                connected=self.connected,
                version=spec.version,
                pf=self._pf,
                partial=partial,
            ),
        )

    # -- lifecycle ---------------------------------------------------------------------------------------
    def _prefill(self, now_ms: int) -> None:
        """Invent finished games so the very first full message has a full ``gameHistory``."""
        count = self.config.history_prefill
        for i in range(count):
            at = now_ms - (count - i) * PREFILL_SPACING_MS
            spec = self._fresh.make(at)
            entry = self.stats.record_finished(spec, at, [])
            self.truth.add_prefilled(spec, at, entry)

    def _bots_act(self) -> list[Emission]:
        out: list[Emission] = []
        for player_id, event, payload in self.bots.decide(self.market):
            out.extend(self.desk.submit(player_id, event, payload, self._now_ms).emissions)
        return out

    def _run(self) -> Generator[Frame, None, None]:
        max_games = self.config.max_games
        while max_games is None or self.games_started < max_games:
            spec = self.feed.next_game(self._now_ms)
            if spec is None:
                break
            self.games_started += 1
            yield from self._play(spec)
        self.market.phase = Phase.IDLE

    def _play(self, spec: GameSpec) -> Generator[Frame, None, None]:
        mk = self.market
        mk.spec, mk.phase, mk.tick, mk.price = spec, Phase.COOLDOWN, 0, 1.0
        mk.timer = C.COOLDOWN_TIMER_START_MS
        self._post_rug_tick = 0
        self._wire_prices = [num(p) for p in spec.prices] + [num(spec.rug_price)]
        self._pf = M.provably_fair(spec)
        previous_trades = self.desk.trade_count  # the presale flip still shows the last game's count
        self.truth.begin_game(spec, self._now_ms)
        self.desk.begin_game(spec)
        yield Frame(
            [self._full(active=False, rugged=False, tick=0, partial=M.TICK0_PARTIAL)], COOLDOWN_STEP_S
        )
        for timer in range(
            C.COOLDOWN_TIMER_START_MS - COOLDOWN_STEP_MS, C.PRESALE_TIMER_START_MS, -COOLDOWN_STEP_MS
        ):
            mk.timer = timer
            yield Frame([self._minimal()], COOLDOWN_STEP_S)
        mk.phase, mk.timer = Phase.PRESALE, C.PRESALE_TIMER_START_MS
        flip = [self._tick_message(active=False, trades=previous_trades), self._minimal()]
        yield Frame(flip + self._bots_act(), COOLDOWN_STEP_S)
        for timer in range(C.PRESALE_TIMER_START_MS - COOLDOWN_STEP_MS, 0, -COOLDOWN_STEP_MS):
            mk.timer = timer
            yield Frame([self._minimal(), *self._bots_act()], COOLDOWN_STEP_S)
        # tick 0: the game starts (presale positions were filled at 1.0 when ordered)
        mk.phase, mk.timer, mk.tick, mk.price = Phase.ACTIVE, 0, 0, spec.price_at(0)
        start = [
            Emission("gameStateUpdate", M.tick0_slim(spec.game_id, self.connected, self._pf, spec.version)),
            self._full(active=True, rugged=False, tick=0, partial=M.TICK0_PARTIAL),
        ]
        yield Frame(start + self._bots_act(), TICK_S, True)
        for tick in range(1, spec.rug_tick):
            mk.tick, mk.price = tick, spec.prices[tick]
            out = [self._tick_message()]
            out += self.desk.expire_sidebets(self._now_ms)
            out += self._bots_act()
            yield Frame(out, TICK_S, True)
        # the rug: settle everyone first, then announce it
        mk.tick, mk.price = spec.rug_tick, spec.rug_price
        mk.phase = Phase.RUGGED
        settlement = self.desk.settle_rug(self._now_ms)
        yield Frame([*settlement, self._tick_message(rugged=True)], self.config.post_rug_delay_s, True)
        self._post_rug_tick = spec.rug_tick + self._rng.choice((1, 2))  # tickCount keeps counting
        rug_partial = M.partial_prices(self._wire_prices, spec.rug_tick)
        post = self._full(active=True, rugged=True, tick=self._post_rug_tick, partial=rug_partial)
        yield Frame([post], self.config.next_game_delay_s)
        entry = self.stats.record_finished(spec, self._now_ms, self.desk.global_sidebets())
        self.truth.finish_game(spec, self._now_ms, entry)
