"""Reconciling an order whose fate is unknown with the server's own account of the player.

When an order's acknowledgement is lost (a timeout, a disconnect in the middle of the order), the socket
broker does not know whether the server executed it, nor at which tick. It never sends it again; instead it
remembers the ledger as it was when the order left (:class:`Replayable`: a snapshot plus every operation
applied to the ledger since) and, when the server states the account (a ``playerUpdate``), asks
:func:`reconcile` which history explains it:

* *filled at tick t*: the order inserted into the history at the point where the ledger's clock was at
  ``t`` (every tick from the one the order left at to the present, at the price the feed showed for it),
  the rest of the history replayed after it (a sidebet settled, a liquidation at the rug...);
* *not filled*: the history as it is.

The candidates are compared with the server's cash, position and average cost (:class:`AccountState`, in
1e-9 units, within ``tolerance``). "Not filled" is only a valid answer for an update known to be *fresh*
(sent by the server after it handled the order: the reply to a re-authentication); any update may prove a
fill. Nothing is guessed: when no candidate matches, :func:`reconcile` says so and the broker stops
trading.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from recorder.verifier import AccountState
from rugs_env.brokers.base import Order, execute_order
from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_errors import LedgerError
from rugs_env.game.ledger_math import avg_cost_nano
from rugs_env.game.ledger_types import Fill, LedgerState, Phase

PriceAt = Callable[[str, int], "float | None"]
MAX_CANDIDATE_TICKS = 20_000  # a bound on the work (an order unresolved for longer is not reconciled)


def account_state(ledger: Ledger) -> AccountState:
    """The numbers a ``playerUpdate`` carries, from a ledger (cash, position, 9-decimal average cost)."""
    return AccountState(ledger.cash, ledger.position_qty, avg_cost_nano(ledger.avg_price))


@dataclass(frozen=True, slots=True)
class Op:
    """One change applied to the ledger: ``kind`` is a Ledger method, ``args``/``kwargs`` its arguments."""

    kind: str  # open_game | on_tick | rug | buy | sell | sell_qty | place_sidebet
    args: tuple = ()
    kwargs: tuple[tuple[str, object], ...] = ()

    def apply(self, ledger: Ledger) -> list[Fill]:
        result = getattr(ledger, self.kind)(*self.args, **dict(self.kwargs))
        if result is None:
            return []
        return result if isinstance(result, list) else [result]

    @property
    def tick(self) -> int | None:
        if self.kind in ("on_tick", "rug"):
            return self.args[0]
        return None


@dataclass(slots=True)
class Replayable:
    """The ledger as an order left it, and every operation applied since (see the module docstring)."""

    start: LedgerState
    ops: list[Op] = field(default_factory=list)


@dataclass(slots=True)
class Candidate:
    """A history that explains the server's account: ``fill`` is the order's (None: not filled)."""

    ledger: Ledger
    fill: Fill | None
    tick: int | None
    state: AccountState


def _replay(
    history: Replayable, order: Order, at: int, tick: int | None, price: float | None
) -> tuple[Ledger, Fill] | None:
    """The history with ``order`` executed before op ``at`` (after moving the clock to ``tick``)."""
    ledger = Ledger.restore(history.start)
    fill: Fill | None = None
    try:
        for i, op in enumerate([*history.ops, None]):
            if i == at:
                if (
                    tick is not None
                    and price is not None
                    and ledger.phase is Phase.ACTIVE
                    and tick > ledger.tick
                ):
                    ledger.on_tick(tick, price)
                fill = execute_order(ledger, order)
            if op is not None:
                op.apply(ledger)
    except LedgerError:
        return None
    return (ledger, fill) if fill is not None else None


def compressed(ops: list[Op]) -> list[Op]:
    """``ops`` without the clock moves that another clock move follows at once: the account after them is
    the same (a sidebet that expired is settled by the later move just as well), and the ticks in between
    stay candidates (their prices come from the feed)."""
    out: list[Op] = []
    for op in ops:
        if op.kind == "on_tick" and out and out[-1].kind == "on_tick":
            out[-1] = op
        else:
            out.append(op)
    return out


def candidates(history: Replayable, order: Order, game_id: str, price_at: PriceAt) -> list[Candidate]:
    """Every way the order may have been filled (earliest first), then "not filled" last."""
    history = Replayable(history.start, compressed(history.ops))
    out: list[Candidate] = []
    probe = Ledger.restore(history.start)
    work = 0
    for at, op in enumerate([*history.ops, None]):
        if probe.game_id == game_id and probe.phase in (Phase.PRESALE, Phase.ACTIVE):
            # the clock now; ticks the feed skipped until the next clock move are candidates too
            ticks: list[tuple[int | None, float | None]] = [(None, None)]
            if probe.phase is Phase.ACTIVE:
                nxt = op.tick if op is not None and op.tick is not None else None
                last = nxt - 1 if nxt is not None else probe.tick
                for t in range(probe.tick + 1, last + 1):
                    p = price_at(game_id, t)
                    if p is not None:
                        ticks.append((t, p))
            for tick, price in ticks:
                work += 1
                if work > MAX_CANDIDATE_TICKS:
                    break
                found = _replay(history, order, at, tick, price)
                if found is not None:
                    ledger, fill = found
                    out.append(Candidate(ledger, fill, fill.tick, account_state(ledger)))
        if op is not None:
            try:
                op.apply(probe)
            except LedgerError:
                break
    ledger = Ledger.restore(history.start)
    try:
        for op in history.ops:
            op.apply(ledger)
        out.append(Candidate(ledger, None, None, account_state(ledger)))
    except LedgerError:
        pass
    return out


def reconcile(
    history: Replayable,
    order: Order,
    game_id: str,
    server: AccountState,
    price_at: PriceAt,
    *,
    fresh: bool,
    tolerance: int = 0,
) -> Candidate | None:
    """The history that explains ``server`` (see the module docstring), or None when none does (yet).

    With ``fresh`` false, "not filled" is never the answer (the update may predate the order's execution).
    """
    for cand in candidates(history, order, game_id, price_at):
        if cand.fill is None and not fresh:
            continue
        if cand.state.distance(server) <= tolerance:
            return cand
    return None


__all__ = [
    "Candidate",
    "Op",
    "Replayable",
    "account_state",
    "candidates",
    "compressed",
    "reconcile",
]
