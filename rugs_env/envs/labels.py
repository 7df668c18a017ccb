"""Demonstration labels: a human's recorded actions as table actions, and how faithful that is.

:func:`label_actions` maps one player's actions in one game to one table action per episode step (step 0 is
the presale, step ``t + 1`` the decision after seeing tick ``t``; hold where the player did nothing):

* ``BUY`` / ``SIDEBET_PLACE`` of amount ``A``: the table size equal to ``A`` (exact), else the nearest size
  in log terms (not exact). A tick-0 buy or sidebet executed at 1.0 like a presale one, so it takes the
  presale step (then tick 0's step if the player did two things at tick 0).
* ``SELL`` of ``q`` tokens from a position of ``P``: the table fraction ``f`` with ``floor(P * f) == q``
  (exact), else the fraction nearest ``q / P`` (not exact).
* settlements (``SIDEBET_WIN``/``SIDEBET_LOSE``/``LIQUIDATION``) are not decisions and are skipped; a second
  decision in a step already taken cannot be represented (counted as not exact, dropped).
* actions the recorder marked ``"inferred": true`` (reconstructed, e.g. a buy made before the capture began)
  are labelled like the others, so that the replayed position is right, but are not counted as decisions.

:func:`label_fidelity` reports, over a folder of recordings, the share of human actions the table represents
exactly and, per player and game, the human's recorded PnL against the PnL of replaying the labels through the
ledger (from the player's starting balance plus ``REPLAY_HEADROOM``), relative to the SOL the player traded
(bought + sold + staked).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from recorder.files import ActionKind, SessionAction
from rugs_env.envs.games import GameStore, load_store
from rugs_env.envs.spec import BUY, DEFAULT_TABLE, SELL, SIDEBET, ActionTable
from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_errors import LedgerError
from rugs_env.game.ledger_math import fraction_qty

DECISIONS = (ActionKind.BUY, ActionKind.SELL, ActionKind.SIDEBET_PLACE)
# Recorded balances may be lower bounds (the sample's sessions say ``"balance_basis": "minimal"``): the labels
# are replayed with this much more cash, so that a table size a little above the human's amount is not
# refused for want of cash the player really had. Cash changes no PnL otherwise.
REPLAY_HEADROOM = 100 * 10**9


@dataclass
class LabelResult:
    """Labels of one player in one game: ``actions[step]`` and the fate of each human decision."""

    actions: np.ndarray  # int64, one per step (0 = presale), hold where none
    n_decisions: int = 0
    n_exact: int = 0
    n_collisions: int = 0
    n_inferred: int = 0  # reconstructed actions: labelled, but not counted as decisions
    starts_flat: bool = True  # False: the player held tokens from before the recording


def _nearest(sizes: Sequence[int], amount: int) -> int:
    return min(range(len(sizes)), key=lambda i: abs(math.log(sizes[i] / amount)))


def _label_one(a: SessionAction, pos_before: int, table: ActionTable) -> tuple[int, bool]:
    kinds, lam = table.kinds, table.lamports
    if a.action is ActionKind.SELL:
        ids = [i for i in range(table.n) if kinds[i] == SELL]
        sold = a.qty if a.qty is not None else pos_before - a.position_qty_after
        for i in ids:
            if pos_before > 0 and fraction_qty(pos_before, float(table.fractions[i])) == sold:
                return i, True
        target = sold / pos_before if pos_before > 0 else 1.0
        return min(ids, key=lambda i: abs(float(table.fractions[i]) - target)), False
    kind = BUY if a.action is ActionKind.BUY else SIDEBET
    ids = [i for i in range(table.n) if kinds[i] == kind]
    for i in ids:
        if int(lam[i]) == a.amount:
            return i, True
    return ids[_nearest([int(lam[i]) for i in ids], a.amount)], False


def label_actions(actions: Sequence[SessionAction], table: ActionTable, steps: int) -> LabelResult:
    """Labels for ``steps`` episode steps from one player's actions in one game (see the module docstring)."""
    out = LabelResult(actions=np.zeros(steps, dtype=np.int64))
    pos = 0
    seen_buy = False
    for a in actions:
        if a.action not in DECISIONS:
            pos = a.position_qty_after
            continue
        inferred = is_inferred(a)
        out.n_decisions += not inferred
        out.n_inferred += inferred
        if a.action is ActionKind.SELL:
            pos_before = a.position_qty_after + (a.qty if a.qty is not None else 0)
            if a.qty is None:
                pos_before = pos
            if not seen_buy and pos_before > 0:
                out.starts_flat = False
        else:
            pos_before = pos
            if a.action is ActionKind.BUY:
                seen_buy = True
                if a.qty is not None and a.position_qty_after > pos + a.qty and pos == 0:
                    out.starts_flat = False
        label, exact = _label_one(a, pos_before, table)
        pos = a.position_qty_after
        step = a.tick + 1
        if a.tick == 0 and a.action is not ActionKind.SELL and out.actions[0] == 0:
            step = 0
        if step >= steps or out.actions[step] != 0:
            out.n_collisions += 1
            continue
        out.actions[step] = label
        out.n_exact += int(exact and not inferred)
    return out


def is_inferred(action: SessionAction) -> bool:
    """True for an action the recorder inferred (e.g. a buy made before the capture began, reconstructed
    from the position first seen): the label keeps the position right, but it is not an observed decision."""
    return action.extra_fields.get("inferred") is True


def replay_labels(labels: np.ndarray, prices: Sequence[float], cash: int, table: ActionTable, *,
                  game_id: str = "replay", stop_step: int | None = None) -> tuple[int, int]:  # fmt: skip
    """Replay per-step labels on a game (rug price last) from ``cash``; ``(pnl lamports, rejected orders)``.

    The PnL is the game's PnL after the rug, or, with ``stop_step``, right after that step's action, marked at
    its price (what a session action's ``pnl`` records).
    """
    ledger = Ledger(cash)
    ledger.open_game(game_id)
    rejected = 0
    rug = len(prices) - 1
    for step, action in enumerate(labels[: rug + 1]):
        order = table.orders[int(action)]
        if order is not None:
            try:
                if order.kind == "buy":
                    ledger.buy(order.amount)
                elif order.kind == "sell":
                    ledger.sell(order.fraction)
                else:
                    ledger.place_sidebet(order.amount)
            except LedgerError:
                rejected += 1
        if step == stop_step:
            return ledger.pnl(), rejected
        if step < rug:
            ledger.on_tick(step, prices[step])
    ledger.rug(rug, prices[rug])
    return ledger.pnl(), rejected


@dataclass
class GameFidelity:
    """One player in one game."""

    game_id: str
    player: str
    decisions: int
    exact: int
    collisions: int
    starts_flat: bool
    traded: int  # lamports bought + sold + staked
    human_pnl: int | None  # the recorded PnL at the player's last recorded action in the game
    label_pnl: int | None  # the labels' PnL replayed from the player's starting balance, at the same point
    rejected: int = 0

    @property
    def pnl_gap(self) -> float | None:
        """``|label PnL - human PnL| / traded``, or None when not comparable."""
        if self.human_pnl is None or self.label_pnl is None or not self.traded:
            return None
        return abs(self.label_pnl - self.human_pnl) / self.traded


@dataclass
class FidelityReport:
    """Label fidelity over a set of recordings (:func:`label_fidelity`)."""

    table: ActionTable
    games: list[GameFidelity] = field(default_factory=list)

    @property
    def decisions(self) -> int:
        return sum(g.decisions for g in self.games)

    @property
    def exact(self) -> int:
        return sum(g.exact for g in self.games)

    @property
    def exact_share(self) -> float:
        """Share of the human decisions the table represents exactly."""
        return self.exact / self.decisions if self.decisions else 1.0

    def summary(self) -> str:
        """A readable table of the report."""
        lines = [
            f"label fidelity: {self.exact}/{self.decisions} human actions exact "
            f"({100 * self.exact_share:.1f} %) with {self.table.n} actions",
            f"{'game':26} {'player':14} {'acts':>4} {'exact':>5} {'traded':>9} {'human pnl':>11} "
            f"{'label pnl':>11} {'gap %':>6}",
        ]
        for g in self.games:
            gap = "n/a" if g.pnl_gap is None else f"{100 * g.pnl_gap:.2f}"
            hp = "n/a" if g.human_pnl is None else f"{g.human_pnl / 1e9:+.6f}"
            lp = "n/a" if g.label_pnl is None else f"{g.label_pnl / 1e9:+.6f}"
            note = "" if g.starts_flat else "  (position from before the recording)"
            lines.append(
                f"{g.game_id:26} {g.player[:14]:14} {g.decisions:4d} {g.exact:5d} {g.traded / 1e9:9.4f} "
                f"{hp:>11} {lp:>11} {gap:>6}{note}"
            )
        return "\n".join(lines)


def _starting_cash(actions: Sequence[SessionAction]) -> int | None:
    for a in actions:
        if a.action in (ActionKind.BUY, ActionKind.SIDEBET_PLACE):
            return a.balance_after + a.amount
        if a.action is ActionKind.SELL:
            return a.balance_after - a.amount
    return None


def game_fidelity(store: GameStore, game_id: str, player: str, table: ActionTable) -> GameFidelity:
    """Fidelity of one player's labels in one game of ``store``."""
    prices = store.game_prices(store.index_of(game_id)).tolist()
    actions = store.demo(game_id, player)
    res = label_actions(actions, table, len(prices) + 1)
    traded = sum(a.amount for a in actions if a.action in DECISIONS)
    decisions = [a for a in actions if a.action in DECISIONS]  # inferred ones included: they move money
    human = actions[-1].pnl if actions else None
    label_pnl = rejected = None
    cash = _starting_cash(actions)
    if res.starts_flat and cash is not None and decisions:
        cash += REPLAY_HEADROOM
        last = actions[-1]
        # compare where the session's last record is: a decision's step, or the rug (a settlement)
        stop = None if last.action not in DECISIONS else max(int(np.flatnonzero(res.actions)[-1]), 0)
        label_pnl, rejected = replay_labels(res.actions, prices, cash, table, game_id=game_id, stop_step=stop)
    return GameFidelity(
        game_id=game_id, player=player, decisions=res.n_decisions, exact=res.n_exact,
        collisions=res.n_collisions, starts_flat=res.starts_flat, traded=traded, human_pnl=human,
        label_pnl=label_pnl, rejected=rejected or 0,
    )  # fmt: skip


def label_fidelity(
    source: str | Path | Sequence[str | Path] | GameStore | None = None, table: ActionTable | None = None
) -> FidelityReport:
    """Label fidelity of every recorded (player, game) of ``source`` (default ``datasets/sample/``)."""
    store = source if isinstance(source, GameStore) else load_store(source)
    table = table or DEFAULT_TABLE
    report = FidelityReport(table)
    for gid in store.game_ids:
        for player in store.players(gid):
            report.games.append(game_fidelity(store, gid, player, table))
    return report


def fit_table(store: GameStore, *, sell_fractions: Sequence[float] = (0.1, 0.25, 0.5, 1.0)) -> ActionTable:
    """A table holding every buy and sidebet amount the recorded humans used (exact labels for those;
    amounts of inferred actions are not amounts anyone typed and are left out)."""
    acts = [a for p in store.sessions.values() for acts in p.values() for a in acts if not is_inferred(a)]
    buys = sorted({a.amount for a in acts if a.action is ActionKind.BUY})
    bets = sorted({a.amount for a in acts if a.action is ActionKind.SIDEBET_PLACE})
    return ActionTable(
        buy_sizes=tuple(b / 1e9 for b in buys) or DEFAULT_TABLE.buy_sizes,
        sell_fractions=tuple(sell_fractions),
        sidebet_sizes=tuple(b / 1e9 for b in bets) or DEFAULT_TABLE.sidebet_sizes,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m rugs_env.envs.labels [FOLDER] [--fitted]``: print the fidelity report."""
    import argparse

    parser = argparse.ArgumentParser(description="Label fidelity of the recorded human sessions.")
    parser.add_argument("source", nargs="?", default=None, help="recordings (default: datasets/sample/)")
    parser.add_argument("--fitted", action="store_true", help="also with a table fitted to the amounts used")
    args = parser.parse_args(argv)
    store = load_store(args.source)
    print(label_fidelity(store).summary())
    if args.fitted:
        print()
        print(label_fidelity(store, fit_table(store)).summary())
    return 0


__all__ = [
    "FidelityReport",
    "GameFidelity",
    "LabelResult",
    "fit_table",
    "game_fidelity",
    "label_actions",
    "label_fidelity",
    "replay_labels",
]


if __name__ == "__main__":
    raise SystemExit(main())
