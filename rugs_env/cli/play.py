"""``rugs play``: an agent on the live feed (paper by default; real orders only with ``--live``).

::

    rugs play --url URL (--model M.zip | --policy random|hold) [--games N] [--max-stake SOL] [--max-loss SOL]
              [--paper | --live] [--token-file FILE]        # or the RUGS_TOKEN environment variable

``--paper`` (the default) plays the live feed with simulated fills (the rulebook's ledger); nothing is
sent. ``--live`` sends real orders on the user's authenticated socket and needs the token: from
``--token-file`` or ``RUGS_TOKEN`` (a plain ``--token`` works but is warned about: it stays in the shell
history and the process list). Risk limits are checked before any order leaves (``--max-stake``: no buy or
sidebet larger; ``--max-loss``: the session can never lose more, as no buy or sidebet may spend cash below
the starting balance minus it), and orders are rate-limited (``--rate`` per second, ``--burst`` at once).

Everything is recorded under ``--out`` as ``rugs record`` would (games, the raw journal, and the bot's
session file with its verification counts and an ``agent`` block in its meta), unless ``--no-record``. A
status line shows the tick, price, position, PnL, orders and drift. Exit status: 0, or 3 when trading was
halted (drift, or an order whose fate the server's account does not explain).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rugs_env.cli.common import CliError, positive, print_json

EXIT_HALTED = 3


def _sol(text: str) -> int:
    from rugs_env.game.money import MoneyFormatError, to_nano

    try:
        value = to_nano(text)
    except MoneyFormatError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value < 0:
        raise argparse.ArgumentTypeError("must be >= 0")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("play", help="play live games with an agent (paper by default, --live for real)")
    p.add_argument("--url", required=True, help="the feed (the real service, or a local `rugs serve`)")
    who = p.add_mutually_exclusive_group()
    who.add_argument("--model", default=None, metavar="PATH", help="a stable-baselines3 / MaskablePPO .zip")
    who.add_argument(
        "--policy", choices=("random", "hold"), default=None, help="a built-in policy (smoke runs)"
    )
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--paper", action="store_true", help="simulated fills on the live feed (the default)")
    mode.add_argument("--live", action="store_true", help="real orders (needs your token)")
    p.add_argument("--games", type=positive(int), default=None, help="stop after N games (default: forever)")
    risk = p.add_argument_group("risk")
    risk.add_argument("--max-stake", type=_sol, default=_sol("0.1"), metavar="SOL",
                      help="largest buy or sidebet (default 0.1)")  # fmt: skip
    risk.add_argument("--max-loss", type=_sol, default=_sol("1"), metavar="SOL",
                      help="the session never loses more than this (default 1)")  # fmt: skip
    risk.add_argument("--rate", type=positive(float), default=2.0, help="orders per second (default 2)")
    risk.add_argument("--burst", type=positive(int), default=5, help="orders at once (default 5)")
    risk.add_argument("--paper-cash", type=_sol, default=_sol("10"), metavar="SOL",
                      help="the paper account's balance (default 10)")  # fmt: skip
    auth = p.add_argument_group("authentication (--live)")
    auth.add_argument("--token-file", default=None, help="read your session token from this file")
    auth.add_argument("--token", default=None, help="the token itself (discouraged: prefer RUGS_TOKEN)")
    auth.add_argument("--auth-event", default="authenticate", help="event that authenticates")
    auth.add_argument("--auth-payload", default='{"token": "{token}"}', metavar="JSON",
                      help='payload template; "{token}" is replaced by the token')  # fmt: skip
    net = p.add_argument_group("connection")
    net.add_argument("--header", action="append", default=[], metavar="NAME:VALUE", help="extra HTTP header")
    net.add_argument("--ack-timeout", type=positive(float), default=5.0, metavar="S", help="default 5")
    net.add_argument("--tolerance", type=int, default=0, metavar="LAMPORTS",
                     help="allowed difference from the server's account (default 0)")  # fmt: skip
    net.add_argument("--stale-after", type=positive(float), default=15.0, metavar="S")
    net.add_argument("--reconnect-delay", type=positive(float), default=0.5, metavar="S")
    net.add_argument("--reconnect-max", type=positive(float), default=30.0, metavar="S")
    net.add_argument("--start-timeout", type=positive(float), default=60.0, metavar="S")
    p.add_argument("--out", default="recordings", help="recordings folder (default recordings)")
    p.add_argument("--no-record", action="store_true", help="record nothing (not recommended)")
    p.add_argument("--seed", type=int, default=None, help="seed of the random policy")
    p.add_argument("--json", action="store_true", help="print a JSON summary on stdout at the end")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-q", "--quiet", action="store_true", help="no status line, errors only")
    out.add_argument("-v", "--verbose", action="store_true", help="log what happens (debug)")
    p.set_defaults(handler=run)


def _headers(args: argparse.Namespace) -> dict[str, str]:
    """``--header`` values (the real service's Origin header is added by LiveOptions)."""
    headers: dict[str, str] = {}
    for text in args.header:
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            raise CliError(f"--header {text!r}: expected NAME:VALUE")
        headers[name.strip()] = value.strip()
    return headers


def build_options(args: argparse.Namespace):  # -> LiveOptions
    import json

    from rugs_env.brokers.risk import RiskLimits
    from rugs_env.live.options import LiveOptions
    from rugs_env.secrets import TokenError, load_token

    mode = "live" if args.live else "paper"
    token = None
    if mode == "live":
        try:
            token = load_token(token_file=args.token_file, token=args.token)
        except TokenError as exc:
            raise CliError(str(exc)) from None
        if token is None:
            raise CliError("--live needs your session token: set RUGS_TOKEN or pass --token-file FILE")
    try:
        payload = json.loads(args.auth_payload)
    except ValueError as exc:
        raise CliError(f"--auth-payload is not JSON: {exc}") from None
    agent = {"model": Path(args.model).name} if args.model else {"policy": args.policy or "hold"}
    agent["name"] = Path(args.model).stem if args.model else (args.policy or "hold")
    return LiveOptions(
        url=args.url, token=token, mode=mode, paper_cash=args.paper_cash,
        limits=RiskLimits(max_stake=args.max_stake, max_loss=args.max_loss), rate=args.rate, burst=args.burst,
        ack_timeout=args.ack_timeout, tolerance=max(0, args.tolerance),
        out=None if args.no_record else Path(args.out), headers=_headers(args), stale_after=args.stale_after,
        reconnect_delay=args.reconnect_delay, reconnect_max=max(args.reconnect_max, args.reconnect_delay),
        auth_event=args.auth_event, auth_payload=payload, agent=agent,
    )  # fmt: skip


def _logging(args: argparse.Namespace) -> None:
    import logging

    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if not args.verbose:  # the socket libraries are chatty about every reconnect
        for name in ("socketio", "engineio", "aiohttp"):
            logging.getLogger(name).setLevel(logging.CRITICAL)


def run(args: argparse.Namespace) -> int:
    _logging(args)
    options = build_options(args)  # the token is loaded (and warned about) once logging is set up
    from rugs_env.envs.live import RugsLiveEnv
    from rugs_env.live.options import LiveError
    from rugs_env.live.play import StatusLine, play
    from rugs_env.live.policies import PolicyError, load_policy
    from rugs_env.live.session import LiveSession
    from rugs_env.secrets import scrub

    try:
        policy = load_policy(args.model, args.policy, args.seed)
    except PolicyError as exc:
        raise CliError(str(exc)) from None
    print(
        f"rugs play: {options.mode} mode on {options.url}; {options.limits.describe()}; "
        f"orders <= {options.rate:g}/s (burst {options.burst})",
        file=sys.stderr,
    )
    try:
        session = LiveSession(options).start(args.start_timeout)
    except LiveError as exc:
        raise CliError(scrub(str(exc), [options.token]), exit_code=1) from None
    env = RugsLiveEnv(session=session)
    status = StatusLine(enabled=not args.quiet)
    interrupted = False
    result = None
    try:
        result = play(env, policy, games=args.games, status=status)
    except KeyboardInterrupt:
        interrupted = True
    except TimeoutError as exc:
        print(f"rugs play: {scrub(str(exc), [options.token])}", file=sys.stderr)
    finally:
        session.close()
    summary = session.summary()
    recording = session.recording
    if not args.quiet and result is not None:
        orders = summary["orders"]
        print(
            f"rugs play: {result.reason}: {result.games} games, {result.steps} steps "
            f"({result.late_steps} late), "
            f"PnL {result.pnl / 1e9:+.9f} SOL; orders {orders['sent']} sent, {orders['filled']} filled, "
            f"{orders['rejected']} rejected, {sum(orders['refused'].values())} refused, "
            f"{orders['unknown']} unknown ({orders['reconciled_filled']} reconciled filled, "
            f"{orders['reconciled_not_filled']} not filled); drift "
            f"{summary.get('verification', {}).get('drift_count', 0)}"
            + (
                f"; session {recording.session_path}"
                if recording is not None and recording.session_path
                else ""
            ),
            file=sys.stderr,
        )
    if summary.get("halted"):
        print(f"rugs play: trading was halted: {summary['halted']}", file=sys.stderr)
    if args.json:
        ledger = session.broker.account
        doc = {
            "session": summary,
            "play": result.as_json() if result is not None else None,
            "final_account": {"cash": ledger.cash, "position_qty": ledger.position_qty},
        }
        if recording is not None:
            doc["session_file"] = recording.session_path
        print_json(doc)
    if interrupted:
        return 130
    return EXIT_HALTED if summary.get("halted") else 0
