"""The local rugs.fun-compatible Socket.IO server: games, cadence, trading, bots, faults, ground truth.

Modules, by responsibility:

==================  ========================================================================================
``config``          ServerConfig, FaultConfig, PlayerSpec (plain data; the CLI maps onto it)
``games``           GameSpec and where games come from (fresh seeds, a fixed list, recordings)
``engine``          the time-free game engine: lifecycle state machine producing the messages to send
``messages``        gameStateUpdate payloads in the four real shapes
``stats``           cross-game block: gameHistory, rolling peak stats, day records, rugpool
``market``          phase/tick/price as orders see them
``players``         accounts (token, did:privy id, username) and their rulebook ledgers
``trading``         the order path: validation, ledger fills, settlement, leaderboard
``player_views``    playerUpdate, leaderboard rows, newTrade, sidebet records (from the ledger's numbers)
``bots``            in-process players trading through the same order path
``faults``          per-connection fault injection
``truth``/``audit`` ground truth and its consistency checks
``order_log``       ground truth of the orders received (every order event, as received, and its fate)
``wire``            Emission, trace objects, JS-style numbers, the memoising gameStateUpdate encoder
``hub``/``app``     sockets: delivery (encode once, bounded backlog, faults) and the event handlers
``routes``          GET / and /truth/... JSON routes
``runner``          the async clock, RugsServer (async context manager), ServerThread (sync handle)
``replay``          games from recording files (``--replay DIR``)
``testing``         FeedClient and find_games, for tests over real sockets
==================  ========================================================================================

Protocol decisions (where the captures are silent, PROTOCOL.md §10):

- ``authenticate``: payload ``{"token": "<token>"}`` as the last argument (a trace object may come first; a
  bare token string is accepted), or ``auth={"token": ...}`` in the Socket.IO connect. Reply: events
  ``usernameStatus`` then ``playerUpdate``, then the ack ``{"success": true, "id", "username"}`` or
  ``{"success": false, "reason": "invalid_token"}``. Tokens, ids and balances come from the config
  (``--players FILE``, ``--player``), or any token gets an account with ``--open``.
- Failed orders ack ``{"success": false, "reason": <code>, "message": <text>}``; ``reason`` is the ledger's
  error code or one of ``not_authenticated``, ``invalid_payload``, ``trading_closed``, ``unsupported_coin``,
  ``invalid_payout``, ``internal_error`` (see :mod:`rugs_env.server.trading`), or ``disconnected`` for an
  order read from a socket the server had just cut (never executed; its ack goes nowhere).
- ``sellOrder {"percentage": p}``: any number in (0, 100], a fraction ``p / 100`` of the position.
  Amounts are SOL, rounded to the lamport. Sidebets in SOL only (``coinAddress`` = the SOL mint,
  ``xPayout`` 5); the second empty ack of the real ``requestSidebet`` is not reproduced.
- Presale buys are filled by the ledger when ordered (at 1.0, ``tickIndex`` 0) and broadcast at once; so
  presale leaderboard rows show the position (the real ones show 0 until tick 0).
- Forced sells at the rug: a ``sell`` ``standard/newTrade`` at the rug price to the owner only (public
  with ``broadcast_liquidations``); they count in ``tradeCount``, as the real rug message's jump shows.
- Full messages use the Dec-2025 key set (36 keys, with ``gameHistory[].prices``).
- A disconnect fault aborts the TCP connection (clients see a network failure and reconnect).
- A lost-ack fault sends no ack packet at all for the order (executed or refused as usual, events sent).
  A late-update fault holds a player's own ``playerUpdate`` (optionally ``gameStatePlayerUpdate``) for a
  while of game time; later messages overtake it (see :mod:`rugs_env.server.faults`).

Start one::

    async with RugsServer(ServerConfig(speed=50, seed=7, bots=5)) as server:
        print(server.url); await server.wait_for_games(2); server.truth.games()
        server.truth.orders("did:privy:...")                  # what that player's sockets asked for

    with ServerThread(ServerConfig(speed=50)) as server:      # from synchronous code
        server.url; server.call(lambda s: s.truth.games_json())
"""

from rugs_env.server.config import ConfigError, FaultConfig, PlayerSpec, ServerConfig, load_players
from rugs_env.server.engine import Frame, GameEngine
from rugs_env.server.games import GameSpec
from rugs_env.server.order_log import UNAUTHENTICATED, OrderRecord
from rugs_env.server.runner import RugsServer, ServerThread
from rugs_env.server.truth import GameRecord, PlayerRecord, Truth

__all__ = [
    "ConfigError",
    "FaultConfig",
    "Frame",
    "GameEngine",
    "GameRecord",
    "GameSpec",
    "OrderRecord",
    "PlayerRecord",
    "PlayerSpec",
    "RugsServer",
    "ServerConfig",
    "ServerThread",
    "Truth",
    "UNAUTHENTICATED",
    "load_players",
]
