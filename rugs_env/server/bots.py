"""Bots: in-process players that make the feed look alive (trades, leaderboard, sidebets).

They trade through exactly the order path sockets use (the desk's ``submit`` with wire payloads), have
``did:privy:`` ids and usernames like everyone else (so a recorder can follow them), and decide with a
generator derived from the run's seed, so a seeded run's trade stream is reproducible. Four simple styles,
assigned in turn: presale buyers, scalpers, sidebettors and holders.
"""

from __future__ import annotations

import random
import string
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rugs_env.game import constants as C
from rugs_env.server.market import Market, Phase

BOT_BALANCE_LAMPORTS = 100 * C.LAMPORTS_PER_SOL
_ID_ALPHABET = string.ascii_lowercase + string.digits
_NAMES = (
    "Degen",
    "Moon",
    "Rug",
    "Ape",
    "Whale",
    "Paper",
    "Diamond",
    "Sol",
    "Pump",
    "Candle",
    "Lambo",
    "Hodl",
    "Wagmi",
    "Gm",
    "Chad",
    "Sniper",
    "Turbo",
    "Alpha",
    "Based",
    "Floor",
)

Order = tuple[str, str, dict[str, Any]]  # (player_id, event, payload): exactly what a socket would send


class BotAccounts(Protocol):
    """What bots need from the trading desk."""

    def add_bot(self, player_id: str, username: str, level: int, balance_lamports: int) -> None: ...

    def bot_view(self, player_id: str) -> tuple[int, int, bool]:
        """``(cash_lamports, position_nano_tokens, has_active_sidebet)``."""
        ...


@dataclass(slots=True)
class Bot:
    """One bot: identity, style and its plan for the current game."""

    player_id: str
    username: str
    level: int
    style: str
    rng: random.Random
    game_id: str = ""
    plan: dict[str, Any] = field(default_factory=dict)


def _amount(rng: random.Random, low: float, high: float) -> float:
    """An amount with 3 decimals, as the UI sends them (e.g. 0.037)."""
    return round(rng.uniform(low, high), 3)


def _sidebet(amount: float) -> dict[str, Any]:
    return {"amount": amount, "coinAddress": C.SOL_MINT, "xPayout": C.SIDEBET_X_PAYOUT}


# -- styles: each gets (bot, market, cash, position, has_sidebet) and returns orders ------------------
def _presale_buyer(bot: Bot, mk: Market, cash: int, pos: int, bet: bool) -> list[tuple[str, dict]]:
    plan, rng = bot.plan, bot.rng
    if mk.phase is Phase.PRESALE and not plan.get("bought") and mk.timer <= plan["buy_at_timer"]:
        plan["bought"] = True
        return [("buyOrder", {"amount": plan["amount"]})]
    if mk.phase is Phase.ACTIVE and pos > 0:
        if mk.price >= plan["target"] or mk.tick >= plan["max_hold"]:
            return [("sellOrder", {"percentage": 100})]
        if mk.price >= 1 + (plan["target"] - 1) / 2 and not plan.get("half_sold") and rng.random() < 0.3:
            plan["half_sold"] = True
            return [("sellOrder", {"percentage": 50})]
    return []


def _scalper(bot: Bot, mk: Market, cash: int, pos: int, bet: bool) -> list[tuple[str, dict]]:
    rng = bot.rng
    if mk.phase is not Phase.ACTIVE:
        return []
    if pos == 0:
        if rng.random() < 0.06:
            bot.plan["entry"] = mk.price
            return [("buyOrder", {"amount": _amount(rng, 0.005, 0.05)})]
        return []
    change = mk.price / bot.plan.get("entry", mk.price) - 1 if bot.plan.get("entry") else 0.0
    if change >= 0.08 or change <= -0.06:
        return [("sellOrder", {"percentage": 100})]
    if rng.random() < 0.04:
        return [("sellOrder", {"percentage": rng.choice((10, 25, 50))})]
    return []


def _sidebettor(bot: Bot, mk: Market, cash: int, pos: int, bet: bool) -> list[tuple[str, dict]]:
    rng = bot.rng
    if bet or mk.phase not in (Phase.PRESALE, Phase.ACTIVE):
        return []
    chance = 0.02 if mk.phase is Phase.PRESALE else 0.04
    if rng.random() < chance:
        return [("requestSidebet", _sidebet(_amount(rng, 0.001, 0.02)))]
    return []


def _holder(bot: Bot, mk: Market, cash: int, pos: int, bet: bool) -> list[tuple[str, dict]]:
    plan = bot.plan
    if mk.phase is Phase.ACTIVE and not plan.get("bought") and mk.tick >= plan["buy_at_tick"]:
        plan["bought"] = True
        return [("buyOrder", {"amount": plan["amount"]})] if plan["plays"] else []
    if mk.phase is Phase.ACTIVE and pos > 0 and mk.price >= plan["target"]:
        return [("sellOrder", {"percentage": 100})]
    return []  # otherwise rides it into the rug


STYLES: dict[str, Callable[[Bot, Market, int, int, bool], list[tuple[str, dict]]]] = {
    "presale_buyer": _presale_buyer,
    "scalper": _scalper,
    "sidebettor": _sidebettor,
    "holder": _holder,
}
_STYLE_ORDER = tuple(STYLES)


def _new_plan(style: str, rng: random.Random) -> dict[str, Any]:
    """A bot's intentions for one game, drawn when the game starts."""
    if style == "presale_buyer":
        return {
            "buy_at_timer": rng.randrange(100, 10001, 100),
            "amount": _amount(rng, 0.005, 0.1),
            "target": rng.uniform(1.15, 3.0),
            "max_hold": rng.randrange(20, 200),
        }
    if style == "holder":
        return {
            "plays": rng.random() < 0.6,
            "buy_at_tick": rng.randrange(0, 15),
            "amount": _amount(rng, 0.01, 0.1),
            "target": rng.uniform(5.0, 20.0),
        }
    return {}


class BotCrew:
    """All bots; :meth:`decide` returns this step's orders (deterministic given the seed and the market)."""

    def __init__(self, count: int, rng: random.Random, accounts: BotAccounts) -> None:
        self._accounts = accounts
        self._bots: list[Bot] = []
        for i in range(count):
            player_id = "did:privy:cm" + "".join(rng.choice(_ID_ALPHABET) for _ in range(23))
            username = f"{rng.choice(_NAMES)}{rng.choice(_NAMES)}{rng.randrange(100)}"
            level = rng.randrange(1, 80)
            bot = Bot(
                player_id, username, level, _STYLE_ORDER[i % len(_STYLE_ORDER)], random.Random(rng.random())
            )
            accounts.add_bot(player_id, username, level, BOT_BALANCE_LAMPORTS)
            self._bots.append(bot)

    def __len__(self) -> int:
        return len(self._bots)

    @property
    def bots(self) -> list[Bot]:
        return list(self._bots)

    def decide(self, market: Market) -> list[Order]:
        orders: list[Order] = []
        for bot in self._bots:
            if bot.game_id != market.game_id:
                bot.game_id, bot.plan = market.game_id, _new_plan(bot.style, bot.rng)
            cash, pos, bet = self._accounts.bot_view(bot.player_id)
            if cash < C.MIN_BET_LAMPORTS and pos == 0:
                continue  # broke: sits the game out
            for event, payload in STYLES[bot.style](bot, market, cash, pos, bet):
                orders.append((bot.player_id, event, payload))
        return orders
