"""``rugs dataset``: build training datasets from recordings, and show their cards.

``rugs dataset build RECORDINGS... --out DIR [--format npz,minari,d4rl] [--split 0.7,0.15,0.15]`` reads and
checks every recording under the inputs (bad files are reported and skipped, never included), replays every
recorded (game, player) pair through ``RugsReplay-v0`` with the player's actions as labels, splits the
games by time (later games are the test set) and writes the canonical arrays, the exports and the dataset
card (see :mod:`rugs_env.data`). ``rugs dataset show DIR`` prints a dataset's card.
"""

from __future__ import annotations

import argparse
import sys

from rugs_env.cli.common import CliError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dataset", help="build training datasets from recordings (npz, Minari, D4RL)")
    actions = p.add_subparsers(dest="dataset_command", metavar="ACTION", required=True)
    b = actions.add_parser("build", help="recordings -> dataset folder (episodes, exports, card)")
    b.add_argument("recordings", nargs="+", metavar="RECORDINGS", help="recordings folders or files")
    b.add_argument("--out", required=True, metavar="DIR", help="the dataset folder to write")
    b.add_argument(
        "--format",
        default="npz,minari,d4rl",
        help="exports: npz (canonical per-episode arrays, always written), minari, d4rl (default: all)",
    )
    b.add_argument(
        "--split",
        default="0.7,0.15,0.15",
        metavar="RATIOS",
        help="chronological split ratios train[,val],test (default 0.7,0.15,0.15; never random)",
    )
    b.add_argument(
        "--name", default=None, help="dataset name (Minari ids rugs/<name>-<split>-v0; default: DIR's)"
    )
    b.add_argument(
        "--hold-episodes",
        action="store_true",
        help="also add an all-hold episode for each game nobody was recorded in (not demonstrations)",
    )
    b.add_argument("--force", action="store_true", help="replace an existing dataset in DIR")
    b.add_argument("--strict", action="store_true", help="exit 1 if any recording was skipped")
    b.add_argument("-q", "--quiet", action="store_true", help="no progress bars, summary only")
    b.set_defaults(handler=run_build)
    s = actions.add_parser("show", help="print a dataset's card")
    s.add_argument("dir", metavar="DIR", help="a dataset folder")
    s.add_argument("--json", action="store_true", help="the card as JSON")
    s.set_defaults(handler=run_show)


def run_build(args: argparse.Namespace) -> int:
    from pathlib import Path

    from rugs_env.data import DatasetError, build_dataset, parse_formats, parse_ratios

    try:
        formats = parse_formats(args.format)
        ratios = parse_ratios(args.split)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    for item in args.recordings:
        if not Path(item).exists():
            raise CliError(f"no recordings at {item}")
    try:
        card = build_dataset(
            args.recordings,
            args.out,
            formats=formats,
            ratios=ratios,
            name=args.name,
            hold_episodes=args.hold_episodes,
            force=args.force,
            progress=not args.quiet,
            log=lambda m: print(m, file=sys.stderr),
        )
    except (DatasetError, FileNotFoundError) as exc:
        raise CliError(str(exc)) from None
    print(summary(card, args.out))
    return 1 if args.strict and card["skipped"] else 0


def summary(card: dict, out: str) -> str:
    """A few lines: totals, splits and where the files are."""
    t, a = card["totals"], card["accounting"]
    skipped = sum(a["games_skipped"].values()) + sum(a["sessions_skipped"].values())
    lines = [
        f"dataset {card['name']} -> {out}",
        f"  games {t['games']} ({t['verified']} verified, {t['unverified']} unverified), ticks {t['ticks']}, "
        f"sessions {t['sessions']}, players {t['players']}, episodes {t['episodes']}, steps {t['steps']}",
        f"  in: {a['game_files']} game files, {a['session_files']} session files, {a['session_actions_in']} "
        f"session actions; left out: {skipped} files, "
        f"{sum(a['session_actions_dropped'].values())} actions"
        + (" (see card.md)" if card["skipped"] else ""),
    ]
    for name, s in card["splits"].items():
        lines.append(
            f"  {name:5}: {s['games']:4d} games, {s['episodes']:4d} episodes, {s['steps']:6d} steps, "
            f"{s['decisions']:5d} human actions, {s['date_from'] or '-'} .. {s['date_to'] or '-'}"
        )
    f = card["label_fidelity"]
    lines.append(
        f"  label fidelity: {f['exact']}/{f['decisions']} human actions exact ({f['exact_share']:.1%})"
    )
    if card.get("minari_ids"):
        lines.append(f"  minari ({out}/minari): {', '.join(card['minari_ids'].values())}")
    lines.append(f"  card: {out}/card.md")
    return "\n".join(lines)


def run_show(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from rugs_env.data import read_card

    try:
        card = read_card(args.dir)
    except FileNotFoundError as exc:
        raise CliError(str(exc)) from None
    if args.json:
        print(json.dumps(card, indent=1))
    else:
        print((Path(args.dir) / "card.md").read_text(), end="")
    return 0
