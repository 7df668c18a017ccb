"""``rugs play --live`` (a subprocess) against the local server with its faults on, over loopback.

50 live games with a random masked policy, the server dropping, duplicating, reordering and corrupting
``gameStateUpdate`` messages, cutting every connection every ~20 s of game time, stalling the whole game now
and then, holding a third of the player's ``playerUpdate`` messages back half a second of game time (its
late-update fault) and never acknowledging some orders (its lost-ack fault). The run must end with zero
duplicated orders (the server's ground truth of the orders it received: at most what the bot emitted, and
filled exactly what the bot counts as filled), none over ``--max-stake``, the bot's ledger equal to the
server's own to the lamport, zero drift and no halt, and a recordings folder that ``rugs verify`` accepts,
with the bot's session file carrying its verification counts. The token (given in a 0600 file) appears in
no output and no file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from recorder_helpers import pick_games

from rugs_env.server.config import FaultConfig, PlayerSpec, ServerConfig
from rugs_env.server.runner import ServerThread

pytestmark = [pytest.mark.e2e]
ROOT = Path(__file__).resolve().parent.parent
RUGS = [sys.executable, "-c", "import sys; from rugs_env.cli import main; sys.exit(main())"]
TOKEN = "tok-FAULTS-canary-91b2e7"
PLAYER = PlayerSpec(TOKEN, "did:privy:faultbot000000000000000", "faultbot", 10 * 10**9)
FAULTS = FaultConfig(drop_rate=0.05, duplicate_rate=0.02, reorder_rate=0.02, malformed_rate=0.01,
                     disconnect_every_s=20.0, pause_every_s=30.0, pause_duration_s=3.0,
                     late_update_rate=0.33, late_update_s=0.5, lost_ack_rate=0.03)  # fmt: skip
GAMES = 50


@pytest.mark.slow
def test_fifty_live_games_with_faults(tmp_path: Path) -> None:
    out = tmp_path / "recordings"
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    config = ServerConfig(speed=50.0, seed=23, players=[PLAYER], bots=3, faults=FAULTS,
                          games=pick_games(GAMES + 20, 15, 60, salt="faults"))  # fmt: skip
    with ServerThread(config) as server:
        cmd = [*RUGS, "play", "--url", server.url, "--live", "--token-file", str(token_file),
               "--policy", "random", "--seed", "3", "--games", str(GAMES), "--out", str(out),
               "--max-stake", "0.25", "--max-loss", "5", "--rate", "40", "--burst", "10",
               "--reconnect-delay", "0.02", "--reconnect-max", "0.1", "--json"]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if k != "RUGS_TOKEN"} | {"PYTHONUNBUFFERED": "1"}
        proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=400)
        truth = server.call(lambda s: s.truth.player(PLAYER.player_id).to_json())
        ours = server.call(lambda s: s.truth.orders_json(PLAYER.player_id))  # every order it received
        status = server.call(lambda s: s.status())
    assert proc.returncode == 0, proc.stderr[-4000:]
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    session, play = doc["session"], doc["play"]
    orders = session["orders"]
    print(json.dumps({"orders": orders, "verification": session["verification"], "received": len(ours),
                      "reconnects": session["reconnects"], "faults": status["counters"]}))  # fmt: skip
    # 50 games, with the faults really happening
    assert play["games"] == GAMES and play["halted"] is None
    faults = status["counters"]["faults"]
    assert status["counters"]["fault_disconnects"] >= 5 and faults.get("dropped", 0) > 0
    assert faults.get("updates_late", 0) > 0 and any(r["ack_lost"] for r in ours)
    assert session["reconnects"] >= 5
    # zero duplicated orders: the server got at most what was emitted, and filled exactly what the bot filled
    print("received", len(ours), "late steps", play["late_steps"], "skipped", play["skipped_ticks"])
    assert orders["sent"] > 100
    assert orders["sent"] - orders["unknown"] <= len(ours) <= orders["sent"]
    order_fills = [f for f in truth["fills"] if f["kind"] in ("buy", "sell", "sidebet_place")]
    assert len(order_fills) == orders["filled"] == sum(r["outcome"] == "filled" for r in ours)
    # no order over --max-stake ever left
    assert all(r["payload"]["amount"] <= 0.25 for r in ours if r["event"] in ("buyOrder", "requestSidebet"))
    # zero unexplained drift: the bot's ledger is the server's, and no playerUpdate disagreed
    assert session["verification"]["drift_count"] == 0 and session["halted"] is None
    assert session["verification"]["player_updates_checked"] >= orders["filled"]
    final = truth["state"]
    assert doc["final_account"] == {
        "cash": final["cash_lamports"],
        "position_qty": final["position_qty_nano"],
    }
    # the recordings verify, and the session file carries its verification counts
    verify = subprocess.run(
        [*RUGS, "verify", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert verify.returncode == 0, verify.stdout[-3000:]
    metas = [json.loads(p.read_text())["meta"] for p in sorted(out.rglob("*_session.json"))]
    assert metas and all(m["player_id"] == PLAYER.player_id and m["authenticated"] is True for m in metas)
    assert all(m["verification"]["drift_count"] == 0 for m in metas)  # every file (a long session rolls)
    assert sum(m["verification"]["player_updates_checked"] for m in metas) > 100
    meta = json.loads(Path(doc["session_file"]).read_text())["meta"]
    assert meta["agent"]["mode"] == "live" and meta["agent"]["orders"]["sent"] == orders["sent"]
    # and the token is nowhere
    texts = [proc.stdout, proc.stderr] + [
        p.read_text(errors="replace") for p in out.rglob("*") if p.is_file()
    ]
    assert all(TOKEN not in text for text in texts)
