"""Recordings for the environment tests: ``datasets/sample/`` when it exists, else a temporary tree built from
the real captures (the 12 seeded games of the raw capture and sessions rebuilt from its 31 real trades)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import load_real_trades, load_seeded_games

from recorder.files import GameRecording, RecordingsLayout, SessionRecording
from rugs_env.game import Ledger, LedgerState, Phase
from rugs_env.game.money import to_nano

SAMPLE = Path(__file__).resolve().parents[1] / "datasets" / "sample"
TICK = timedelta(milliseconds=250)


def sample_available() -> bool:
    """True once the recorder's bundled sample holds game files."""
    return SAMPLE.is_dir() and any(SAMPLE.rglob("*.game.json"))


def _start_of(entry: dict[str, Any]) -> datetime:
    end = datetime.fromtimestamp(entry["timestamp"] / 1000, tz=UTC).replace(microsecond=0)
    return end - TICK * len(entry["prices"])


def _session(username: str, trades: list[dict[str, Any]], games: dict[str, Any]) -> SessionRecording:
    actions = []
    ledgers: dict[str, Ledger] = {}
    for tr in trades:
        gid = tr["gameId"]
        ledger = ledgers.get(gid)
        if ledger is None:
            ledger = ledgers[gid] = Ledger(20 * 10**9)
            ledger.open_game(gid)
        tick, price = tr["tickIndex"], tr["price"]
        if tick > 0:
            ledger.on_tick(tick, price)
        if tr["type"] == "buy":
            fill = ledger.buy(to_nano(tr["amount"]))
        else:
            qty = to_nano(tr["qty"])
            if ledger.position_qty < qty:  # bought before the capture started: hold it from the start
                s = ledger.snapshot()
                missing = qty - s.position_qty
                ledger = ledgers[gid] = Ledger.restore(
                    LedgerState(
                        **{
                            **_fields(s),
                            "position_qty": qty,
                            "cost_basis": s.cost_basis + missing,
                            "avg_price": s.avg_price or 1.0,
                            "phase": Phase.ACTIVE,
                        }
                    )
                )
            fill = ledger.sell_qty(qty)
        start = _start_of(games[gid])
        actions.append({
            "game_id": gid, "tick": tick, "timestamp": start + TICK * tick,
            "action": "BUY" if tr["type"] == "buy" else "SELL", "amount": fill.amount, "price": price,
            "balance_after": fill.cash_after, "position_qty_after": fill.position_qty_after,
            "entry_price": fill.avg_cost_after or None, "pnl": fill.game_pnl_after, "qty": fill.qty,
        })  # fmt: skip
    meta = {
        "player_id": trades[0]["playerId"], "username": username,
        "session_start": actions[0]["timestamp"], "session_end": actions[-1]["timestamp"],
    }  # fmt: skip
    return SessionRecording.model_validate({"meta": meta, "actions": actions})


def _fields(s: LedgerState) -> dict[str, Any]:
    return {name: getattr(s, name) for name in LedgerState.__slots__}


def build_recordings(root: Path) -> Path:
    """Write the capture's games and sessions as a recordings tree under ``root``."""
    layout = RecordingsLayout(root)
    games = load_seeded_games()
    for gid, entry in games.items():
        start = _start_of(entry)
        layout.write_game(
            GameRecording.create(
                game_id=gid,
                start_time=start,
                end_time=start + TICK * len(entry["prices"]),
                prices=entry["prices"],
                server_seed_hash=entry["provablyFair"]["serverSeedHash"],
                server_seed=entry["provablyFair"]["serverSeed"],
                version="v3",
            )  # fmt: skip
        )
    by_player: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for tr in load_real_trades():
        by_player[tr["username"]].append(tr)
    for username, trades in by_player.items():
        layout.write_session(_session(username, trades, games))  # capture order is time order
    return root


@pytest.fixture(scope="session")
def recordings_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``datasets/sample/`` if present, else a tree built from the fixtures."""
    if sample_available():
        return SAMPLE
    return build_recordings(tmp_path_factory.mktemp("recordings"))


@pytest.fixture(scope="session")
def store(recordings_root: Path):
    from rugs_env.envs.games import load_store

    return load_store(recordings_root)


def test_the_recordings_load(store) -> None:
    assert store.n_games >= 12
    assert sum(len(p) for p in store.sessions.values()) >= 10


def test_folders_named_like_recordings_are_not_read(tmp_path: Path, recordings_root: Path) -> None:
    from rugs_env.envs.games import load_store, recording_files

    game = next(recordings_root.rglob("*.game.json"))
    (tmp_path / game.name).write_bytes(game.read_bytes())
    (tmp_path / "20251212T221704_Boss_session.json").mkdir()
    (tmp_path / "20251212-0000000000000000.game.json").mkdir()
    assert recording_files(tmp_path) == ([tmp_path / game.name], [])
    assert load_store(tmp_path).n_games == 1
