"""``rugs serve``: a local rugs.fun-compatible Socket.IO game server (games, trading, bots, faults).

Prints the URL it listens on, then runs until SIGINT/SIGTERM. Ground truth: ``GET <url>/truth/games``,
``/truth/players``, ``/truth/orders`` (every order event received, and its fate), ``/truth/audit``.
Players authenticate with ``authenticate {"token": ...}``; accounts come from ``--players FILE``
(``{"players": [{"token", "id", "username", "balance", "level"}]}``), ``--player`` options, or ``--open``
(any token gets a fresh account).
"""

from __future__ import annotations

import argparse
import math
import sys

from rugs_env.cli.common import CliError


def _speed(text: str) -> float:
    if text.lower() in ("inf", "max"):
        return math.inf
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError("speed must be > 0 (or 'max')")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("serve", help="run a local rugs.fun-compatible Socket.IO game server")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=0, help="port (default 0: a free port, printed)")
    p.add_argument(
        "--speed",
        type=_speed,
        default=1.0,
        help="time scale: 1 = real time (250 ms ticks), 100 = 100x faster, 'max' = unthrottled",
    )
    p.add_argument("--seed", type=int, default=None, help="make games, bots and faults reproducible")
    p.add_argument("--bots", type=int, default=0, help="number of in-process bot players")
    p.add_argument("--replay", metavar="DIR", default=None, help="serve recorded games from DIR instead")
    p.add_argument("--games", type=int, default=None, help="stop after this many games (default: never)")
    acc = p.add_argument_group("accounts")
    acc.add_argument("--players", metavar="FILE", help="JSON file of player accounts (tokens, ids, balances)")
    acc.add_argument(
        "--player",
        action="append",
        default=[],
        metavar="TOKEN[:USERNAME[:BALANCE]]",
        help="add an account (repeatable); balance in SOL, default 10",
    )
    acc.add_argument("--open", action="store_true", help="any token authenticates (fresh 10 SOL account)")
    acc.add_argument(
        "--public-liquidations",
        action="store_true",
        help="broadcast the forced sells at the rug as standard/newTrade (default: to their owner only)",
    )
    flt = p.add_argument_group("faults (per connection, deterministic under --seed)")
    flt.add_argument(
        "--drop", type=float, default=0.0, metavar="RATE", help="drop this fraction of gameStateUpdate"
    )
    flt.add_argument("--duplicate", type=float, default=0.0, metavar="RATE", help="send this fraction twice")
    flt.add_argument(
        "--reorder",
        type=float,
        default=0.0,
        metavar="RATE",
        help="hold this fraction back behind the next message",
    )
    flt.add_argument(
        "--malformed",
        type=float,
        default=0.0,
        metavar="RATE",
        help="precede this fraction by a malformed gameStateUpdate",
    )
    flt.add_argument(
        "--disconnect-every",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="drop each connection after this much game time",
    )
    flt.add_argument(
        "--pause-every",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="stall the whole game this often (game time)",
    )
    flt.add_argument("--pause-for", type=float, default=2.0, metavar="SECONDS", help="length of each stall")
    flt.add_argument(
        "--lose-acks",
        type=float,
        default=0.0,
        metavar="RATE",
        help="never acknowledge this fraction of orders (they are executed or refused all the same)",
    )
    flt.add_argument(
        "--late-updates",
        type=float,
        default=0.0,
        metavar="RATE",
        help="hold this fraction of players' own playerUpdate messages back (see --late-by)",
    )
    flt.add_argument(
        "--late-by",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how long a late update is held (game time; default 1); later messages overtake it",
    )
    flt.add_argument(
        "--late-state-updates",
        action="store_true",
        help="--late-updates applies to gameStatePlayerUpdate messages too",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log server activity to stderr")
    p.set_defaults(handler=run)


def _player_option(text: str, index: int):  # -> PlayerSpec
    from rugs_env.game.money import MoneyFormatError, to_nano
    from rugs_env.server.config import DEFAULT_BALANCE_SOL, PlayerSpec

    token, _, rest = text.partition(":")
    username, _, balance = rest.partition(":")
    if not token:
        raise CliError(f"--player {text!r}: empty token")
    try:
        lamports = to_nano(balance or DEFAULT_BALANCE_SOL)
    except MoneyFormatError as exc:
        raise CliError(f"--player {text!r}: bad balance: {exc}") from exc
    return PlayerSpec(
        token=token,
        player_id=f"did:privy:local{index:020d}",
        username=username or f"player{index}",
        balance_lamports=lamports,
    )


def build_config(args: argparse.Namespace):  # -> ServerConfig
    from pathlib import Path

    from rugs_env.server.config import ConfigError, FaultConfig, ServerConfig, load_players

    try:
        players = load_players(args.players) if args.players else []
        players += [_player_option(text, i + len(players)) for i, text in enumerate(args.player)]
        faults = FaultConfig(
            drop_rate=args.drop,
            duplicate_rate=args.duplicate,
            reorder_rate=args.reorder,
            malformed_rate=args.malformed,
            disconnect_every_s=args.disconnect_every,
            pause_every_s=args.pause_every,
            pause_duration_s=args.pause_for if args.pause_every else 0.0,
            lost_ack_rate=args.lose_acks,
            late_update_rate=args.late_updates,
            late_update_s=args.late_by,
            late_state_updates=args.late_state_updates,
        )
        config = ServerConfig(
            host=args.host,
            port=args.port,
            speed=args.speed,
            seed=args.seed,
            bots=args.bots,
            replay_dir=Path(args.replay) if args.replay else None,
            players=players,
            open_registration=args.open,
            broadcast_liquidations=args.public_liquidations,
            faults=faults,
            max_games=args.games,
        )
        config.validate()
    except ConfigError as exc:
        raise CliError(str(exc)) from exc
    if config.replay_dir is not None and not config.replay_dir.is_dir():
        raise CliError(f"--replay {config.replay_dir}: not a directory")
    return config


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from rugs_env.server.runner import serve_until_stopped

    config = build_config(args)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )

    def ready(server) -> None:
        print(server.url, flush=True)
        print(
            f"rugs serve: speed {config.speed}x, {config.bots} bots, {len(config.players)} accounts"
            f"{', open registration' if config.open_registration else ''}"
            f"{', faults on' if config.faults.enabled else ''}; truth at {server.url}/truth/games",
            file=sys.stderr,
            flush=True,
        )

    def done(server) -> None:
        reason = f"clock error: {server.clock_error!r}" if server.clock_error else "no more games"
        print(
            f"rugs serve: {reason} ({server.engine.games_started} played); still serving until stopped",
            file=sys.stderr,
            flush=True,
        )

    try:
        asyncio.run(serve_until_stopped(config, ready, done))
    except OSError as exc:
        raise CliError(f"cannot listen on {config.host}:{config.port}: {exc}") from exc
    return 0
