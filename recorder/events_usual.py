"""The usual ``gameStateUpdate``, read faster than :func:`recorder.events.parse_game_state`'s general path.

A game sends ~500 of them; each field is checked here in a comparison or two instead of a converter call.
Only a message with nothing to report is read here (every field absent or of its type, no ``prices``
snapshot): the view is then the one the general path gives, with no problem listed. Anything else returns
None and goes to the general path, which says what is wrong as it always did.
"""

from __future__ import annotations

import math
from typing import Any

from recorder.events import GAME_ID_RE, MAX_TICK, GameState, as_seed, as_str

_INF = math.inf
_new = object.__new__
_slot = GameState.__dict__
_GAME_ID, _ACTIVE, _RUGGED = (_slot[f].__set__ for f in ("game_id", "active", "rugged"))
_PRICE, _TICK, _COOLDOWN = (_slot[f].__set__ for f in ("price", "tick", "cooldown_timer"))
_PRESALE, _TRADES, _PARTIAL = (_slot[f].__set__ for f in ("presale", "trade_count", "partial"))
_PARTIAL_END, _SNAPSHOT, _HISTORY = (_slot[f].__set__ for f in ("partial_end", "snapshot", "history"))
_SEED_HASH, _VERSION, _BOARD = (_slot[f].__set__ for f in ("seed_hash", "version", "leaderboard"))
_PROBLEMS = _slot["problems"].__set__


def usual_game_state(payload: dict[str, Any]) -> GameState | None:
    """``parse_game_state(payload)`` for the usual message (every field absent or of its type, no
    ``prices`` snapshot: no problem to list); None for anything else, which the general path then reads."""
    get = payload.get
    game_id = get("gameId")
    if type(game_id) is not str or not GAME_ID_RE.fullmatch(game_id) or get("prices") is not None:
        return None
    active, rugged, presale = get("active"), get("rugged"), get("allowPreRoundBuys")
    price, tick = get("price"), get("tickCount")
    cooldown, trades = get("cooldownTimer"), get("tradeCount")
    if not (
        (active is None or active.__class__ is bool)
        and (rugged is None or rugged.__class__ is bool)
        and (presale is None or presale.__class__ is bool)
        and (price is None or (price.__class__ is float and 0.0 < price < _INF))
        and (tick is None or (tick.__class__ is int and 0 <= tick <= MAX_TICK))
        and (cooldown is None or (cooldown.__class__ is int and cooldown >= 0))
        and (trades is None or (trades.__class__ is int and trades >= 0))
    ):
        return None
    partial: dict[int, float] | None = None
    partial_end: int | None = None
    window = get("partialPrices")
    if window is not None:
        values = window.get("values") if window.__class__ is dict else None
        if values.__class__ is not dict:
            return None
        end = window.get("endTick")
        if ("endTick" in window) and not (end.__class__ is int and 0 <= end <= MAX_TICK):
            return None
        out: dict[int, float] = {}
        for key, raw in values.items():  # keys: 1 to 6 ASCII digits, as _TICK_KEY_RE says
            if not (
                raw.__class__ is float
                and 0.0 < raw < _INF
                and key.__class__ is str
                and key.isascii()
                and key.isdigit()
                and len(key) <= 6
            ):
                return None
            out[int(key)] = raw
        if out:
            partial, partial_end = out, end if end is not None and end in out else max(out)
    history, board, fair = get("gameHistory"), get("leaderboard"), get("provablyFair")
    if not (
        (history is None or history.__class__ is list)
        and (board is None or board.__class__ is list)
        and (fair is None or fair.__class__ is dict)
    ):
        return None
    seed_hash = version = None
    if fair is not None:
        seed_hash = as_seed(fair.get("serverSeedHash"))
        version = as_str(fair.get("version"), max_len=8)
    # the frozen dataclass's __init__ sets each field through object.__setattr__ (~4 us a message); its slots'
    # descriptors set the very same fields in a third of that (as rugs_env.game.ledger_types.evolve does)
    state = _new(GameState)
    _GAME_ID(state, game_id)
    _ACTIVE(state, active)
    _RUGGED(state, rugged)
    _PRICE(state, price)
    _TICK(state, tick)
    _COOLDOWN(state, cooldown)
    _PRESALE(state, presale)
    _TRADES(state, trades)
    _PARTIAL(state, partial)
    _PARTIAL_END(state, partial_end)
    _SNAPSHOT(state, None)
    _HISTORY(state, tuple(history) if history is not None else None)
    _SEED_HASH(state, seed_hash)
    _VERSION(state, as_str(get("gameVersion"), max_len=8) or version)
    _BOARD(state, tuple(board) if board is not None else None)
    _PROBLEMS(state, ())
    return state
