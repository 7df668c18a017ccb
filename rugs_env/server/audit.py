"""Independent checks of the ground truth: no money created, every fill consistent with the ones before.

The ledger computes; this module re-adds its fills from the starting balance and checks the invariants a
correct account must keep, so a bug anywhere between the order and the truth shows up as a problem line:

- cash moves by exactly each fill's amount (buys and stakes out; sells, liquidations and wins in) and equals
  the fill's ``cash_after`` and, at the end, the ledger's cash; it is never negative;
- the position moves by each fill's quantity, never goes negative, and is 0 after a liquidation;
- a sale never pays more than the tokens' exact value at the fill's price (the house does not create money);
- a sidebet win pays exactly ``xPayout`` times the stake placed, a loss returns nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from rugs_env.game.constants import SIDEBET_X_PAYOUT
from rugs_env.server.truth import PlayerRecord, Truth

_IN = {"sell", "liquidation", "sidebet_win"}
_OUT = {"buy", "sidebet_place"}


class _HasLedger(Protocol):
    ledger: Any


def audit_fills(record: PlayerRecord, final_cash: int | None = None) -> list[str]:
    """Problems in one player's fills (empty when the account balances)."""
    problems: list[str] = []
    cash, position, stake = record.starting_balance_lamports, 0, None
    who = f"{record.username} ({record.player_id})"
    for i, fill in enumerate(record.fills):
        kind, amount, qty = fill["kind"], fill["amount_lamports"], fill["qty_nano"]
        where = f"{who} fill {i} ({kind} in {fill['game_id']} at tick {fill['tick']})"
        if amount < 0 or qty < 0:
            problems.append(f"{where}: negative amount or quantity")
        if kind in _OUT:
            cash -= amount
        elif kind in _IN:
            cash += amount
        if kind == "buy":
            position += qty
        elif kind in ("sell", "liquidation"):
            position -= qty
            num, den = float(fill["price"]).as_integer_ratio()
            if amount * den > qty * num:
                problems.append(
                    f"{where}: proceeds {amount} exceed the tokens' value {qty} x {fill['price']!r}"
                )
            if kind == "liquidation" and position != 0:
                problems.append(f"{where}: position {position} left after the liquidation")
        elif kind == "sidebet_place":
            if stake is not None:
                problems.append(f"{where}: a second sidebet while one is open")
            stake = amount
        elif kind in ("sidebet_win", "sidebet_lose"):
            if stake is None:
                problems.append(f"{where}: settlement without an open sidebet")
            elif kind == "sidebet_win" and amount != SIDEBET_X_PAYOUT * stake:
                problems.append(f"{where}: win pays {amount}, expected {SIDEBET_X_PAYOUT} x {stake}")
            stake = None
        if cash != fill["cash_after_lamports"]:
            problems.append(f"{where}: cash {fill['cash_after_lamports']} != recomputed {cash}")
            cash = fill["cash_after_lamports"]
        if position != fill["position_qty_after_nano"]:
            problems.append(f"{where}: position {fill['position_qty_after_nano']} != recomputed {position}")
            position = fill["position_qty_after_nano"]
        if cash < 0 or position < 0:
            problems.append(f"{where}: negative cash or position")
    if final_cash is not None and cash != final_cash:
        problems.append(f"{who}: ledger cash {final_cash} != starting balance + fills {cash}")
    return problems


def audit_players(truth: Truth, accounts: Mapping[str, _HasLedger]) -> list[str]:
    """:func:`audit_fills` for every player, against their live ledger's cash."""
    problems: list[str] = []
    for record in truth.players():
        account = accounts.get(record.player_id)
        problems += audit_fills(record, account.ledger.cash if account is not None else None)
    return problems
