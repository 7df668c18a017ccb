"""The market as a live player sees it: which game, which phase, which tick and price, every price so far.

:class:`MarketTracker` takes the feed's ``gameStateUpdate`` messages (parsed leniently by
:func:`recorder.events.parse_game_state`; prices kept per game by the recorder's
:class:`~recorder.prices.PriceHistoryHandler`) and turns them into *transitions*, in the order a ledger must
see them:

* ``rug``: a game rugged at ``(tick, price)``: from a rugged message (the tick is the end of its
  ``partialPrices`` window, or of the ``prices`` of a snapshot, as the post-rug message keeps counting), or
  from a later ``gameHistory`` entry when both were missed;
* ``game``: a new game (its first message, whatever its phase);
* ``presale``: its presale opened (``allowPreRoundBuys``);
* ``tick``: a running tick newer than any seen (ticks never go back; a reordered or duplicated older
  message only adds prices).

The feed is never trusted: a malformed field is ignored (no phase is inferred from a message whose flags are
missing), a message of a game already left behind only adds prices or a rug, and nothing here raises on bad
input.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from enum import StrEnum

from recorder.events import GameState, Malformed, history_id, parse_history_entry
from recorder.prices import PriceHistoryHandler

TICK_MS = 250
KEEP_GAMES = 8  # games whose prices stay available (reconciliation looks back a game at most)


class MarketPhase(StrEnum):
    UNKNOWN = "unknown"
    COOLDOWN = "cooldown"
    PRESALE = "presale"
    ACTIVE = "active"
    RUGGED = "rugged"


@dataclass(frozen=True, slots=True)
class Transition:
    """One step of the market a ledger must follow (see the module docstring)."""

    kind: str  # rug | game | presale | tick
    game_id: str
    tick: int = 0
    price: float = 1.0


class MarketTracker:
    """The live market state, fed with parsed ``gameStateUpdate`` messages (see the module docstring)."""

    def __init__(self) -> None:
        self.game_id: str | None = None
        self.phase = MarketPhase.UNKNOWN
        self.tick = -1  # the newest running tick of the current game (-1: none yet)
        self.price = 1.0
        self.clock: float = 0  # game time in ticks, over all games (running ticks, and cooldown time)
        self.version = 0  # bumped on every change of (game, phase, tick)
        self.messages = 0
        self._timer: int | None = None  # the lowest cooldown timer seen in this game
        self.ignored = 0  # messages that carried nothing usable (malformed flags, older games)
        self._prices: OrderedDict[str, PriceHistoryHandler] = OrderedDict()
        self.rugs: OrderedDict[str, tuple[int, float]] = OrderedDict()
        self._games: OrderedDict[str, None] = OrderedDict()  # every game seen, in order

    # -- views ---------------------------------------------------------------------------------------------
    def price_at(self, game_id: str, tick: int) -> float | None:
        """The price of ``tick`` in ``game_id`` if seen (the rug price at the rug tick)."""
        prices = self._prices.get(game_id)
        return prices.get(tick) if prices is not None else None

    def prices_upto(self, game_id: str, tick: int) -> list[float]:
        """Prices of ticks ``0 .. tick``; a tick never seen takes the previous one's price."""
        prices = self._prices.get(game_id)
        out: list[float] = []
        last = 1.0
        for k in range(tick + 1):
            value = prices.get(k) if prices is not None else None
            last = value if value is not None else last
            out.append(last)
        return out

    def rug_of(self, game_id: str) -> tuple[int, float] | None:
        return self.rugs.get(game_id)

    def is_older(self, game_id: str) -> bool:
        """A game seen before the current one."""
        return game_id in self._games and game_id != self.game_id

    # -- input ---------------------------------------------------------------------------------------------
    def on_state(self, s: GameState) -> list[Transition]:
        """Take one parsed message in; returns the transitions it causes, in order."""
        self.messages += 1
        out: list[Transition] = []
        gid = s.game_id
        if s.history:
            out += self._history(s.history, skip=gid)
        if gid != self.game_id:
            if gid in self._games:  # a late (reordered) message of a game we have left
                self._observe_prices(gid, s)
                if s.rugged is True:
                    out += self._rug(gid, s)
                else:
                    self.ignored += 1
                return out
            self._start(gid)
            out.append(Transition("game", gid))
        self._observe_prices(gid, s)
        if s.rugged is True:
            out += self._rug(gid, s)
        elif s.active is True and s.rugged is False and s.tick is not None and s.price is not None:
            if self.phase in (MarketPhase.ACTIVE,) and s.tick <= self.tick:
                return out  # duplicate or reordered: prices only
            if self.phase is MarketPhase.RUGGED:
                return out
            self.clock += s.tick - self.tick if self.tick >= 0 else 1
            self.phase, self.tick, self.price = MarketPhase.ACTIVE, s.tick, s.price
            self.version += 1
            out.append(Transition("tick", gid, s.tick, s.price))
        elif s.cooldown_timer is not None and s.cooldown_timer > 0 and s.active is not True:
            if self._timer is not None and 0 < self._timer - s.cooldown_timer <= 1000:
                # the clock runs in cooldown and presale too (a 250 ms tick's worth per 250 ms of timer), so
                # that "patience" is game time everywhere, not only while ticks come
                self.clock += (self._timer - s.cooldown_timer) / TICK_MS
            self._timer = s.cooldown_timer if self._timer is None else min(self._timer, s.cooldown_timer)
            if s.presale is True and self.phase in (MarketPhase.UNKNOWN, MarketPhase.COOLDOWN):
                self.phase = MarketPhase.PRESALE
                self.version += 1
                out.append(Transition("presale", gid))
            elif s.presale is False and self.phase is MarketPhase.UNKNOWN:
                self.phase = MarketPhase.COOLDOWN
                self.version += 1
        else:
            self.ignored += 1
        return out

    def _start(self, gid: str) -> None:
        self.game_id, self.phase, self.tick, self.price = gid, MarketPhase.UNKNOWN, -1, 1.0
        self._timer: int | None = None
        self.version += 1
        self._games[gid] = None
        while len(self._games) > 4 * KEEP_GAMES:
            self._games.popitem(last=False)
        self._handler(gid)

    def _handler(self, gid: str) -> PriceHistoryHandler:
        prices = self._prices.get(gid)
        if prices is None:
            prices = self._prices[gid] = PriceHistoryHandler()
            while len(self._prices) > KEEP_GAMES:
                self._prices.popitem(last=False)
        return prices

    def _observe_prices(self, gid: str, s: GameState) -> None:
        if s.active is not True:  # cooldown and presale messages carry no price of this game
            return
        prices = self._handler(gid)
        if s.snapshot is not None:
            prices.observe_snapshot(s.snapshot)
        if s.partial:
            prices.observe_window(s.partial)
        if s.rugged is False and s.tick is not None and s.price is not None:
            prices.observe(s.tick, s.price, "tick")

    def _rug(self, gid: str, s: GameState) -> list[Transition]:
        if gid in self.rugs:
            return []
        if s.partial and s.partial_end is not None:
            tick, price = s.partial_end, s.partial[s.partial_end]
        elif s.snapshot and s.snapshot[-1] is not None:  # a rugged snapshot on connect: every price, rug last
            tick, price = len(s.snapshot) - 1, s.snapshot[-1]
        elif s.tick is not None and s.price is not None:
            tick, price = s.tick, s.price
        else:
            self.ignored += 1
            return []
        return self._record_rug(gid, tick, price)

    def _record_rug(self, gid: str, tick: int, price: float) -> list[Transition]:
        self.rugs[gid] = (tick, price)
        while len(self.rugs) > 4 * KEEP_GAMES:
            self.rugs.popitem(last=False)
        self._handler(gid).observe(tick, price, "tick")
        if gid == self.game_id:
            self.phase, self.tick, self.price = MarketPhase.RUGGED, max(self.tick, tick), price
            self.version += 1
        return [Transition("rug", gid, tick, price)]

    def _history(self, entries: tuple[object, ...], skip: str) -> list[Transition]:
        """Rugs missed live, from ``gameHistory``: only for games we saw and whose rug we do not know."""
        out: list[Transition] = []
        for raw in entries:
            gid = history_id(raw)
            if gid is None or gid == skip or gid not in self._games or gid in self.rugs:
                continue
            try:
                entry = parse_history_entry(raw)
            except Malformed:
                continue
            if entry.prices is None:
                continue
            prices = self._handler(gid)
            for tick, value in enumerate(entry.prices[:-1]):
                prices.observe(tick, value, "history")
            out += self._record_rug(gid, len(entry.prices) - 1, entry.prices[-1])
        return out


__all__ = ["KEEP_GAMES", "MarketPhase", "MarketTracker", "Transition"]
