"""The trading desk: orders in, ledger fills, events out (PROTOCOL.md §4, §5).

One path for every order, whether a socket or a bot sends it: :meth:`TradingDesk.submit` takes the wire
event and payload, checks the payload's shape and the phase, and lets the player's ledger execute it at the
current tick (presale buys at 1.0). Every number comes from the ledger; a rejected order changes nothing.

Acks: ``{"success": true}`` (buy, sell); ``{"success": true, "message": "Side bet placed", "sidebet": {...}}``
(sidebet); on failure ``{"success": false, "reason": <code>, "message": <text>}`` where ``reason`` is the
ledger's error code (``insufficient_cash``, ``below_minimum``, ``no_position``, ``presale_sell``,
``sidebet_active``...) or one of ``invalid_payload``, ``trading_closed``, ``unsupported_coin``,
``invalid_payout``, ``unknown_order``, ``unknown_player``.

Events, in the real order: buy/sell -> ``standard/newTrade`` (everyone) -> ``playerUpdate`` ->
``gameStatePlayerUpdate`` (the player), then the ack. Sidebet -> ``playerUpdate`` -> ``currentSidebet``, then
the ack. A lost sidebet (window over) -> ``currentSidebetResult`` + ``playerUpdate``. At the rug, per player:
``currentSidebetResult``, the forced sell (``standard/newTrade`` to the player, or to everyone with
``broadcast_liquidations``), ``playerUpdate`` -- all before the rug message.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from typing import Any

from rugs_env.game import constants as C
from rugs_env.game.ledger import Fill, FillKind, Sidebet
from rugs_env.game.ledger_errors import LedgerError
from rugs_env.game.money import MoneyFormatError, to_nano_rounded
from rugs_env.server import player_views as V
from rugs_env.server.config import PlayerSpec, ServerConfig
from rugs_env.server.games import GameSpec
from rugs_env.server.market import Market, Phase
from rugs_env.server.players import Account, Accounts
from rugs_env.server.stats import GameStats
from rugs_env.server.truth import Truth
from rugs_env.server.wire import Emission

LEADERBOARD_SIZE = 10
RUGPOOL_SHARE = 0.001  # decorative: the pool grows by this share of buy volume


@dataclass(slots=True)
class OrderOutcome:
    """The ack to return and the events to send first."""

    ack: dict[str, Any]
    emissions: list[Emission] = field(default_factory=list)


class BadOrder(Exception):
    """An order whose payload or timing is wrong before the ledger is even asked."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def _number(payload: Any, key: str) -> float | int:
    if not isinstance(payload, dict):
        raise BadOrder("invalid_payload", f"expected an object with {key!r}, got {type(payload).__name__}")
    if key not in payload:
        raise BadOrder("invalid_payload", f"missing {key!r}")
    value = payload[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadOrder("invalid_payload", f"{key!r} must be a number, got {type(value).__name__}")
    return value


def _lamports(payload: Any, key: str = "amount") -> int:
    """A SOL amount from the wire, to the nearest lamport (the ledger then checks sign and limits)."""
    try:
        return to_nano_rounded(_number(payload, key))
    except MoneyFormatError as exc:
        raise BadOrder("invalid_amount", f"{key!r}: {exc}") from exc


def _fraction(payload: Any) -> float:
    value = _number(payload, "percentage")
    if not math.isfinite(value):
        raise BadOrder("invalid_amount", "'percentage' must be finite")
    return value / 100


class TradingDesk:
    """Accounts, order execution, settlement and the leaderboard of the current game."""

    def __init__(self, market: Market, stats: GameStats, truth: Truth, config: ServerConfig) -> None:
        self.market = market
        self.stats = stats
        self.truth = truth
        self.accounts = Accounts(market, truth, config)
        self.trade_count = 0
        self._broadcast_liquidations = config.broadcast_liquidations
        self._rng = (
            random.Random(f"rugs-serve:{config.seed}:ids") if config.seed is not None else random.Random()
        )
        self._sidebets: list[dict[str, Any]] = []
        self._final_rows: list[dict[str, Any]] = []
        self._version = 0  # bumped on every fill: invalidates the leaderboard cache
        self._board_key: tuple[Any, ...] = ()
        self._board: list[tuple[Account, dict[str, Any]]] = []
        self._rows: list[dict[str, Any]] = []
        self._rows_of: list[tuple[Account, dict[str, Any]]] | None = None
        self._pending: list[Emission] = []  # settlements found while an order's account caught up

    # -- accounts ------------------------------------------------------------------------------------------
    def authenticate(self, token: str) -> Account | None:
        return self.accounts.authenticate(token)

    def add_bot(self, player_id: str, username: str, level: int, balance_lamports: int) -> None:
        self.accounts.add(PlayerSpec("", player_id, username, balance_lamports, level), bot=True)

    def bot_view(self, player_id: str) -> tuple[int, int, bool]:
        ledger = self.accounts.by_id[player_id].ledger
        return ledger.cash, ledger.position_qty, ledger.sidebet is not None

    # -- engine hooks --------------------------------------------------------------------------------------
    def begin_game(self, spec: GameSpec) -> None:
        """A new game's cooldown starts: fresh trade count and sidebet records."""
        self.accounts.begin_game()
        self.trade_count = 0
        self._sidebets = []
        self._version += 1

    def global_sidebets(self) -> list[dict[str, Any]]:
        return list(self._sidebets)

    def expire_sidebets(self, now_ms: int) -> list[Emission]:
        """Settle the sidebets whose window ended without a rug (called once per tick)."""
        out: list[Emission] = []
        for account, fills, bet in self.accounts.tick_betting():
            out += self._settlements(account, fills, bet, now_ms)
            if not account.bot:
                out.append(Emission("playerUpdate", self._player_update(account), account.player_id))
        return out

    def settle_rug(self, now_ms: int) -> list[Emission]:
        """The rug: every open account settles its sidebet and is force-sold at the rug price."""
        mk = self.market
        out: list[Emission] = []
        for account, fills, bet in self.accounts.rug(mk.tick, mk.price):
            if not fills:
                continue
            out += self._settlements(account, fills, bet, now_ms)
            if not account.bot:
                out.append(Emission("playerUpdate", self._player_update(account), account.player_id))
        self._final_rows = self.leaderboard()
        return out

    # -- orders --------------------------------------------------------------------------------------------
    def submit(self, player_id: str, event: str, payload: Any, now_ms: int) -> OrderOutcome:
        """Execute ``event`` (``buyOrder``, ``sellOrder``, ``requestSidebet``) for ``player_id`` now."""
        account = self.accounts.by_id.get(player_id)
        if account is None:
            return _reject("unknown_player", f"no account {player_id!r}")
        self._pending = []
        try:
            if event == "buyOrder":
                outcome = self._buy(account, _lamports(payload), now_ms)
            elif event == "sellOrder":
                outcome = self._sell(account, _fraction(payload), now_ms)
            elif event == "requestSidebet":
                outcome = self._sidebet(account, payload, now_ms)
            else:
                outcome = _reject("unknown_order", f"unknown order {event!r}")
        except BadOrder as exc:
            outcome = _reject(exc.reason, str(exc))
        except LedgerError as err:
            outcome = _reject(err.code, err.message)
        # anything that settled while the account's clock caught up goes out first, order accepted or not
        outcome.emissions = self._pending + outcome.emissions
        self._pending = []
        return outcome

    def _open(self, account: Account, now_ms: int) -> None:
        """Check the phase and bring the ledger to the current tick (queueing anything that settled)."""
        if self.market.phase not in (Phase.PRESALE, Phase.ACTIVE):
            raise BadOrder("trading_closed", f"not possible during {self.market.phase.value}")
        bet = account.ledger.sidebet
        fills = self.accounts.sync(account)
        if fills:
            self._pending += self._settlements(account, fills, bet, now_ms)

    def _buy(self, account: Account, amount: int, now_ms: int) -> OrderOutcome:
        self._open(account, now_ms)
        fill = account.ledger.buy(amount)
        self.stats.add_to_rugpool(fill.amount_sol * RUGPOOL_SHARE)
        return OrderOutcome({"success": True}, self._traded(account, fill, now_ms))

    def _sell(self, account: Account, fraction: float, now_ms: int) -> OrderOutcome:
        self._open(account, now_ms)  # presale sells reach the ledger, which refuses them (presale_sell)
        fill = account.ledger.sell(fraction)
        return OrderOutcome({"success": True}, self._traded(account, fill, now_ms))

    def _sidebet(self, account: Account, payload: Any, now_ms: int) -> OrderOutcome:
        amount = _lamports(payload)
        for key in ("coinAddress", "xPayout"):
            if key not in payload:
                raise BadOrder("invalid_payload", f"missing {key!r}")
        coin = payload.get("coinAddress")
        if coin != C.SOL_MINT:
            raise BadOrder("unsupported_coin", f"sidebets are in SOL ({C.SOL_MINT}), got {coin!r}")
        x_payout = payload.get("xPayout")
        if isinstance(x_payout, bool) or x_payout != C.SIDEBET_X_PAYOUT:
            raise BadOrder("invalid_payout", f"xPayout must be {C.SIDEBET_X_PAYOUT}, got {x_payout!r}")
        self._open(account, now_ms)
        fill = account.ledger.place_sidebet(amount)
        bet = account.ledger.sidebet
        assert bet is not None
        self.accounts.betting.add(account.player_id)
        self._filled(account, fill, now_ms)
        record, current = V.sidebet_placed(account, fill, bet, V.trade_id(self._rng), now_ms)
        self._add_sidebet(record)
        out: list[Emission] = []
        if not account.bot:
            out += [
                Emission("playerUpdate", self._player_update(account), account.player_id),
                Emission("currentSidebet", current, account.player_id),
            ]
        return OrderOutcome({"success": True, "message": "Side bet placed", "sidebet": current}, out)

    # -- fills -> truth and events ---------------------------------------------------------------------------
    def _filled(self, account: Account, fill: Fill, now_ms: int) -> None:
        """Book-keeping common to every fill: participation, the leaderboard cache, the ground truth."""
        self._version += 1
        if fill.kind in (FillKind.BUY, FillKind.SIDEBET_PLACE):
            self.accounts.participants.add(account.player_id)
            account.interacted = True
        self.truth.add_fill(account.player_id, V.fill_json(fill, now_ms), _state_json(account))

    def _traded(self, account: Account, fill: Fill, now_ms: int) -> list[Emission]:
        """A buy or sell: the public trade, then the player's own updates."""
        self._filled(account, fill, now_ms)
        trade = V.new_trade(account, fill, V.trade_id(self._rng))
        self.trade_count += 1
        self.truth.add_trade(fill.game_id, trade)
        out = [Emission("standard/newTrade", trade)]
        if not account.bot:
            out.append(Emission("playerUpdate", self._player_update(account), account.player_id))
            out.append(
                Emission(
                    "gameStatePlayerUpdate",
                    self.game_state_player_update(account.player_id),
                    account.player_id,
                )
            )
        return out

    def _settlements(
        self, account: Account, fills: list[Fill], bet: Sidebet | None, now_ms: int
    ) -> list[Emission]:
        """Events for fills the game made happen (sidebet results, forced sells), in the ledger's order."""
        out: list[Emission] = []
        for fill in fills:
            self._filled(account, fill, now_ms)
            if fill.kind in (FillKind.SIDEBET_WIN, FillKind.SIDEBET_LOSE) and bet is not None:
                record, result = V.sidebet_settled(account, fill, bet, V.trade_id(self._rng), now_ms)
                self._add_sidebet(record)
                if not account.bot:
                    out.append(Emission("currentSidebetResult", result, account.player_id))
            elif fill.kind is FillKind.LIQUIDATION:
                trade = V.new_trade(account, fill, V.trade_id(self._rng))
                self.trade_count += 1  # forced sells count in tradeCount (the rug message's jump)
                self.truth.add_trade(fill.game_id, {**trade, "forced": True})
                if self._broadcast_liquidations:
                    out.append(Emission("standard/newTrade", trade))
                elif not account.bot:
                    out.append(Emission("standard/newTrade", trade, account.player_id))
        return out

    def _add_sidebet(self, record: dict[str, Any]) -> None:
        self._sidebets.append(record)
        self.truth.add_sidebet(record["gameId"], record)

    # -- views -----------------------------------------------------------------------------------------------
    def _numbers(self, account: Account) -> dict[str, Any]:
        """The ledger's wire numbers, marked at the market price when the account plays this game."""
        if account.player_id in self.accounts.opened:
            return account.ledger.player_update(self.market.price)
        return account.ledger.player_update()

    def _player_update(self, account: Account) -> dict[str, Any]:
        return V.player_update(account, self._numbers(account))

    def player_update(self, player_id: str) -> dict[str, Any]:
        return self._player_update(self.accounts.by_id[player_id])

    def username_status(self, player_id: str) -> dict[str, Any]:
        return V.username_status(self.accounts.by_id[player_id])

    def _ranked(self) -> list[tuple[Account, dict[str, Any]]]:
        """This game's participants with their numbers, best PnL first (cached per tick and fill)."""
        mk = self.market
        by_id = self.accounts.by_id
        # numbers move with the price only while someone holds tokens; otherwise only fills change them
        holding = any(by_id[pid].ledger.position_qty for pid in self.accounts.participants)
        key = (mk.game_id, mk.phase, mk.price if holding else None, self._version)
        if key != self._board_key:
            rows = [(by_id[pid], self._numbers(by_id[pid])) for pid in self.accounts.participants]
            rows.sort(key=lambda r: (-r[1]["pnl"], r[0].player_id))
            self._board_key, self._board = key, rows
        return self._board

    def leaderboard(self) -> list[dict[str, Any]]:
        """Top 10 of this game (in cooldown: the last game's final standings; presale rows: short form)."""
        phase = self.market.phase
        if phase in (Phase.COOLDOWN, Phase.IDLE):
            return self._final_rows
        ranked = self._ranked()
        if self._rows_of is not ranked:  # rows are rebuilt only when the ranking is
            presale = phase is Phase.PRESALE
            self._rows = [
                V.leaderboard_row(account, numbers, i + 1, presale=presale)
                for i, (account, numbers) in enumerate(ranked[:LEADERBOARD_SIZE])
            ]
            self._rows_of = ranked
        return self._rows

    def game_state_player_update(self, player_id: str) -> dict[str, Any]:
        """The player's own row (rank among all participants) and the rugpool."""
        entry = None
        if player_id in self.accounts.participants and self.market.phase in (
            Phase.PRESALE,
            Phase.ACTIVE,
            Phase.RUGGED,
        ):
            for i, (account, numbers) in enumerate(self._ranked()):
                if account.player_id == player_id:
                    entry = V.leaderboard_row(account, numbers, i + 1)
                    break
        return V.game_state_player_update(self.market.game_id, self.stats, entry)


def _reject(reason: str, message: str) -> OrderOutcome:
    return OrderOutcome({"success": False, "reason": reason, "message": message})


def _state_json(account: Account) -> dict[str, Any]:
    """The account's ledger state for the ground truth (exact integers)."""
    s = account.ledger.snapshot()
    bet = s.sidebet
    return {
        "cash_lamports": s.cash,
        "phase": s.phase.value,
        "game_id": s.game_id,
        "tick": s.tick,
        "position_qty_nano": s.position_qty,
        "cost_basis_lamports": s.cost_basis,
        "avg_cost": account.ledger.avg_cost,
        "realised_pnl_lamports": s.realised_pnl,
        "total_invested_lamports": s.total_invested,
        "sidebet_pnl_lamports": s.sidebet_pnl,
        "sidebet": None if bet is None else {"start_tick": bet.start_tick, "stake_lamports": bet.stake},
    }
