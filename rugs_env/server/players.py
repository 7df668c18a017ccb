"""Player accounts: identity (token, ``did:privy:`` id, username, level) and the rulebook's ledger.

The ledger (:class:`rugs_env.game.ledger.Ledger`) is the single source of every number: cash, position,
cost basis, PnL, the sidebet. This module only keeps the ledger's clock in step with the market, lazily:
an account is opened for a game and moved to the current tick when it is touched (an order, a view), so a
step costs nothing for accounts that are not playing. Accounts holding a sidebet are moved every tick
(their loss must settle on time) and every account opened for a game is rugged with it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from rugs_env.game.ledger import Fill, Ledger, Sidebet
from rugs_env.game.ledger_types import Phase as LedgerPhase
from rugs_env.server.config import PlayerSpec, ServerConfig
from rugs_env.server.market import Market, Phase
from rugs_env.server.truth import Truth


@dataclass(slots=True, eq=False)
class Account:
    """One player: who they are and their ledger."""

    player_id: str
    username: str
    level: int
    ledger: Ledger
    token: str | None = None
    bot: bool = False
    interacted: bool = False  # has traded at least once (``hasInteracted``)
    xp: int = field(default=0)


def open_registration_identity(token: str) -> tuple[str, str]:
    """A stable ``(did:privy:..., username)`` for a token nobody configured (``open_registration``)."""
    digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
    return f"did:privy:cm{digest[:23]}", f"player_{digest[:6]}"


class Accounts:
    """Every account, by token and by id, with the ledger clock kept in step with the market."""

    def __init__(self, market: Market, truth: Truth, config: ServerConfig) -> None:
        self._market = market
        self._truth = truth
        self._config = config
        self.by_id: dict[str, Account] = {}
        self._by_token: dict[str, Account] = {}
        self.opened: set[str] = set()  # accounts whose ledger is open for the current game
        self.participants: set[str] = set()  # accounts that bought or bet this game (leaderboard rows)
        self.betting: set[str] = set()  # accounts with an open sidebet (moved every tick)
        for spec in config.players:
            self.add(spec)

    def add(self, spec: PlayerSpec, *, bot: bool = False) -> Account:
        account = Account(
            spec.player_id,
            spec.username,
            spec.level,
            Ledger(spec.balance_lamports),
            token=spec.token or None,
            bot=bot,
        )
        self.by_id[account.player_id] = account
        if account.token:
            self._by_token[account.token] = account
        self._truth.add_player(account.player_id, account.username, bot, spec.balance_lamports)
        return account

    def authenticate(self, token: str) -> Account | None:
        """The account of ``token``; with open registration an unknown token gets a fresh one."""
        if not token:
            return None
        account = self._by_token.get(token)
        if account is None and self._config.open_registration:
            player_id, username = open_registration_identity(token)
            if player_id in self.by_id:  # astronomically unlikely hash clash: refuse rather than merge
                return None
            account = self.add(PlayerSpec(token, player_id, username, self._config.default_balance_lamports))
        return account

    # -- the ledger clock --------------------------------------------------------------------------------
    def begin_game(self) -> None:
        """A new game (cooldown): nobody is open for it yet."""
        self.opened.clear()
        self.participants.clear()
        self.betting.clear()

    def sync(self, account: Account) -> list[Fill]:
        """Bring the account's ledger to the market's game and tick; returns fills that settled on the way
        (a sidebet lost while the account was not being moved, which :meth:`tick_betting` prevents)."""
        mk = self._market
        if mk.spec is None or mk.phase not in (Phase.PRESALE, Phase.ACTIVE):
            return []
        ledger = account.ledger
        if account.player_id not in self.opened:
            ledger.open_game(mk.spec.game_id)
            self.opened.add(account.player_id)
        if mk.phase is Phase.ACTIVE and (ledger.phase is LedgerPhase.PRESALE or ledger.tick < mk.tick):
            return ledger.on_tick(mk.tick, mk.price)
        return []

    def tick_betting(self) -> list[tuple[Account, list[Fill], Sidebet | None]]:
        """Move every account holding a sidebet to the current tick.

        Returns ``(account, fills, sidebet as it was before)`` for the accounts whose sidebet just settled.
        """
        settled: list[tuple[Account, list[Fill], Sidebet | None]] = []
        for player_id in sorted(self.betting):
            account = self.by_id[player_id]
            bet = account.ledger.sidebet
            fills = self.sync(account)
            if fills:
                settled.append((account, fills, bet))
            if account.ledger.sidebet is None:
                self.betting.discard(player_id)
        return settled

    def rug(self, rug_tick: int, rug_price: float) -> list[tuple[Account, list[Fill], Sidebet | None]]:
        """Rug every open account (settle sidebets, liquidate positions), in a stable order.

        Returns ``(account, fills, sidebet as it was before)`` per account.
        """
        out: list[tuple[Account, list[Fill], Sidebet | None]] = []
        for player_id in sorted(self.opened):
            account = self.by_id[player_id]
            bet = account.ledger.sidebet
            out.append((account, account.ledger.rug(rug_tick, rug_price), bet))
        self.betting.clear()
        return out
