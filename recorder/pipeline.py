"""The recorder's heart: a transport-free, synchronous pipeline from events to recordings.

``RecorderPipeline.feed(at, event, args)`` takes one event as received (its UTC time, its name, all its
arguments, payload last) and routes it to the handlers: ``gameStateUpdate`` to the
:class:`~recorder.games.GameStateRecorder`, trades and sidebets to the followed players'
:class:`~recorder.sessions.PlayerSessionRecorder`, the authenticated player's own events to the
:class:`~recorder.players.PlayerStateHandler`. Finished games and sessions are written through the
:class:`~recorder.sink.RecordingSink`. Nothing here knows about sockets or wall clocks: the live recorder
and ``rugs ingest`` feed the very same pipeline, so a journal re-derives exactly what was recorded live.

Robustness: every event is handled inside a guard. A malformed payload (wrong types, missing fields,
garbage), an unknown event, a handler bug: counted, logged (the first few of each kind, then rarely) and
skipped; the pipeline keeps going. Events received twice (several connections, server duplicates) are
recognised by the trade id or content and used once.

Several connections: their events interleave, and one connection may lag behind another (its backlog
grows while the process is busy). A game's session actions are therefore sealed only once every connected
connection has moved on to a later game (or ``SETTLE_AFTER`` seconds after its reveal): until then, a
lagging connection may still bring one of its trades.
"""

from __future__ import annotations

import contextlib
import logging
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from recorder.arrival_order import SightingKey, bet_sighting, trade_sighting
from recorder.events import (
    HistoryEntry,
    Malformed,
    SidebetEvent,
    parse_board_entry,
    parse_game_state,
    parse_player_update,
    parse_sidebet,
    parse_trade,
    parse_username_status,
    payload_of,
    time_from_ms,
)
from recorder.games import GameStateRecorder
from recorder.pipeline_config import IGNORED_EVENTS, Health, PipelineConfig, PipelineCounters, _Limited
from recorder.players import PlayerStateHandler
from recorder.recent_keys import RecentKeys
from recorder.session_inputs import Rug
from recorder.sessions import PlayerSessionRecorder
from recorder.sink import RecordingSink

log = logging.getLogger(__name__)
DEDUPE_MEMORY = 20_000
SETTLE_AFTER = 10.0  # seconds after a reveal when a game's sessions are sealed even if a connection lags


class RecorderPipeline:
    """Events in, recordings out (see the module docstring)."""

    def __init__(
        self, sink: RecordingSink, config: PipelineConfig | None = None, health: Health | None = None
    ):
        self.sink = sink
        self.config = config or PipelineConfig()
        self.health = health
        self.players = PlayerStateHandler(self.config.follow)
        self.games = GameStateRecorder(
            sink, self, live_source=self.config.live_source, recorder_version=self.config.recorder_version
        )
        self.sessions: dict[str, PlayerSessionRecorder] = {}
        self.counters = PipelineCounters()
        self.unknown_events: Counter[str] = Counter()
        self.problems = _Limited()
        self._seen = RecentKeys(DEDUPE_MEMORY)
        self._flushed_at: datetime | None = None
        self._conn = 0
        self._live_conns: set[int] = set()
        self._conn_rank: dict[int, float] = {}
        self._unsettled: dict[str, tuple[int, Rug | None, datetime]] = {}
        self._seq = 0
        self._last_at: datetime | None = None
        self._handlers = {
            "gameStateUpdate": self._game_state,
            "standard/newTrade": self._trade,
            "newSideBet": self._sidebet_placed,
            "currentSidebet": self._sidebet_placed,
            "currentSidebetResult": self._sidebet_result,
            "usernameStatus": self._username_status,
            "playerUpdate": self._player_update,
            "gameStatePlayerUpdate": self._game_state_player_update,
        }

    # -- input ---------------------------------------------------------------------------------------------
    def feed(self, at: datetime, event: str, args: Sequence[Any] | None, conn: int = 0) -> None:
        """Handle one event (``args``: every argument as received, payload last). Never raises."""
        self._seq += 1
        self.counters.events += 1
        self._last_at = at
        self._conn = conn
        if event == "connect":
            self._live_conns.add(conn)
            self._conn_rank.pop(conn, None)  # a new stream starts at the current game, after none of ours
        elif event == "disconnect":
            self._live_conns.discard(conn)
            self._conn_rank.pop(conn, None)
        handler = self._handlers.get(event) if isinstance(event, str) else None
        if handler is None:
            if isinstance(event, str) and (event in IGNORED_EVENTS or event.startswith("@")):
                self.counters.ignored += 1
            else:
                self.counters.unknown += 1
                name = event[:60] if isinstance(event, str) else repr(event)[:60]
                if len(self.unknown_events) < 200 or name in self.unknown_events:
                    self.unknown_events[name] += 1
                self.problems("unknown", "unknown event %r skipped", name)
            return
        try:
            handler(at, payload_of(args))
        except Malformed as exc:
            self.counters.malformed += 1
            self.problems(f"malformed:{event}", "malformed %s skipped: %s", event, exc)
        except Exception:  # a bug must not stop a recorder: count it, keep the traceback in the log
            self.counters.errors += 1
            log.exception("error while handling %s (skipped)", event)
        if self._unsettled:
            self._settle(at)
        if self.sessions:
            self._flush_sessions(at)

    def duplicate(self, at: datetime, event: str, args: Sequence[Any] | None, conn: int = 0) -> None:
        """An event already fed, received again on another connection: only the bookkeeping of which game
        that connection has reached, and where a trade stands in its stream, is done (the live recorder
        skips the full handling of such copies)."""
        self._seq += 1
        self._conn = conn
        self.counters.events += 1
        self.counters.duplicates += 1
        payload = payload_of(args)
        if event in ("standard/newTrade", "newSideBet", "currentSidebet"):
            with contextlib.suppress(Malformed):
                self._copy_seen(event, payload)
            return
        if event == "gameStateUpdate" and isinstance(payload, dict):
            game_id = payload.get("gameId")
            rank = self.games.rank(game_id) if isinstance(game_id, str) else None
            if rank is not None and rank > self._conn_rank.get(conn, -1):
                self._conn_rank[conn] = rank

    def finish(self, at: datetime | None = None) -> None:
        """End of input: save games waiting for their reveal, write every session, rebuild the indexes."""
        at = at or self._last_at
        if at is not None:
            try:
                self.games.finish(at)
                self._settle(at, force=True)
            except Exception:
                self.counters.errors += 1
                log.exception("error while saving the games in progress")
        for session in self.sessions.values():
            try:
                session.refresh(self.games.clock, final=True)
                self._write(session, final=True)
            except Exception:
                self.counters.errors += 1
                log.exception("error while writing the session of %r", session.username)
        self.sink.flush()

    # -- helpers -------------------------------------------------------------------------------------------
    def _first(self, key: Any) -> bool:
        """True the first time ``key`` is seen (among the last DEDUPE_MEMORY keys, at least)."""
        if self._seen.add(key):
            return True
        self.counters.duplicates += 1
        return False

    def _session(
        self, player_id: str, username: str, at: datetime, *, authenticated: bool = False
    ) -> PlayerSessionRecorder:
        session = self.sessions.get(player_id)
        if session is None:
            cfg = self.config
            session = PlayerSessionRecorder(
                player_id,
                username,
                at,
                self.games,
                start_balance=None if authenticated else cfg.start_balance,
                authenticated=authenticated,
                source=cfg.session_source,
                tolerance=cfg.tolerance,
                recorder_version=cfg.recorder_version,
            )
            self.sessions[player_id] = session
            log.info("following %r (%s)%s", username, player_id, " (authenticated)" if authenticated else "")
        return session

    def _refresh(self, session: PlayerSessionRecorder, at: datetime) -> None:
        """New inputs: the session re-derives its open games lazily (at the next flush or game end), since a
        replay on every trade would cost more than the feed can afford at high speed."""

    def _write(self, session: PlayerSessionRecorder, *, final: bool = False) -> None:
        """Write the session's file if it changed. A full file is closed first (its last version holds its
        sealed games only; the games still open go whole into the next file): a game's actions are in
        exactly one file. At the end of input (``final``) nothing follows, so nothing is closed."""
        if session.full and not final:
            self.sink.write_session(session.roll(), session.texts)
        if session.changed and session.worth_writing:
            self.sink.write_session(session.recording(), session.texts)

    def _flush_sessions(self, at: datetime) -> None:
        """Rewrite the changed sessions, at most every ``session_write_interval`` seconds of event time:
        in real time a game lasts far longer, so a killed recorder still loses at most the game in
        progress."""
        if (
            self._flushed_at is not None
            and (at - self._flushed_at).total_seconds() < self.config.session_write_interval
        ):
            return
        self._flushed_at = at
        for session in self.sessions.values():
            try:
                session.refresh(self.games.clock)
                self._write(session)
            except Exception:
                self.counters.errors += 1
                log.exception("error while writing the session of %r", session.username)

    # -- handlers ------------------------------------------------------------------------------------------
    def _game_state(self, at: datetime, payload: Any) -> None:
        state = parse_game_state(payload)
        if state.problems:
            self.counters.malformed += 1
            self.problems(
                "fields",
                "gameStateUpdate of %s with bad fields %s (those fields ignored)",
                state.game_id,
                ",".join(state.problems[:5]),
            )
        if (
            self.games.on_state(at, state, self._conn_rank.get(self._conn))
            and self.health is not None
            and state.tick is not None
        ):
            self.health.on_tick(at, state.game_id, state.tick)
        rank = self.games.rank(state.game_id)
        if rank is not None and rank > self._conn_rank.get(self._conn, -1):
            self._conn_rank[self._conn] = rank
        if state.leaderboard and self.sessions and state.running and state.tick is not None:
            self._board(state.game_id, state.tick, state.leaderboard)

    def _board(self, game_id: str, tick: int, rows: Sequence[Any]) -> None:
        """Leaderboard rows of followed players that changed: the server's view of their positions."""
        for row in rows:
            player_id = row.get("id") if isinstance(row, dict) else None
            session = self.sessions.get(player_id) if isinstance(player_id, str) else None
            if session is None:
                continue
            raw = (row.get("positionQty"), row.get("totalInvested"))
            if not session.wants_row(game_id, raw):
                continue
            try:
                session.note_board(game_id, tick, parse_board_entry(row), raw)
            except Malformed:
                self.counters.malformed += 1

    def _trade(self, at: datetime, payload: Any) -> None:
        trade = parse_trade(payload)
        if not self._first(trade.identity()):
            return self._seen_again(trade.player_id, trade.game_id, trade_sighting(trade))
        if self.players.wants(trade.player_id, trade.username):
            self.games.place(trade.game_id, self._conn_rank.get(self._conn))
            session = self._session(trade.player_id, trade.username, at)
            session.add_trade(trade, at, self._seq, self._conn)
            self._refresh(session, at)

    def _sidebet_placed(self, at: datetime, payload: Any) -> None:
        bet = parse_sidebet(payload, default_kind="placed")
        if bet.kind != "placed":
            return self._settled(at, bet)
        if not self._first(("bet", bet.player_id, bet.game_id, bet.start_tick)):
            return self._seen_again(bet.player_id, bet.game_id, bet_sighting(bet))
        if self.players.wants(bet.player_id, bet.username):
            self.games.place(bet.game_id, self._conn_rank.get(self._conn))
            session = self._session(bet.player_id, bet.username, at)
            session.add_sidebet(bet, at, self._seq, conn=self._conn)
            self._refresh(session, at)

    def _copy_seen(self, event: str, payload: Any) -> None:
        """A copy of a trade or a sidebet placement: only where it stands in this connection's stream."""
        if event == "standard/newTrade":
            trade = parse_trade(payload)
            self._seen_again(trade.player_id, trade.game_id, trade_sighting(trade))
        else:
            bet = parse_sidebet(payload, default_kind="placed")
            if bet.kind == "placed":
                self._seen_again(bet.player_id, bet.game_id, bet_sighting(bet))

    def _seen_again(self, player_id: str, game_id: str, key: SightingKey) -> None:
        session = self.sessions.get(player_id)
        if session is not None:
            session.seen_again(game_id, key, self._conn, self._seq)

    def _sidebet_result(self, at: datetime, payload: Any) -> None:
        self._settled(at, parse_sidebet(payload, default_kind="payout"))

    def _settled(self, at: datetime, bet: SidebetEvent) -> None:
        if self.players.wants(bet.player_id, bet.username):
            session = self._session(bet.player_id, bet.username, at)
            session.add_result(bet, at)
            self._refresh(session, at)

    def _username_status(self, at: datetime, payload: Any) -> None:
        identity = parse_username_status(payload)
        self.players.on_username_status(identity)
        self._session(identity.player_id, identity.username, at, authenticated=True).authenticate(
            self.config.tolerance
        )

    def _player_update(self, at: datetime, payload: Any) -> None:
        update = parse_player_update(payload)
        if not self.players.on_player_update(update):
            return
        identity = self.players.identity
        assert identity is not None
        session = self._session(identity.player_id, identity.username, at, authenticated=True)
        # The game this connection is on (its stream is in the server's order; another may be ahead).
        rank = self._conn_rank.get(self._conn)
        session.add_update(update, at, self.games.clock, self.games.latest_rank if rank is None else rank)
        self._refresh(session, at)

    def _game_state_player_update(self, at: datetime, payload: Any) -> None:
        self.players.on_game_state_player_update(payload)

    # -- the game recorder's listener ----------------------------------------------------------------------
    def on_rug(self, game_id: str, tick: int, price: float, at: datetime) -> None:
        for session in self.sessions.values():
            if game_id in session.open_games:
                session.game_rugged(game_id, tick, price, at)

    def on_final(self, game_id: str, rug: Rug | None, entry: HistoryEntry | None, at: datetime) -> None:
        if entry is not None and self.games.seen_live(game_id):
            self._history_sidebets(entry, at)
        rank = self.games.rank(game_id)
        self._unsettled[game_id] = (rank if rank is not None else -1, rug, at)
        self._settle(at)

    def _settle(self, at: datetime, *, force: bool = False) -> None:
        """Seal the sessions' finished games once no connection can still bring one of their events."""
        for game_id, (rank, rug, final_at) in list(self._unsettled.items()):
            behind = [c for c in self._live_conns if self._conn_rank.get(c, -1) <= rank]
            if behind and not force and (at - final_at).total_seconds() < SETTLE_AFTER:
                continue
            del self._unsettled[game_id]
            for session in self.sessions.values():
                if game_id in session.open_games:
                    try:
                        self._seal(session, game_id, rug)
                    except Exception:  # one session's bug must not keep the others from sealing the game
                        self.counters.errors += 1
                        log.exception("error while sealing game %s for %r", game_id, session.username)

    def _seal(self, session: PlayerSessionRecorder, game_id: str, rug: Rug | None) -> None:
        session.game_final(game_id, rug)
        # Inputs for a game that is over and no longer pending (they came after its end, or the game was
        # never revealed in our view) must not hold the later games back.
        for stale in session.open_games:
            if self.games.rank_of(stale) < self.games.rank_of(game_id) and not self._pending(stale):
                session.game_final(stale, self.games.rug_of(stale))
        session.refresh(self.games.clock)  # seal it while its prices are at hand

    def _pending(self, game_id: str) -> bool:
        """Whether the game may still change: tracked by the game recorder, or revealed but not settled."""
        return game_id in self._unsettled or game_id in self.games.tracked

    def _history_sidebets(self, entry: HistoryEntry, at: datetime) -> None:
        """Sidebets of followed players from ``globalSidebets`` (public sidebets are only known there)."""
        for raw in entry.sidebets:
            try:
                bet = parse_sidebet(raw)
            except Malformed as exc:
                self.counters.malformed += 1
                self.problems("malformed:globalSidebets", "malformed globalSidebets record skipped: %s", exc)
                continue
            if bet.game_id != entry.game_id or not self.players.wants(bet.player_id, bet.username):
                continue
            when = time_from_ms(bet.timestamp_ms) or at
            session = self._session(bet.player_id, bet.username, when)
            if bet.kind == "placed":
                if self._first(("bet", bet.player_id, bet.game_id, bet.start_tick)):
                    session.add_sidebet(bet, when, self._seq, live=False)
            else:
                session.add_result(bet, when)
