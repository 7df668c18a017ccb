"""Trades no connection delivered, put back from the leaderboard rows of a finished game (board_check).

The truth is the rulebook's ledger playing a game; the replay is given the trades minus one (lost with a
dropped connection) and the leaderboard rows the server would have sent (position, amount invested and
regularPnl before each tick's trades). The lost trade must come back at its tick with the ledger's numbers.
"""

from __future__ import annotations

from datetime import timedelta

from recorder_helpers import T0, make_game

from recorder.session_inputs import GameInputs, Input
from recorder.session_replay import HEADROOM, replay_game
from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_types import Fill, LedgerState, Phase

START = 10 * 10**9
SEED, GAME_ID, PRICES = make_game("board", 40, 60)
RUG = (len(PRICES), 0.01, T0 + timedelta(seconds=len(PRICES) / 4))
Trades = list[tuple[str, int, float]]  # (kind, tick, amount lamports or sell fraction)


def play(trades: Trades) -> tuple[list[Fill], list[tuple[int, int, int, int]]]:
    """The server's side: the fills, and the leaderboard rows of every active tick (before its trades)."""
    ledger = Ledger(START, min_bet=1, max_bet=10**18)
    ledger.open_game(GAME_ID)
    fills, rows = [], []
    for tick, price in enumerate(PRICES):
        if tick:
            ledger.on_tick(tick, price)
        if tick or ledger.phase is Phase.ACTIVE:
            rows.append((tick, ledger.position_qty, ledger.total_invested, ledger.regular_pnl(price)))
        for kind, at, size in trades:
            if at != tick:
                continue
            if kind == "buy":
                fills.append(ledger.buy(int(size), tick=tick, price=price))
            else:
                fills.append(ledger.sell(size, tick=tick, price=price))
    fills.extend(ledger.rug(RUG[0], RUG[1]))
    return fills, rows


def replay(fills: list[Fill], rows: list, lost: set[int], *, final: bool = True):
    game = GameInputs(GAME_ID, 0.0, rug=RUG, final=final)
    for k, fill in enumerate(fills):
        if k in lost or fill.kind.value not in ("buy", "sell"):
            continue
        at = T0 + timedelta(seconds=fill.tick / 4)
        game.inputs.append(
            Input(fill.kind.value, GAME_ID, fill.tick, fill.price, fill.amount, fill.qty, at, (k, k), f"t{k}")
        )
    changed = [r for k, r in enumerate(rows) if k == 0 or r[1:3] != rows[k - 1][1:3]]
    game.rows = changed
    start = LedgerState(cash=HEADROOM + START, phase=Phase.RUGGED, min_bet=1, max_bet=HEADROOM)
    return replay_game(
        start,
        game,
        lambda _g, t: PRICES[t] if 0 <= t < len(PRICES) else None,
        lambda _g, t: T0 + timedelta(seconds=t / 4),
    )


def same_as_server(result, fills: list[Fill]) -> None:
    got = [(a.fill.kind, a.fill.tick, a.fill.amount, a.fill.cash_after - HEADROOM) for a in result.actions]
    want = [(f.kind, f.tick, f.amount, f.cash_after) for f in fills]
    assert got == want


def test_a_lost_sale_comes_back_at_its_tick() -> None:
    fills, rows = play([("buy", 3, 50_000_000), ("sell", 9, 1.0), ("buy", 15, 20_000_000)])
    result = replay(fills, rows, lost={1})
    same_as_server(result, fills)
    assert [a.inferred for a in result.actions][:3] == [False, True, False]
    assert result.inferred == 1 and result.board_mismatches == 0


def test_a_lost_partial_sale_and_a_lost_buy_come_back() -> None:
    trades = [("buy", 2, 30_000_000), ("buy", 6, 10_000_000), ("sell", 11, 0.25), ("sell", 20, 1.0)]
    fills, rows = play(trades)
    result = replay(fills, rows, lost={1, 2})
    same_as_server(result, fills)
    assert result.inferred == 2


def test_a_presale_buy_never_seen_comes_back() -> None:
    fills, rows = play([("buy", 0, 40_000_000), ("sell", 12, 0.5)])
    same_as_server(replay(fills, rows, lost={0}), fills)


def test_nothing_is_put_back_before_the_game_is_over_or_when_nothing_was_lost() -> None:
    fills, rows = play([("buy", 3, 50_000_000), ("sell", 9, 1.0)])
    assert replay(fills, rows, lost=set()).inferred == 0
    open_game = replay(fills, rows, lost={1}, final=False)
    assert open_game.inferred == 0 and not any(a.fill.kind.value == "sell" for a in open_game.actions)


def test_rows_no_single_trade_explains_are_counted_not_guessed() -> None:
    # a buy and a sale lost between the same two rows (the sale in the tick after the buy)
    fills, rows = play([("buy", 3, 50_000_000), ("buy", 10, 20_000_000), ("sell", 10, 0.5)])
    rows = [r for r in rows if r[0] not in (10, 11)]  # the rows between them lost too
    result = replay(fills, rows, lost={1, 2})
    assert result.board_mismatches == 1
    assert result.inferred == 0


def test_an_unseen_buy_shown_only_after_a_seen_partial_sale_comes_back_as_one_buy() -> None:
    # the rows before the sale are lost too: the first row shows half the position and the whole investment
    fills, rows = play([("buy", 0, 40_000_000), ("sell", 12, 0.5)])
    rows = [r for r in rows if r[0] > 12]
    result = replay(fills, rows, lost={0})
    same_as_server(result, fills)
    assert [(a.fill.kind.value, a.inferred) for a in result.actions][:2] == [("buy", True), ("sell", False)]
