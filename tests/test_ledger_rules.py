"""Unit tests of the ledger's rules: phases, buys, sells, average cost, PnL, sidebets, rug, fills, views."""

from __future__ import annotations

import dataclasses

import pytest

from rugs_env.game import Fill, FillKind, Ledger, LedgerState, Phase, Sidebet
from rugs_env.game.ledger_math import (
    avg_cost_nano,
    blend_avg_price,
    buy_qty,
    cost_of_sold,
    fraction_qty,
    sell_proceeds,
    unrealised_pnl,
)
from rugs_env.game.money import floor_nano, from_nano

SOL = 1_000_000_000
MILLI = 1_000_000  # 0.001 SOL


def active(cash: int = 10 * SOL, tick: int = 1, price: float = 1.0, game: str = "g1") -> Ledger:
    ledger = Ledger(cash)
    ledger.open_game(game)
    ledger.on_tick(tick, price)
    return ledger


# -- arithmetic -------------------------------------------------------------------------------------------
def test_buy_qty_floors_like_js() -> None:
    assert buy_qty(5 * SOL, 0.8283719646298878) == 6_035_935_803  # a real buy
    assert buy_qty(2 * MILLI, 1.0) == 2 * MILLI
    assert buy_qty(123_000_000, 0.4345431005546228) == floor_nano(0.123 / 0.4345431005546228)


def test_sell_proceeds_refloors_through_the_double() -> None:
    # 5 tokens at 0.8317710102714284: 5 * p = 4.1588550513..., the server sent 4.158855049 (PROTOCOL §3.2):
    # 4.158855051 -> 4.15885505 -> 4.158855049, each double lying just below its 9-decimal value.
    assert floor_nano(5 * 0.8317710102714284) == 4_158_855_051
    assert sell_proceeds(5 * SOL, 0.8317710102714284) == 4_158_855_049
    # A value whose double is not below it is a plain floor.
    assert sell_proceeds(6_035_935_803, 0.5524555620056388) == 3_334_586_306


def test_sell_proceeds_is_within_two_lamports_below_the_floor() -> None:
    for qty in range(1, 3000, 7):
        for price in (0.4894518, 0.8317710102714284, 1.0, 1.7, 12.3456789):
            plain = floor_nano(from_nano(qty * 100_003) * price)
            assert plain - 2 <= sell_proceeds(qty * 100_003, price) <= plain


def test_fraction_qty() -> None:
    assert fraction_qty(32 * MILLI, 0.25) == 8 * MILLI  # 0.032 -> sells 0.008 (a real presale case)
    assert fraction_qty(123_456_789, 0.1) == 12_345_678  # floored
    assert fraction_qty(123_456_789, 1.0) == 123_456_789
    assert fraction_qty(3, 0.5) == 1


def test_cost_of_sold_is_pro_rata_half_up_and_whole_on_close() -> None:
    assert cost_of_sold(20 * MILLI, 20 * MILLI, 5 * MILLI) == 5 * MILLI
    assert cost_of_sold(10, 3, 1) == 3  # 3.33 -> 3
    assert cost_of_sold(10, 4, 1) == 3  # 2.5 -> 3 (half up)
    assert cost_of_sold(10, 3, 3) == 10


def test_avg_price_is_the_quantity_weighted_mean_of_execution_prices() -> None:
    assert blend_avg_price(0.0, 0, 0.5799041862572357, 155_198_051) == 0.5799041862572357
    mixed = blend_avg_price(1.0, 15 * MILLI, 0.8440098737282092, 5_924_101)
    assert avg_cost_nano(mixed) == 955_835_557  # Mikeyspliff3's leaderboard row in the capture
    assert avg_cost_nano(0.0) == 0


def test_unrealised_pnl_truncates_toward_zero() -> None:
    assert unrealised_pnl(2_273_142, 0.009250309566210552, 2 * MILLI) == -1_978_972  # -1978972.73
    assert unrealised_pnl(3_384_584, 1.4444769765026393, 4 * MILLI) == 888_953  # +888953.66
    assert unrealised_pnl(0, 3.0, 0) == 0


# -- phases -----------------------------------------------------------------------------------------------
def test_phase_model_and_per_game_reset() -> None:
    ledger = Ledger(SOL)
    assert ledger.phase is Phase.IDLE and ledger.game_id is None
    ledger.open_game("g1")
    assert (ledger.phase, ledger.tick, ledger.price) == (Phase.PRESALE, 0, 1.0)
    ledger.buy(10 * MILLI)
    ledger.on_tick(0, 1.0)
    assert ledger.phase is Phase.ACTIVE
    ledger.on_tick(5, 1.2)
    ledger.sell(1.0)
    ledger.rug(9, 0.01)
    assert ledger.phase is Phase.RUGGED
    cash = ledger.cash
    assert ledger.total_invested == 10 * MILLI and ledger.realised_pnl == cash - SOL
    ledger.open_game("g2")
    assert ledger.cash == cash and ledger.game_id == "g2"
    assert (ledger.total_invested, ledger.realised_pnl, ledger.sidebet_pnl, ledger.pnl()) == (0, 0, 0, 0)


def test_presale_buys_execute_at_exactly_one_at_tick_zero() -> None:
    ledger = Ledger(SOL)
    ledger.open_game("g")
    fill = ledger.buy(5 * MILLI)
    assert (fill.kind, fill.tick, fill.price, fill.qty) == (FillKind.BUY, 0, 1.0, 5 * MILLI)
    assert ledger.avg_cost == 1.0 and ledger.cost_basis == 5 * MILLI
    ledger.buy(2 * MILLI, tick=0, price=1.0)
    assert ledger.position_qty == 7 * MILLI


# -- buys and sells ---------------------------------------------------------------------------------------
def test_buy_updates_cash_position_cost_and_total_invested() -> None:
    ledger = active(price=0.5866625847865298)
    fill = ledger.buy(123 * MILLI)
    assert fill.qty == 209_660_549 and fill.amount == 123 * MILLI
    assert ledger.cash == 10 * SOL - 123 * MILLI == fill.cash_after
    assert ledger.cost_basis == ledger.total_invested == 123 * MILLI
    assert ledger.avg_cost == 0.586662584 == fill.avg_cost_after  # floor9(price), as the leaderboard shows


def test_full_sell_closes_exactly() -> None:
    ledger = active(price=0.5)
    ledger.buy(100 * MILLI)
    ledger.on_tick(2, 0.75)
    fill = ledger.sell(1.0)
    assert fill.kind is FillKind.SELL and fill.qty == 200 * MILLI and fill.amount == 150 * MILLI
    assert (ledger.position_qty, ledger.cost_basis, ledger.avg_cost, ledger.avg_price) == (0, 0, 0.0, 0.0)
    assert ledger.realised_pnl == 50 * MILLI == fill.realised_pnl_after == fill.game_pnl_after


def test_partial_sells_scale_cost_keep_avg_and_realise_pro_rata() -> None:
    ledger = Ledger(SOL)
    ledger.open_game("g")
    ledger.buy(32 * MILLI)
    ledger.on_tick(6, 1.2)
    fill = ledger.sell(0.25)
    assert fill.qty == 8 * MILLI and fill.amount == 9_600_000
    assert ledger.position_qty == 24 * MILLI and ledger.cost_basis == 24 * MILLI and ledger.avg_cost == 1.0
    assert ledger.realised_pnl == 1_600_000
    ledger.sell(0.25)
    assert ledger.position_qty == 18 * MILLI and ledger.cost_basis == 18 * MILLI


def test_sell_qty_sells_exactly_that_quantity() -> None:
    ledger = active(price=0.5)
    ledger.buy(10 * MILLI)  # 20_000_000 nano-tokens
    ledger.buy(5 * MILLI)  # 10_000_000 more
    fill = ledger.sell_qty(10 * MILLI)
    assert fill.qty == 10 * MILLI and ledger.position_qty == 20 * MILLI
    assert ledger.cost_basis == 10 * MILLI and fill.amount == 5 * MILLI
    ledger.sell_qty(20 * MILLI)
    assert ledger.position_qty == 0 and ledger.cost_basis == 0


def test_regular_pnl_and_pnl_mark_to_market() -> None:
    ledger = active(price=1.0)
    ledger.buy(10 * MILLI)
    assert ledger.regular_pnl(1.5) == 5 * MILLI and ledger.pnl(0.5) == -5 * MILLI
    assert ledger.regular_pnl() == 0  # the clock's price


# -- sidebets ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("start", "rug_tick", "wins"), [(10, 11, True), (10, 50, True), (10, 10, False)])
def test_sidebet_window_at_the_rug(start: int, rug_tick: int, wins: bool) -> None:
    ledger = active(cash=SOL, tick=start)
    ledger.place_sidebet(2 * MILLI)
    assert ledger.sidebet == Sidebet("g1", start, 2 * MILLI) and ledger.sidebet.end_tick == start + 40
    (fill,) = ledger.rug(rug_tick, 0.01)
    assert fill.kind is (FillKind.SIDEBET_WIN if wins else FillKind.SIDEBET_LOSE)
    assert ledger.cash == SOL - 2 * MILLI + (10 * MILLI if wins else 0)
    assert ledger.sidebet_pnl == (8 * MILLI if wins else -2 * MILLI) and ledger.sidebet is None


def test_sidebet_loss_resolves_at_start_plus_41_on_tick() -> None:
    ledger = active(tick=100)
    ledger.place_sidebet(MILLI)
    assert ledger.on_tick(140, 1.0) == []
    (fill,) = ledger.on_tick(141, 1.1)
    assert (fill.kind, fill.tick, fill.amount, fill.game_pnl_after) == (
        FillKind.SIDEBET_LOSE,
        141,
        MILLI,
        -MILLI,
    )
    ledger.place_sidebet(MILLI)  # a new one straight away
    assert ledger.sidebet is not None and ledger.sidebet.start_tick == 141


def test_presale_sidebet_starts_at_zero_and_counts_in_total_invested() -> None:
    ledger = Ledger(SOL)
    ledger.open_game("g")
    fill = ledger.place_sidebet(3 * MILLI)
    assert fill.kind is FillKind.SIDEBET_PLACE and fill.amount == 3 * MILLI and fill.tick == 0
    assert ledger.sidebet is not None and (ledger.sidebet.start_tick, ledger.sidebet.end_tick) == (0, 40)
    assert ledger.total_invested == 3 * MILLI and ledger.cash == SOL - 3 * MILLI
    assert ledger.on_tick(45, 2.0)[0].kind is FillKind.SIDEBET_LOSE  # a skipped-ahead tick settles too


# -- the rug ----------------------------------------------------------------------------------------------
def test_rug_settles_sidebet_then_liquidates_and_ends_the_game() -> None:
    ledger = active(cash=SOL, tick=264, price=0.5)
    ledger.buy(100 * MILLI)
    ledger.place_sidebet(MILLI)
    before = ledger.cash
    fills = ledger.rug(273, 0.009250309566210552)
    assert [f.kind for f in fills] == [FillKind.SIDEBET_WIN, FillKind.LIQUIDATION]
    assert fills[0].amount == 5 * MILLI and fills[1].qty == 200 * MILLI and fills[1].tick == 273
    assert fills[1].amount == sell_proceeds(200 * MILLI, 0.009250309566210552)
    assert ledger.cash == before + 5 * MILLI + fills[1].amount
    assert (ledger.position_qty, ledger.cost_basis, ledger.avg_cost) == (0, 0, 0.0)
    assert ledger.net_worth() == ledger.cash and ledger.pnl() == ledger.cash - SOL


def test_rug_with_nothing_open_returns_no_fill() -> None:
    ledger = active()
    assert ledger.rug(3, 0.01) == [] and ledger.phase is Phase.RUGGED


# -- views ------------------------------------------------------------------------------------------------
def test_net_worth_counts_position_value_and_open_stake() -> None:
    ledger = active(cash=SOL, price=2.0)
    ledger.buy(100 * MILLI)
    ledger.place_sidebet(10 * MILLI)
    assert ledger.position_value() == 100 * MILLI
    assert ledger.net_worth() == SOL and ledger.net_worth(3.0) == SOL + 50 * MILLI


def test_player_update_numbers() -> None:
    ledger = active(cash=SOL, tick=58)
    ledger.buy(10 * MILLI)
    ledger.place_sidebet(10 * MILLI)
    row = ledger.player_update(1.1)
    assert row["cash"] == 0.98 and row["positionQty"] == 0.01 and row["avgCost"] == 1.0
    assert row["totalInvested"] == 0.02 and row["regularPnl"] == 0.001 and row["sidebetPnl"] == 0.0
    assert row["pnl"] == row["cumulativePnL"] == 0.001 and row["pnlPercent"] == pytest.approx(5.0)
    assert row["hasActiveTrades"] is True and row["sidebetActive"] is True
    assert row["sideBet"] == {
        "startedAtTick": 58,
        "gameId": "g1",
        "end": 98,
        "betAmount": 0.01,
        "xPayout": 5,
        "coinAddress": "So11111111111111111111111111111111111111112",
        "bonusPortion": 0,
        "realPortion": 0.01,
    }
    flat = Ledger(SOL).player_update()
    assert flat["pnlPercent"] == 0 and flat["sideBet"] is None and flat["sidebetActive"] is None


def test_snapshot_restore_and_immutability() -> None:
    ledger = active(price=0.7)
    ledger.buy(50 * MILLI)
    state = ledger.snapshot()
    assert isinstance(state, LedgerState) and Ledger.restore(state).snapshot() == state
    copy = Ledger.restore(state)
    copy.sell(0.5)
    assert ledger.snapshot() == state != copy.snapshot()
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.cash = 0  # type: ignore[misc]


def test_fill_float_views_and_kinds() -> None:
    fill = active(price=0.5).buy(5 * MILLI)
    assert isinstance(fill, Fill)
    assert (fill.amount_sol, fill.qty_tokens, fill.position_qty_after_tokens) == (0.005, 0.01, 0.01)
    assert fill.cash_after_sol == 9.995 and fill.game_pnl_after_sol == 0.0
    assert {k.value for k in FillKind} == {
        "buy",
        "sell",
        "sidebet_place",
        "sidebet_win",
        "sidebet_lose",
        "liquidation",
    }
    with pytest.raises(dataclasses.FrozenInstanceError):
        fill.amount = 1  # type: ignore[misc]


def test_late_trade_replays_at_its_own_tick_and_price_without_moving_the_clock() -> None:
    ledger = active(tick=8, price=0.85)
    fill = ledger.buy(MILLI, tick=7, price=0.8317710102714284)
    assert (fill.tick, fill.price, ledger.tick, ledger.price) == (7, 0.8317710102714284, 8, 0.85)


def test_configurable_limits() -> None:
    ledger = Ledger(100 * SOL, max_bet=20 * SOL, min_bet=10 * MILLI)
    ledger.open_game("g")
    assert ledger.buy(20 * SOL).amount == 20 * SOL
    assert ledger.buy_error(5 * MILLI) is not None and ledger.buy_error(10 * MILLI) is None
