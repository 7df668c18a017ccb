"""The dataset card: what a dataset holds and where it came from, as ``card.json`` and ``card.md``.

Sections: identity (name, creation time, rugs-env version, inputs); the accounting of what went in and what
came out (files read, accepted, skipped by reason; session actions kept and dropped by reason: in = out +
dropped); integrity (verified and unverified games); per split the games, ticks, episodes, steps, sessions,
players, date range and the distribution of the human labels; label fidelity (how many human decisions the
action table represents exactly, labels dropped or refused); the environment spec (id, entry point, kwargs,
observation names, action names) and the files written (formats, Minari ids).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rugs_env.data.canonical import CARD_JSON

CARD_MD = "card.md"
SHOWN_PROBLEMS = 50  # skipped files listed in the Markdown card (all of them are in card.json)


def write_card(out: Path, card: dict[str, Any]) -> tuple[Path, Path]:
    """Write ``card.json`` and ``card.md``."""
    json_path, md_path = out / CARD_JSON, out / CARD_MD
    json_path.write_text(json.dumps(card, indent=2, sort_keys=False) + "\n")
    md_path.write_text(card_markdown(card))
    return json_path, md_path


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return lines


def card_markdown(card: dict[str, Any]) -> str:
    """The card as Markdown."""
    acc = card["accounting"]
    lines = [
        f"# Dataset card: {card['name']}",
        "",
        f"Built {card['created']} by rugs-env {card['rugs_env_version']} from "
        + ", ".join(f"`{p}`" for p in card["inputs"])
        + ".",
        "",
        "An episode is one recorded player in one recorded game, replayed through `RugsReplay-v0` with the "
        "player's actions (mapped to the action table) as the actions, from presale to the rug"
        + (" (plus hold episodes for games nobody was recorded in)." if card["hold_episodes"] else ".")
        + " Splits are chronological: later games are the test set.",
        "",
        "## Totals",
        "",
    ]
    t = card["totals"]
    lines += _table(
        [
            "games",
            "verified",
            "unverified",
            "ticks",
            "sessions",
            "players",
            "episodes",
            "steps",
            "from",
            "to",
        ],
        [
            [
                t["games"],
                t["verified"],
                t["unverified"],
                t["ticks"],
                t["sessions"],
                t["players"],
                t["episodes"],
                t["steps"],
                t["date_from"],
                t["date_to"],
            ]
        ],
    )
    lines += ["", "## Splits (chronological)", ""]
    rows = []
    for name, s in card["splits"].items():
        rows.append(
            [
                name,
                f"{s['ratio']:.2f}",
                s["games"],
                s["games_with_demos"],
                s["ticks"],
                s["episodes"],
                s["steps"],
                s["decisions"],
                s["players"],
                s["date_from"],
                s["date_to"],
            ]
        )
    lines += _table(
        [
            "split",
            "ratio",
            "games",
            "with demos",
            "ticks",
            "episodes",
            "steps",
            "human actions",
            "players",
            "from",
            "to",
        ],
        rows,
    )
    lines += ["", "## Accounting: counts in = counts out", ""]
    lines += _table(
        ["what", "in", "kept", "left out (reason: count)"],
        [
            ["game files", acc["game_files"], acc["games_accepted"], _reasons(acc["games_skipped"])],
            [
                "session files",
                acc["session_files"],
                acc["sessions_accepted"],
                _reasons({**acc["sessions_skipped"], "no action left": acc["sessions_emptied"]}),
            ],
            [
                "session actions",
                acc["session_actions_in"],
                acc["session_actions_kept"],
                _reasons(acc["session_actions_dropped"]),
            ],
            ["(game, player) pairs", acc["pairs"], acc["episodes_demo"], "-"],
        ],
    )
    f = card["label_fidelity"]
    lines += [
        "",
        "## Label fidelity",
        "",
        f"- human decisions (buys, sells, sidebets; inferred ones excluded): {f['decisions']}",
        f"- represented exactly by the action table: {f['exact']} ({100 * f['exact_share']:.1f} %); "
        "the others by the nearest size",
        f"- not representable (a second decision in a step already taken, dropped): {f['collisions']}",
        f"- labels the ledger refused in the env's account (played as hold): {f['invalid_labels']}",
        f"- median |label PnL - human PnL| / SOL traded: {_pct(f['median_pnl_gap'])}",
        "",
        "## Labels per split (action: count)",
        "",
    ]
    for name, s in card["splits"].items():
        shown = ", ".join(f"{k}: {v}" for k, v in s["labels"].items())
        lines.append(f"- **{name}**: {shown or 'none'}")
    env = card["env"]
    lines += [
        "",
        "## Environment",
        "",
        f"- id `{env['id']}`, entry point `{env['entry_point']}`",
        f"- kwargs `{json.dumps(env['kwargs'])}`",
        f"- observation: {env['observation_size']} float32 features: {', '.join(env['observation_names'])}",
        f"- actions: {len(env['action_names'])}: "
        + ", ".join(f"{i} {n}" for i, n in enumerate(env["action_names"])),
        "",
        "## Files",
        "",
    ]
    for fmt, where in card["files"].items():
        lines.append(f"- {fmt}: `{where}`")
    if card.get("minari_ids"):
        lines.append(
            "- Minari ids (root `minari/`): " + ", ".join(f"`{i}`" for i in card["minari_ids"].values())
        )
    skipped = card["skipped"]
    lines += ["", f"## Left out ({len(skipped)})", ""]
    if not skipped:
        lines.append("Nothing: every file read, checked and was used.")
    for s in skipped[:SHOWN_PROBLEMS]:
        lines.append(f"- {s['kind'].upper()} `{s['path']}`: {s['reason']}")
    if len(skipped) > SHOWN_PROBLEMS:
        lines.append(f"- ... and {len(skipped) - SHOWN_PROBLEMS} more (see card.json)")
    return "\n".join(lines) + "\n"


def _reasons(counts: dict[str, int]) -> str:
    shown = [f"{k}: {v}" for k, v in counts.items() if v]
    return ", ".join(shown) if shown else "none"


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{100 * x:.2f} %"


__all__ = ["card_markdown", "write_card"]
