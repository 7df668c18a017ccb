"""LedgerMirror: the player's account rebuilt with the rulebook's ledger from the server's own events, and
checked against the server's ``playerUpdate`` by the recorder's :class:`~recorder.verifier.StateVerifier`.

The socket broker owns one. It is fed, in the order the socket received them:

* the market's transitions (:mod:`rugs_env.live.market`): a new game opens the ledger's presale, a running
  tick moves its clock (an expired sidebet settles), a rug settles the sidebet and liquidates;
* the player's own fills: ``standard/newTrade`` (buys, sells, the forced sale at the rug),
  ``currentSidebet`` (a placement), ``currentSidebetResult`` (a settlement); each is applied at the
  trade's own tick and price (the clock is moved there first when the trade is ahead of it);
* ``playerUpdate``: the first one of a flat account creates the ledger with the server's cash; every one
  is matched with the ledger's recent states (late updates included, within ``patience`` ticks); one that
  matches none is drift, and the mirror stops the broker.

Every change to the ledger goes through :meth:`LedgerMirror.apply`, which records it while an order's fate
is unknown (:class:`~rugs_env.brokers.reconcile.Replayable`), so that the order can be reconciled later.
Where the wire states an amount the ledger computes too (a sale's proceeds), a difference of a few
lamports is taken from the wire (the server's truth: PROTOCOL.md §10.7) and counted; a larger one is kept
as computed and the verifier will judge.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from recorder.events import AccountUpdate, SidebetEvent, Trade
from recorder.verifier import AccountState, StateVerifier
from rugs_env.brokers.reconcile import Op, Replayable, account_state
from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_errors import LedgerError
from rugs_env.game.ledger_types import Fill, FillKind, Phase
from rugs_env.game.ledger_types import evolve as _evolve
from rugs_env.live.market import MarketTracker, Transition

log = logging.getLogger(__name__)
RECENT_STATES = 64  # ledger states kept for matching late playerUpdates
WIRE_ADOPT_MAX = 10  # lamports: a sale's proceeds that differ by at most this are taken from the wire
_OPEN = (Phase.PRESALE, Phase.ACTIVE)


@dataclass(slots=True)
class MirrorCounters:
    fills: int = 0
    liquidations: int = 0
    settlements: int = 0
    wire_mismatches: int = 0  # wire amounts that differ from the ledger's
    ledger_rejects: int = 0  # server fills the ledger refused (the verifier then sees drift)
    synthetic_closes: int = 0  # games left flat whose rug was never seen (nothing at stake)
    updates: int = 0


class LedgerMirror:
    """The ledger of the authenticated player, from the server's events (see the module docstring)."""

    def __init__(
        self,
        market: MarketTracker,
        *,
        tolerance: int = 0,
        patience: int = 8,
        on_halt: Callable[[str], None] = lambda reason: None,
        name: str = "",
    ) -> None:
        self.market = market
        self.ledger: Ledger | None = None
        self.verifier = StateVerifier(tolerance, patience, name=name)
        self.recent: deque[AccountState] = deque(maxlen=RECENT_STATES)
        self.counters = MirrorCounters()
        self.fills: list[Fill] = []  # confirmed fills not yet polled
        self.history: Replayable | None = None  # recording while an order's fate is unknown
        self.last_update: AccountUpdate | None = None
        self._on_halt = on_halt
        self.waiting_flat = False  # the server's account holds a position: wait for a flat one

    # -- the ledger --------------------------------------------------------------------------------------
    @property
    def ready(self) -> bool:
        return self.ledger is not None

    def apply(self, op: Op) -> list[Fill]:
        """Apply one change to the ledger (recorded while an order is being reconciled)."""
        assert self.ledger is not None
        fills = op.apply(self.ledger)
        if self.history is not None:
            self.history.ops.append(op)
        self._changed(fills)
        return fills

    def replace(self, ledger: Ledger, fills: list[Fill]) -> None:
        """Take a reconciled ledger (the history that explains the server's account)."""
        self.ledger = ledger
        self._changed(fills)

    def _changed(self, fills: list[Fill]) -> None:
        assert self.ledger is not None
        self.fills.extend(fills)
        self.counters.fills += len(fills)
        self.recent.append(account_state(self.ledger))

    def start_recording(self) -> None:
        assert self.ledger is not None
        self.history = Replayable(self.ledger.snapshot())

    def stop_recording(self) -> None:
        self.history = None

    def state(self) -> AccountState | None:
        return account_state(self.ledger) if self.ledger is not None else None

    # -- the market ----------------------------------------------------------------------------------------
    def on_transition(self, tr: Transition) -> None:
        ledger = self.ledger
        if ledger is None:
            return
        try:
            if tr.kind == "rug":
                if ledger.game_id == tr.game_id and ledger.phase in _OPEN:
                    self._rug(tr.tick, tr.price)
            elif tr.kind == "game":
                self._enter(tr.game_id)
            elif tr.kind == "tick":
                if ledger.game_id != tr.game_id:
                    self._enter(tr.game_id)
                if self.ledger is not None and self.ledger.game_id == tr.game_id:
                    if self.ledger.phase is Phase.PRESALE or (
                        self.ledger.phase is Phase.ACTIVE and tr.tick > self.ledger.tick
                    ):
                        self.apply(Op("on_tick", (tr.tick, tr.price)))
        except LedgerError as err:
            self.counters.ledger_rejects += 1
            log.warning("ledger refused the market's %s of %s: %s", tr.kind, tr.game_id, err)

    def _enter(self, game_id: str) -> None:
        """Open ``game_id`` (closing a game whose rug we never saw, if nothing was at stake in it)."""
        ledger = self.ledger
        assert ledger is not None
        if ledger.game_id == game_id:
            return
        if ledger.phase in _OPEN:
            rug = self.market.rug_of(ledger.game_id or "")
            if rug is not None:
                self._rug(*rug)
            elif ledger.position_qty == 0 and ledger.sidebet is None:
                # nothing at stake: the rug's tick and price change nothing in the account
                self.counters.synthetic_closes += 1
                self.apply(Op("rug", (max(1, ledger.tick), ledger.price)))
            else:
                self._on_halt(
                    f"missed the rug of game {ledger.game_id} with a position or sidebet open, and no rug "
                    "price to settle it with"
                )
                return
        self.apply(Op("open_game", (game_id,)))

    def _rug(self, tick: int, price: float) -> list[Fill]:
        assert self.ledger is not None
        tick = max(tick, self.ledger.tick, 1)
        fills = self.apply(Op("rug", (tick, price)))
        self.counters.settlements += sum(1 for f in fills if f.kind is not FillKind.LIQUIDATION)
        self.counters.liquidations += sum(1 for f in fills if f.kind is FillKind.LIQUIDATION)
        return fills

    def _clock_to(self, game_id: str, tick: int, price: float) -> None:
        """Bring the ledger to ``game_id`` and, for a fill ahead of its clock, to ``tick``."""
        if self.ledger is not None and self.ledger.game_id != game_id:
            self._enter(game_id)
        ledger = self.ledger
        assert ledger is not None
        if ledger.phase is Phase.ACTIVE and tick > ledger.tick:
            self.apply(Op("on_tick", (tick, price)))
        elif ledger.phase is Phase.PRESALE and tick > 0:
            self.apply(Op("on_tick", (tick, price)))

    # -- the player's fills --------------------------------------------------------------------------------
    def buy(self, trade: Trade) -> Fill | None:
        """The player's buy, at the trade's tick and price."""
        return self._fill(trade, Op("buy", (trade.amount,), (("tick", trade.tick), ("price", trade.price))))

    def sell(self, trade: Trade) -> Fill | None:
        """The player's own sale (not the forced one), of the trade's quantity."""
        fill = self._fill(trade, Op("sell_qty", (trade.qty,), (("tick", trade.tick), ("price", trade.price))))
        if fill is not None:
            self._adopt_wire(fill, trade.amount)
        return fill

    def liquidation(self, trade: Trade) -> list[Fill]:
        """The forced sale at the rug (tick and price of the trade are the rug's)."""
        ledger = self.ledger
        if ledger is None:
            return []
        try:
            if ledger.game_id != trade.game_id:
                self._enter(trade.game_id)
            if self.ledger is None or self.ledger.phase not in _OPEN:
                return []
            fills = self._rug(trade.tick, trade.price)
        except LedgerError as err:
            self.counters.ledger_rejects += 1
            log.warning("ledger refused the liquidation of %s: %s", trade.game_id, err)
            return []
        sold = [f for f in fills if f.kind is FillKind.LIQUIDATION]
        if sold:
            self._adopt_wire(sold[0], trade.amount)
        elif trade.qty:
            self.counters.wire_mismatches += 1  # the server sold tokens the ledger does not hold
        return fills

    def sidebet(self, bet: SidebetEvent) -> Fill | None:
        """The player's sidebet placement (``currentSidebet``)."""
        price = bet.price if bet.price is not None else self.market.price_at(bet.game_id, bet.start_tick)
        try:
            self._clock_to(bet.game_id, bet.start_tick, price if price is not None else 1.0)
            assert self.ledger is not None
            start = 0 if self.ledger.phase is Phase.PRESALE else bet.start_tick
            return self.apply(Op("place_sidebet", (bet.bet,), (("tick", start),)))[0]
        except LedgerError as err:
            self.counters.ledger_rejects += 1
            log.warning(
                "ledger refused the server's sidebet of %s at tick %d: %s", bet.game_id, bet.start_tick, err
            )
            return None

    def sidebet_result(self, bet: SidebetEvent) -> None:
        """The server's settlement of the player's sidebet: a win is the rug; a loss ends the window."""
        ledger = self.ledger
        if ledger is None or ledger.game_id != bet.game_id or ledger.phase not in _OPEN:
            return
        try:
            if bet.won:
                if bet.tick_index is not None and bet.price is not None:
                    self._rug(bet.tick_index, bet.price)
                return
            open_bet = ledger.sidebet
            if open_bet is None or open_bet.start_tick != bet.start_tick:
                return  # already settled by the clock
            tick = open_bet.end_tick + 1
            price = self.market.price_at(bet.game_id, tick) or bet.price or ledger.price
            if ledger.phase is Phase.ACTIVE and tick >= ledger.tick:
                self.apply(Op("on_tick", (tick, price)))
        except LedgerError as err:
            self.counters.ledger_rejects += 1
            log.warning("ledger refused the sidebet result of %s: %s", bet.game_id, err)

    def _fill(self, trade: Trade, op: Op) -> Fill | None:
        try:
            if self.ledger is None:
                return None
            self._clock_to(trade.game_id, trade.tick, trade.price)
            return self.apply(op)[0]
        except LedgerError as err:
            self.counters.ledger_rejects += 1
            log.warning(
                "ledger refused the server's %s in %s at tick %d: %s",
                trade.kind,
                trade.game_id,
                trade.tick,
                err,
            )
            return None

    def _adopt_wire(self, fill: Fill, wire_amount: int) -> None:
        """A sale whose proceeds on the wire differ from the ledger's: within a few lamports, the wire's."""
        diff = wire_amount - fill.amount
        if not diff:
            return
        self.counters.wire_mismatches += 1
        if abs(diff) > WIRE_ADOPT_MAX or self.ledger is None:
            return
        s = self.ledger.snapshot()
        self.ledger = Ledger.restore(_evolve(s, cash=s.cash + diff, realised_pnl=s.realised_pnl + diff))
        if self.history is not None:  # a restore cannot be replayed: the reconciliation starts from here
            self.history = Replayable(self.ledger.snapshot())
        self.recent.append(account_state(self.ledger))

    # -- the server's account ------------------------------------------------------------------------------
    def on_update(self, update: AccountUpdate, payload: Any) -> None:
        """A ``playerUpdate``: creates the ledger from a flat account, else is queued for the verifier."""
        self.counters.updates += 1
        self.last_update = update
        if self.ledger is None:
            flat = not update.position_qty and not update.avg_cost
            bet = payload.get("sideBet") if isinstance(payload, dict) else None
            if not flat or bet:
                self.waiting_flat = True
                return
            self.waiting_flat = False
            self._create(update.cash)
            return
        self.verifier.observe(
            AccountState(update.cash, update.position_qty or 0, update.avg_cost or 0),
            self.market.clock,
            f"update #{self.counters.updates}",
        )

    def _create(self, cash: int) -> None:
        self.ledger = Ledger(cash)
        mk = self.market
        if mk.game_id is not None and mk.phase.value in ("cooldown", "presale", "active", "unknown"):
            self.ledger.open_game(mk.game_id)
            if mk.phase.value == "active":
                self.ledger.on_tick(mk.tick, mk.price)
        self.recent.append(account_state(self.ledger))
        log.info("account synced with the server: cash %d lamports", cash)

    def verify(self, *, final: bool = False) -> int:
        """Match pending server updates with the ledger's recent states; returns the new drifts."""
        if self.ledger is None or not self.verifier.pending:
            return 0
        drifts = self.verifier.resolve(list(self.recent), self.market.clock, final=final)
        if drifts:
            self._on_halt(
                f"drift: the server's account differs from the ledger by up to {self.verifier.max_drift} "
                f"units (lamports or nano-tokens) after {self.verifier.patience} ticks"
            )
        return drifts

    def matches(self, state: AccountState) -> bool:
        """Whether the ledger's current state is the server's ``state`` (within tolerance)."""
        mine = self.state()
        return mine is not None and mine.distance(state) <= self.verifier.tolerance


__all__ = ["LedgerMirror", "MirrorCounters", "RECENT_STATES", "WIRE_ADOPT_MAX"]
