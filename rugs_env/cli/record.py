"""``rugs record``: record the live feed into game files, session files and daily indexes.

By default it connects to the real service (``https://backend.rugs.fun?frontend-version=1.0`` with
``Origin: https://rugs.fun``, PROTOCOL.md §1); ``--url`` points it anywhere, e.g. a local ``rugs serve``.
It writes ``OUT/YYYY-MM-DD/{games,sessions}/...`` and ``OUT/journal/...`` (every event received), shows a
progress line on stderr, reconnects with backoff, and stops cleanly on SIGINT/SIGTERM, after ``--games`` live
games or ``--duration`` seconds, saving what is complete.

The token (``--token``, ``--token-file`` or the ``RUGS_TOKEN`` environment variable; the last two keep it
out of the process list) is only ever sent to the server: it never appears in the journal, the logs or any
file. With a token the recorder authenticates as that user, follows them and checks every ``playerUpdate``
against the ledger rebuilt from their trades.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rugs_env.cli.common import CliError, add_follow_arguments, positive, start_balance


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("record", help="record the live feed (games, sessions, journal)")
    p.add_argument("--url", default=None, help="feed URL (default: the real service)")
    p.add_argument(
        "--header",
        action="append",
        default=[],
        metavar="NAME:VALUE",
        help="extra HTTP header for the connection (repeatable; default Origin: https://rugs.fun)",
    )
    p.add_argument("--out", default="recordings", help="recordings folder (default: recordings)")
    stop = p.add_mutually_exclusive_group()
    stop.add_argument("--games", type=positive(int), default=None, help="stop after N games watched live")
    stop.add_argument(
        "--duration", type=positive(float), default=None, metavar="S", help="stop after S seconds"
    )
    add_follow_arguments(p)
    auth = p.add_argument_group("authentication (your own account)")
    auth.add_argument("--token", default=None, help="session token (prefer --token-file or RUGS_TOKEN)")
    auth.add_argument("--token-file", default=None, help="read the token from this file")
    auth.add_argument(
        "--auth-event", default="authenticate", help="event that authenticates (default authenticate)"
    )
    auth.add_argument(
        "--auth-payload",
        default='{"token": "{token}"}',
        metavar="JSON",
        help='payload template; "{token}" is replaced by the token (default {"token": "{token}"})',
    )
    auth.add_argument(
        "--auth-in-connect",
        action="store_true",
        help="also send the payload as the Socket.IO connection's auth",
    )
    auth.add_argument(
        "--tolerance",
        type=int,
        default=0,
        metavar="LAMPORTS",
        help="allowed difference between playerUpdate and the ledger (default 0)",
    )
    net = p.add_argument_group("connection")
    net.add_argument(
        "--connections",
        type=positive(int),
        default=1,
        help="parallel connections to the feed, for redundancy (default 1)",
    )
    net.add_argument("--transport", choices=("websocket", "polling", "both"), default="websocket")
    net.add_argument(
        "--stale-after",
        type=positive(float),
        default=15.0,
        metavar="S",
        help="reconnect when nothing arrived for S seconds (default 15)",
    )
    net.add_argument(
        "--reconnect-delay",
        type=positive(float),
        default=0.5,
        metavar="S",
        help="first backoff delay after a failed attempt (default 0.5, doubling)",
    )
    net.add_argument(
        "--reconnect-max",
        type=positive(float),
        default=30.0,
        metavar="S",
        help="longest backoff delay (default 30)",
    )
    net.add_argument(
        "--spike",
        type=positive(float),
        default=1.0,
        metavar="S",
        help="a tick interval longer than this counts as a latency spike (default 1)",
    )
    p.add_argument("--no-journal", action="store_true", help="do not keep the raw journal (not recommended)")
    p.add_argument(
        "--index-every",
        type=float,
        default=30.0,
        metavar="S",
        help="rebuild the daily indexes at most every S seconds while running (default 30)",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("-q", "--quiet", action="store_true", help="no progress line, errors only")
    out.add_argument("-v", "--verbose", action="store_true", help="log what happens (debug)")
    p.set_defaults(handler=run)


def _token(args: argparse.Namespace) -> str | None:
    if args.token_file:
        try:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise CliError(f"cannot read --token-file: {exc.strerror}") from None
        if not token:
            raise CliError("--token-file is empty")
        return token
    return args.token or os.environ.get("RUGS_TOKEN") or None


def build_options(args: argparse.Namespace):  # -> RecordOptions
    import json

    from recorder.feed import DEFAULT_HEADERS, DEFAULT_URL, AuthOptions, FeedOptions
    from recorder.live import RecordOptions
    from recorder.pipeline import PipelineConfig

    headers = dict(DEFAULT_HEADERS) if args.url is None else {}
    for text in args.header:
        name, sep, value = text.partition(":")
        if not sep or not name.strip():
            raise CliError(f"--header {text!r}: expected NAME:VALUE")
        headers[name.strip()] = value.strip()
    token = _token(args)
    auth = None
    if token:
        try:
            payload = json.loads(args.auth_payload)
        except ValueError as exc:
            raise CliError(f"--auth-payload is not JSON: {exc}") from None
        auth = AuthOptions(
            token=token, event=args.auth_event, payload=payload, in_connect=args.auth_in_connect
        )
    balance = start_balance(args)
    transports = {"websocket": ["websocket"], "polling": ["polling"], "both": None}[args.transport]
    feed = FeedOptions(
        url=args.url or DEFAULT_URL,
        headers=headers,
        transports=transports,
        auth=auth,
        stale_after=args.stale_after,
        reconnect_delay=args.reconnect_delay,
        reconnect_max=max(args.reconnect_max, args.reconnect_delay),
    )
    pipeline = PipelineConfig(
        follow=tuple(args.follow), start_balance=balance, tolerance=max(0, args.tolerance)
    )
    return RecordOptions(
        out=Path(args.out),
        feed=feed,
        pipeline=pipeline,
        games=args.games,
        duration=args.duration,
        connections=args.connections,
        journal=not args.no_journal,
        spike_after=args.spike,
        index_interval=args.index_every,
        progress="off" if args.quiet else "auto",
    )


def run(args: argparse.Namespace) -> int:
    import asyncio
    import logging

    from recorder.allocator import pin_mmap_threshold
    from recorder.live import LiveRecorder

    options = build_options(args)
    level = logging.DEBUG if args.verbose else logging.ERROR if args.quiet else logging.WARNING
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    token = options.feed.auth.token if options.feed.auth is not None else None
    if token:  # belt and braces: nothing logs the token, and this filter would hide it if something did
        from recorder.journal import Scrubber

        scrub = Scrubber([token])

        def redact(record: logging.LogRecord) -> bool:
            record.msg, record.args = scrub(record.getMessage()), None
            return True

        for handler in logging.getLogger().handlers:
            handler.addFilter(redact)
    if not args.verbose:  # the socket libraries are chatty about every reconnect
        for name in ("socketio", "engineio", "aiohttp"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    try:
        options.out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CliError(f"cannot create {options.out}: {exc.strerror}") from None
    pin_mmap_threshold()  # a run of days must not creep (see recorder.allocator)
    recorder = LiveRecorder(options)
    summary = asyncio.run(recorder.run())
    if not args.quiet:
        print(
            f"rugs record: {summary.reason}: {summary.games} games written "
            f"({summary.live_games} watched live, "
            f"{summary.verified} verified, {summary.unverified} unverified), {summary.sessions} sessions, "
            f"{summary.events} events" + (f"; journal {summary.journal}" if summary.journal else ""),
            file=sys.stderr,
        )
    return 0
