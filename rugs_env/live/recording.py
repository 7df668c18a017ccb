"""What a live session records: the raw journal, game files and the bot's session file.

The recorder's own parts, fed exactly as ``rugs record`` feeds them: every event received goes to the
:class:`~recorder.journal.JournalWriter` (the token scrubbed from every line) and to the
:class:`~recorder.pipeline.RecorderPipeline`, whose :class:`~recorder.sink.RecordingSink` writes the games
watched and, for the authenticated player, the session file verified against the server's
``playerUpdate`` (``meta.verification``). The bot's session is therefore recorded exactly as a human's.

On top of that:

* the broker's story is journaled as notes (``@order``, ``@order_result``, ``@order_unknown``,
  ``@reconciled``, ``@halt``...), and a fill learnt only by reconciliation is handed to the pipeline as the
  event it never received (so the session file has it);
* at the end, the session file's meta gets an ``agent`` block: the mode, the agent, the limits, the order
  counts (sent, filled, rejected, refused by code, unknown, reconciled) and the broker's own verification;
* in paper mode there is no server account: the session file is written from the paper broker's fills
  (``player_id`` ``paper:...``, ``agent.mode: paper``, no ``verification``).
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from recorder.files import SessionAction, SessionRecording, SessionSource, rebuild_index
from recorder.journal import JournalWriter
from recorder.pipeline import PipelineConfig, RecorderPipeline
from recorder.session_replay import BET_FILLS, FILL_ACTIONS
from recorder.sink import KEEP_KNOWN, RecordingSink
from rugs_env.game.ledger_types import Fill
from rugs_env.live.options import LiveOptions

if TYPE_CHECKING:
    from rugs_env.live.session import LiveSession

log = logging.getLogger(__name__)
PAPER_WRITE_EVERY = 5.0  # seconds between rewrites of a growing paper session


def now() -> datetime:
    return datetime.now(UTC)


class LiveRecording:
    """The journal, the pipeline and the session file of one live session (see the module docstring)."""

    def __init__(self, options: LiveOptions, session: LiveSession) -> None:
        assert options.out is not None
        self.options = options
        self.session = session
        self.out = options.out
        self.started = now()
        self.sink = RecordingSink(self.out, background=True, keep_known=KEEP_KNOWN)
        self.pipeline = RecorderPipeline(
            self.sink, PipelineConfig(tolerance=options.tolerance), session.health
        )
        self.journal: JournalWriter | None = None
        self.errors = 0
        self.session_path: str | None = None
        self._paper_written = (0.0, -1)

    def open(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        self.sink.layout.cleanup_temp_files(60.0)
        if self.options.journal:
            self.journal = JournalWriter(
                self.out,
                secrets=[self.options.token.reveal()] if self.options.token is not None else (),
                header={
                    "source": "rugs play",
                    **self.options.describe(),
                    "authenticated": self.options.mode == "live",
                },  # fmt: skip
            )

    # -- input (on the session's loop) ---------------------------------------------------------------------
    def feed(self, event: str, args: tuple[Any, ...], conn: int, text: str | None) -> None:
        at = now()
        try:
            if self.journal is not None:
                self.journal.write(at, event, args, conn, text)
            self.pipeline.feed(at, event, args, conn)
            if self.options.mode == "paper" and event == "gameStateUpdate":
                self._maybe_write_paper()
        except Exception:  # the recording must never stop the session
            self.errors += 1
            log.exception("recording %s failed", event)

    def note(self, kind: str, data: dict[str, Any]) -> None:
        if self.journal is not None:
            self.journal.note(now(), kind, data)

    def inject(self, event: str, payload: dict[str, Any]) -> None:
        at = now()
        self.note("reconciled", {"event": event, "payload": payload})
        try:
            self.pipeline.feed(at, event, [payload], 0)
        except Exception:
            self.errors += 1
            log.exception("recording the reconciled %s failed", event)

    # -- the end -------------------------------------------------------------------------------------------
    def close(self) -> None:
        at = now()
        self.pipeline.finish(at)
        self.sink.close()  # flushed by finish: stops the session-writer thread (later writes: direct)
        path = None
        if self.options.mode == "live":
            path = self._annotate_live()
        else:
            path = self._write_paper(final=True)
        if path is not None:
            self.session_path = str(path)
            try:
                rebuild_index(path.parent.parent)
            except (OSError, ValueError) as exc:
                log.warning("could not rebuild the index of %s: %s", path.parent.parent, exc)
        if self.journal is not None:
            self.journal.note(at, "summary", self.session.summary())
            self.journal.note(at, "stop", {})
            self.journal.close()

    def agent_meta(self) -> dict[str, Any]:
        summary = self.session.summary()
        return {**self.options.describe(), **summary, "ended": at_text(now())}

    def _annotate_live(self) -> Any:
        broker = self.session.broker
        pid = getattr(broker, "player_id", None)
        recorder = self.pipeline.sessions.get(pid) if pid else None
        if recorder is None or not recorder.worth_writing:
            return None
        recording = recorder.recording()
        meta = recording.meta.replace(agent=_jsonable(self.agent_meta()))
        annotated = recording.replace(meta=meta)
        try:
            return self.sink.layout.write_session(annotated, overwrite=True)
        except Exception as exc:
            self.errors += 1
            log.error("could not annotate the session file: %s", exc)
            return None

    def _maybe_write_paper(self) -> None:
        last_at, last_count = self._paper_written
        count = len(getattr(self.session.broker, "fills_log", ()))
        if count != last_count and time.monotonic() - last_at >= PAPER_WRITE_EVERY:
            self._write_paper(final=False)

    def _write_paper(self, *, final: bool) -> Any:
        broker = self.session.broker
        with self.session.lock:
            fills = list(getattr(broker, "fills_log", ()))
        self._paper_written = (time.monotonic(), len(fills))
        if not fills:
            return None
        name = str(self.options.agent.get("name") or "bot")
        actions = [_action(fill, at) for fill, at in fills]
        end = max(now(), actions[-1].timestamp)
        meta: dict[str, Any] = {
            "player_id": f"paper:{name}",
            "username": f"paper-{name}",
            "session_start": self.started,
            "session_end": end,
            "games_played": len({a.game_id for a in actions}),
            "source": SessionSource.LIVE,
            "agent": _jsonable(self.agent_meta()),
        }
        recording = SessionRecording.model_validate({"meta": meta, "actions": actions})
        if not final:
            self.sink.write_session(recording)
            return None
        try:
            return self.sink.layout.write_session(recording, overwrite=True)
        except Exception as exc:
            self.errors += 1
            log.error("could not write the paper session: %s", exc)
            return None


def _action(fill: Fill, at: datetime) -> SessionAction:
    bet = fill.kind in BET_FILLS
    return SessionAction(
        game_id=fill.game_id,
        tick=fill.tick,
        timestamp=at,
        action=FILL_ACTIONS[fill.kind],
        amount=fill.amount,
        price=fill.price,
        balance_after=fill.cash_after,
        position_qty_after=fill.position_qty_after,
        entry_price=fill.avg_cost_after if fill.position_qty_after else None,
        pnl=fill.game_pnl_after,
        qty=None if bet else fill.qty,
    )


def at_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _jsonable(value: Any) -> Any:
    """Plain JSON data (the meta's unknown keys must be JSON values)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    return str(value)


__all__ = ["LiveRecording"]
