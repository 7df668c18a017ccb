"""Replaying one followed player's inputs of one game through the rulebook's ledger.

The feed tells us *what* a player did (trades from ``standard/newTrade``, sidebets from ``newSideBet``,
``currentSidebet`` or, after the game, ``gameHistory[].globalSidebets``), but not always in order and not
always at once: public sidebets are only known when the game is revealed, a trade can arrive after the next
tick, and the rug's settlement (sidebet result, forced sale) precedes the rug message. So a game's actions
are not appended one by one; they are *re-derived* from everything known about that game, every time
something new is learnt, by :func:`replay_game`: open the game on the account as the previous game left it,
apply the inputs in game order (tick, then the server's order, :mod:`recorder.arrival_order`), settle a lost
sidebet at the tick its window ends (``end + 1``), and at the rug settle the sidebet and liquidate the
position (``Ledger.rug``). The ledger, not the wire, gives every ``balance_after``, ``position_qty_after``,
``entry_price`` and ``pnl``; where the wire states an amount too (a sell's proceeds, a forced sale, a sidebet
result) it is compared and a difference is counted.

The internal ledger runs with a large cash headroom (:data:`HEADROOM`), so it never refuses a trade the
server executed just because we do not know the player's real balance; balances are shifted back when the
session file is written (see :mod:`recorder.sessions`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from recorder.arrival_order import in_server_order
from recorder.board_check import Unexplained, first_missed_trade
from recorder.files import ActionKind, SessionAction
from recorder.session_inputs import GameInputs, Input
from recorder.verifier import AccountState
from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_errors import LedgerError
from rugs_env.game.ledger_math import blend_avg_price, buy_qty
from rugs_env.game.ledger_types import Fill, FillKind, LedgerState, Phase
from rugs_env.game.money import nano_str, to_nano_rounded

HEADROOM = 10**18  # lamports added to every internal balance (a billion SOL)
MAX_MISSED_PER_GAME = 8  # trades put back from the leaderboard in one game, at most
PriceAt = Callable[[str, int], float | None]
log = logging.getLogger(__name__)


@dataclass(slots=True)
class ActionRecord:
    """A ledger fill with what the session file needs besides it."""

    fill: Fill
    at: datetime
    fraction: float | None = None
    trade_id: str | None = None
    inferred: bool = False
    wire_amount: int | None = None  # the wire's amount when it differs from the ledger's

    def account(self) -> AccountState:
        f = self.fill
        return AccountState(f.cash_after - HEADROOM, f.position_qty_after, to_nano_rounded(f.avg_cost_after))


@dataclass(slots=True)
class ReplayResult:
    actions: list[ActionRecord]
    end: LedgerState
    rejects: int = 0
    mismatches: int = 0
    inferred: int = 0
    shortfall: int = 0  # nano-tokens sold beyond what the player was seen to hold
    board_mismatches: int = 0  # leaderboard rows no single missed trade explains (board_check)
    timeline: list[tuple[int, LedgerState]] = field(default_factory=list)  # (from tick, state) per input


def account_of(state: LedgerState) -> AccountState:
    """The playerUpdate numbers of a ledger state."""
    from rugs_env.game.ledger_math import avg_cost_nano

    return AccountState(state.cash - HEADROOM, state.position_qty, avg_cost_nano(state.avg_price))


class _Replay:
    def __init__(
        self,
        start: LedgerState,
        game: GameInputs,
        price_at: PriceAt,
        time_at: Callable[[str, int], datetime | None],
        entry_guess: Callable[[], tuple[int, float]],
    ) -> None:
        self.ledger = Ledger.restore(start)
        self.game = game
        self.price_at = price_at
        self.time_at = time_at
        self._entry_guess = entry_guess
        self._guess: tuple[int, float] | None = None
        self.out: list[ActionRecord] = []
        self.rejects = self.mismatches = self.inferred = self.shortfall = 0
        self.last_at: datetime | None = None
        self._settling_start = -1  # start tick of the sidebet being settled (to compare with the server's)

    @property
    def entry_guess(self) -> tuple[int, float]:
        if self._guess is None:
            self._guess = self._entry_guess()
        return self._guess

    def _record(self, fills: list[Fill], at: datetime, **extra: object) -> None:
        for fill in fills:
            if fill.kind in (FillKind.SIDEBET_WIN, FillKind.SIDEBET_LOSE):
                won = self.game.results.get(self._settling_start)
                if won is not None and won != (fill.kind is FillKind.SIDEBET_WIN):
                    self.mismatches += 1
            self.out.append(ActionRecord(fill, at, **extra))  # type: ignore[arg-type]

    def _expire(self, upto: int, at: datetime) -> None:
        """Settle a sidebet lost before tick ``upto`` at the tick its window ended (end + 1)."""
        bet = self.ledger.sidebet
        if bet is None or bet.end_tick + 1 >= upto:
            return
        tick = bet.end_tick + 1
        price = self.price_at(self.game.game_id, tick)
        if price is None:
            return  # settled by the next clock move instead
        self._settling_start = bet.start_tick
        self._record(self.ledger.on_tick(tick, price), self.time_at(self.game.game_id, tick) or at)

    def _advance(self, tick: int, price: float | None, at: datetime, kind: str) -> None:
        ledger = self.ledger
        # A sell at tick 0 happened in the running game (presale positions cannot be sold): tick 0 started.
        moving = tick > ledger.tick or (ledger.phase is Phase.PRESALE and (tick > 0 or kind == "sell"))
        if not moving:
            return
        price = price if price is not None else self.price_at(self.game.game_id, tick)
        if price is None:
            return
        bet = ledger.sidebet
        if bet is not None:
            self._settling_start = bet.start_tick
        self._record(ledger.on_tick(tick, price), at)

    def _infer_position(self, missing: int, at: datetime, tick: int, price: float) -> None:
        """Tokens the player holds without our having seen them bought: an inferred buy (flagged)."""
        s = self.ledger.snapshot()
        cost = (missing * to_nano_rounded(price) + 10**9 // 2) // 10**9
        state = replace(
            s,
            cash=s.cash - cost,
            position_qty=s.position_qty + missing,
            cost_basis=s.cost_basis + cost,
            avg_price=blend_avg_price(s.avg_price, s.position_qty, price, missing),
            total_invested=s.total_invested + cost,
        )
        self.ledger = Ledger.restore(state)
        from rugs_env.game.ledger_steps import make_fill

        self.out.append(
            ActionRecord(make_fill(state, FillKind.BUY, tick, price, cost, missing), at, inferred=True)
        )
        self.inferred += 1

    def _apply(self, inp: Input) -> None:
        ledger = self.ledger
        self.inferred += inp.inferred
        price = inp.price if inp.price is not None else self.price_at(inp.game_id, inp.tick)
        if inp.kind == "open":
            self._infer_position(inp.qty, inp.at, inp.tick, price if price is not None else 1.0)
        elif inp.kind == "buy":
            fill = ledger.buy(inp.amount, tick=inp.tick, price=price)
            wire = inp.amount if inp.amount != fill.amount else None
            self.out.append(
                ActionRecord(fill, inp.at, trade_id=inp.trade_id, inferred=inp.inferred, wire_amount=wire)
            )
        elif inp.kind == "sell":
            if inp.qty > ledger.position_qty:
                missing = inp.qty - ledger.position_qty
                self.shortfall += missing
                tick, guess = self.entry_guess
                self._infer_position(missing, inp.at, min(tick, ledger.tick), guess)
                ledger = self.ledger
            held = ledger.position_qty
            fill = ledger.sell_qty(inp.qty, tick=inp.tick, price=price)
            wire = inp.amount if inp.amount != fill.amount else None
            if wire is not None:
                self.mismatches += 1
            self.out.append(
                ActionRecord(
                    fill, inp.at, inp.qty / held, inp.trade_id, inferred=inp.inferred, wire_amount=wire
                )
            )
        elif inp.kind == "sidebet":
            fill = ledger.place_sidebet(inp.amount, tick=inp.tick)
            if price is not None and fill.price != price:  # the clock's price; the tick's own is better
                fill = replace(fill, price=price)
            self.out.append(ActionRecord(fill, inp.at))

    def run(self, current_tick: int | None, opening: int = 0, extra: Sequence[Input] = ()) -> ReplayResult:
        game = self.game
        self.ledger.open_game(game.game_id)
        timeline = [(0, self.ledger.snapshot())]
        rug_tick = game.rug[0] if game.rug is not None else None
        inputs = [*game.inputs, *extra]
        if opening and inputs:
            tick, price = self.entry_guess
            first = min(inputs, key=lambda i: (i.tick, i.order))
            at = self.time_at(game.game_id, tick) or first.at
            inputs.append(Input("open", game.game_id, tick, price, 0, opening, at, (-1, -1)))
        for inp in in_server_order(inputs):
            self.last_at = inp.at
            if rug_tick is not None and inp.tick >= rug_tick:
                continue  # settlement records (forced sales) are the rug's business
            try:
                self._expire(inp.tick, inp.at)
                self._advance(inp.tick, inp.price, inp.at, inp.kind)
                self._apply(inp)
            except LedgerError:
                self.rejects += 1
            timeline.append((inp.tick + 1, self.ledger.snapshot()))  # a tick's rows precede its trades
        if game.rug is not None:
            tick, price, at = game.rug
            self._expire(tick, at)
            bet = self.ledger.sidebet
            if bet is not None:
                self._settling_start = bet.start_tick
            try:
                fills = self.ledger.rug(tick, price)
            except LedgerError:
                self.rejects += 1
                fills = []
            self._record(fills, at)
            sold = [f.amount for f in fills if f.kind is FillKind.LIQUIDATION]
            if game.forced_sales and sold and game.forced_sales[-1] != sold[0]:
                self.mismatches += 1
        elif current_tick is not None:
            self._expire(current_tick + 1, self.last_at or _epoch())
        return ReplayResult(
            self.out,
            self.ledger.snapshot(),
            self.rejects,
            self.mismatches,
            self.inferred,
            self.shortfall,
            timeline=timeline,
        )


def _epoch() -> datetime:
    from datetime import UTC

    return datetime(1970, 1, 1, tzinfo=UTC)


def replay_game(
    start: LedgerState,
    game: GameInputs,
    price_at: PriceAt,
    time_at: Callable[[str, int], datetime | None],
    *,
    entry_guess: Callable[[], tuple[int, float]] = lambda: (0, 1.0),
    current_tick: int | None = None,
) -> ReplayResult:
    """Re-derive the player's actions in ``game`` from ``start`` (the account after the previous game).

    ``price_at(game_id, tick)`` gives a tick's price when known (for settling a sidebet at the tick its
    window ends); ``time_at`` its time. ``entry_guess()`` gives the (tick, price) assumed for tokens the
    player sells without our having seen them bought: such tokens become one inferred buy at that tick,
    before the player's other actions (a second pass puts it there). ``current_tick`` is how far a running
    game got. A finished game with leaderboard rows is checked against them, and trades no connection
    delivered are put back (:mod:`recorder.board_check`).
    """
    if start.phase in (Phase.PRESALE, Phase.ACTIVE):  # the previous game never rugged in our view
        start = replace(start, phase=Phase.RUGGED, position_qty=0, cost_basis=0, avg_price=0.0, sidebet=None)

    def run(opening: int = 0, extra: Sequence[Input] = ()) -> ReplayResult:
        return _Replay(start, game, price_at, time_at, entry_guess).run(current_tick, opening, extra)

    result = run()
    missed: list[Input] = []
    unexplained = 0
    # A finished game is checked against the leaderboard: trades no connection delivered are put back.
    # Rows by tick (connections lag differently, so rows arrive out of order), not the rug's (liquidation).
    rug_tick = game.rug[0] if game.rug is not None else None
    rows = (
        sorted((r for r in game.rows if rug_tick is None or r[0] < rug_tick), key=lambda r: r[0])
        if game.final
        else []
    )
    for _ in range(MAX_MISSED_PER_GAME if rows else 0):
        try:
            found = first_missed_trade(game.game_id, rows, result.timeline, price_at, time_at)
        except Unexplained as why:
            log.debug("leaderboard row unexplained: %s", why)
            unexplained = 1
            break
        if found is None:
            break
        _add_missed(missed, found)
        result = run(extra=missed)
    if result.shortfall:
        result = run(result.shortfall, missed)
    result.board_mismatches = unexplained
    return result


def _add_missed(missed: list[Input], found: Input) -> None:
    """Add a trade put back; a buy at the tick and price of the last one put back joins it when the sum
    buys exactly the tokens of both (a row shows only the total: one buy is the plainer account)."""
    last = missed[-1] if missed else None
    if (
        last is not None
        and found.kind == last.kind == "buy"
        and (found.tick, found.price) == (last.tick, last.price)
    ):
        amount = last.amount + found.amount
        if last.price is not None and buy_qty(amount, last.price) == last.qty + found.qty:
            missed[-1] = replace(last, amount=amount, qty=last.qty + found.qty)
            return
    missed.append(found)


FILL_ACTIONS: dict[FillKind, ActionKind] = {  # the session file's action for each ledger fill
    FillKind.BUY: ActionKind.BUY,
    FillKind.SELL: ActionKind.SELL,
    FillKind.SIDEBET_PLACE: ActionKind.SIDEBET_PLACE,
    FillKind.SIDEBET_WIN: ActionKind.SIDEBET_WIN,
    FillKind.SIDEBET_LOSE: ActionKind.SIDEBET_LOSE,
    FillKind.LIQUIDATION: ActionKind.LIQUIDATION,
}
BET_FILLS = (FillKind.SIDEBET_PLACE, FillKind.SIDEBET_WIN, FillKind.SIDEBET_LOSE)
# Every action sets every field: one set of their names for all of them (pydantic builds a ~730-byte set per
# model otherwise, the largest part of an action kept in memory; the models are frozen, nothing changes it).
_ALL_FIELDS = set(SessionAction.model_fields)


def to_action(record: ActionRecord, shift: int) -> SessionAction:
    """The session file's action for a fill; balances are internal minus the headroom and ``shift``.

    Built without validation (the cost of a long session's rewrites): the file is validated as a whole when
    it is written."""
    f = record.fill
    extra: dict[str, object] = {}
    if record.inferred:
        extra["inferred"] = True
    if record.wire_amount is not None:
        extra["wire_amount"] = nano_str(record.wire_amount)
    return SessionAction.model_construct(
        _ALL_FIELDS,
        game_id=f.game_id,
        tick=f.tick,
        timestamp=record.at,
        action=FILL_ACTIONS[f.kind],
        amount=f.amount,
        price=f.price,
        balance_after=f.cash_after - HEADROOM - shift,
        position_qty_after=f.position_qty_after,
        entry_price=f.avg_cost_after if f.position_qty_after else None,
        pnl=f.game_pnl_after,
        qty=f.qty if f.kind not in BET_FILLS else None,
        fraction=record.fraction,
        trade_id=record.trade_id,
        **extra,
    )
