"""PlayerStateHandler: who is followed, and what the authenticated socket says about its own player.

- Following: ``--follow`` takes usernames or player ids (``did:privy:...``); ``*`` follows everyone seen
  trading or betting. Matching is exact (usernames are case-sensitive on the wire).
- ``usernameStatus`` (authenticated sockets, once per connection): the identity of the user whose token the
  recorder holds; that player is always followed, as an authenticated session.
- ``playerUpdate``: the server's account of that player (cash, position, average cost), handed to the
  session for the :class:`~recorder.verifier.StateVerifier`.
- ``gameStatePlayerUpdate``: the player's own leaderboard row and the rugpool, roughly every tick; the latest
  is kept (``last_entry``) for live views. It carries no cash, so it is not a verification point.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from recorder.events import AccountUpdate, BoardEntry, Identity, Malformed, parse_board_entry

FOLLOW_ALL = "*"


class PlayerStateHandler:
    """Follow targets and the authenticated player's own state."""

    def __init__(self, follow: Iterable[str] = ()) -> None:
        targets = [t for t in follow if t]
        self.follow_all = FOLLOW_ALL in targets
        self.targets = frozenset(t for t in targets if t != FOLLOW_ALL)
        self.identity: Identity | None = None
        self.last_update: AccountUpdate | None = None
        self.last_entry: BoardEntry | None = None
        self.updates = 0
        self.entries = 0

    def wants(self, player_id: str, username: str) -> bool:
        """Whether a player (by id and current username) is followed."""
        if self.identity is not None and player_id == self.identity.player_id:
            return True
        return self.follow_all or player_id in self.targets or (bool(username) and username in self.targets)

    def on_username_status(self, identity: Identity) -> bool:
        """Record the authenticated identity; True when it is a new player."""
        is_new = self.identity is None or self.identity.player_id != identity.player_id
        self.identity = identity
        return is_new

    def on_player_update(self, update: AccountUpdate) -> bool:
        """Keep the latest update; True when it concerns the authenticated identity."""
        if self.identity is None:
            return False
        if update.player_id is not None and update.player_id != self.identity.player_id:
            return False
        self.last_update = update
        self.updates += 1
        return True

    def on_game_state_player_update(self, payload: Any) -> None:
        if not isinstance(payload, dict):
            raise Malformed("gameStatePlayerUpdate payload is not an object")
        entry = payload.get("leaderboardEntry")
        if entry is not None:
            self.last_entry = parse_board_entry(entry)
            self.entries += 1
