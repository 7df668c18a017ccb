"""Shared helpers of the recording-file tests: real games and sessions built from the real capture.

Games come from the 12 seeded ``gameHistory`` entries of the Dec-12 raw capture (prices, peak, seed and
hash as the server sent them); sessions from the capture's 31 public trades, one session per player. The
balances of those sessions are bookkeeping for the tests, not the ledger's numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from recorder.files import (
    ActionKind,
    GameRecording,
    GameSource,
    RecordingsLayout,
    SessionAction,
    SessionMeta,
    SessionRecording,
    SessionSource,
    utc_from_ms,
)
from rugs_env.game.money import to_nano

CAPTURE_UTC_OFFSET = timedelta(hours=5)  # the capture's "ts" is local time, UTC-5
START_BALANCE = 10_000_000_000  # 10 SOL, the tests' bookkeeping


def game_from_history(entry: dict[str, Any]) -> GameRecording:
    """A game file's content from a ``gameHistory`` entry (start ~ 250 ms per tick before its timestamp)."""
    prices = [float(p) for p in entry["prices"]]
    end = utc_from_ms(entry["timestamp"])
    return GameRecording.create(
        game_id=entry["id"],
        start_time=end - timedelta(milliseconds=250 * len(prices)),
        end_time=end,
        prices=prices,
        server_seed_hash=entry["provablyFair"]["serverSeedHash"],
        server_seed=entry["provablyFair"]["serverSeed"],
        peak_multiplier=float(entry["peakMultiplier"]),
        version=entry.get("gameVersion", "v3"),
        verified=False,
        source=GameSource.HISTORY,
        sidebet_count=len(entry.get("globalSidebets") or []),
        price_sources={"history": len(prices)},
    )


def real_games(seeded_games: dict[str, dict[str, Any]]) -> list[GameRecording]:
    return [game_from_history(entry) for entry in seeded_games.values()]


def real_sessions(raw_events: list[dict[str, Any]]) -> list[SessionRecording]:
    """One session per player of the capture's public trades."""
    by_player: dict[str, list[tuple[datetime, dict[str, Any]]]] = {}
    for event in raw_events:
        if event["event"] != "standard/newTrade":
            continue
        trade = event["data"][-1]
        when = datetime.fromisoformat(event["ts"]).replace(tzinfo=UTC) + CAPTURE_UTC_OFFSET
        by_player.setdefault(trade["playerId"], []).append((when, trade))
    sessions = []
    for player_id, trades in by_player.items():
        balance, qty, entry_price = START_BALANCE, 0, None
        actions = []
        for when, trade in trades:
            amount, traded = to_nano(trade["amount"]), to_nano(trade["qty"])
            if trade["type"] == "buy":
                balance, qty, entry_price = balance - amount, qty + traded, float(trade["price"])
                kind = ActionKind.BUY
            else:
                balance, qty = balance + amount, max(0, qty - traded)
                entry_price = entry_price if qty else None
                kind = ActionKind.SELL
            pnl = balance - START_BALANCE + round(qty * float(trade["price"]))
            actions.append(
                SessionAction(
                    game_id=trade["gameId"],
                    tick=trade["tickIndex"],
                    timestamp=when,
                    action=kind,
                    amount=amount,
                    price=float(trade["price"]),
                    balance_after=balance,
                    position_qty_after=qty,
                    entry_price=entry_price,
                    pnl=pnl,
                    qty=traded,
                    trade_id=trade["id"],
                )
            )
        meta = SessionMeta(
            player_id=player_id,
            username=trades[0][1]["username"],
            session_start=trades[0][0] - timedelta(seconds=1),
            session_end=trades[-1][0] + timedelta(seconds=1),
            games_played=len({a.game_id for a in actions}),
            source=SessionSource.LIVE,
            authenticated=False,
        )
        sessions.append(SessionRecording(meta=meta, actions=tuple(actions)))
    return sessions


def write_tree(root: Path, games: list[GameRecording], sessions: list[SessionRecording]) -> RecordingsLayout:
    layout = RecordingsLayout(root)
    for game in games:
        layout.write_game(game)
    for session in sessions:
        layout.write_session(session)
    return layout


def small_game(
    game_id: str = "20251212-0123456789abcdef", start: datetime | None = None, **extra: Any
) -> GameRecording:
    """A tiny valid game, for tests that need many distinct files."""
    start = start or datetime(2025, 12, 12, 22, 0, 0, 123_000, tzinfo=UTC)
    return GameRecording.create(
        game_id=game_id,
        start_time=start,
        end_time=start + timedelta(seconds=1),
        prices=[1.0, 1.0232624314453478, 0.020000000000000018],
        server_seed_hash="f" * 64,
        server_seed=None,
        **extra,
    )
