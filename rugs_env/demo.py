"""The main job, end to end on a fresh clone (``make demo``, ``rugs demo``): record, build, clone, evaluate.

Stages, each with a progress bar and its counts in and out, every output kept under one run folder
(``runs/demo-<UTC timestamp>/`` by default)::

    1 record     a local rugs.fun server in-process (``rugs serve``: high speed, bots), recorded by the live
                 recorder following a few bots as stand-ins for human players      -> recordings/
                 (compared with the server's ground truth: games and each followed bot's fills)
    2 verify     every recording checked (seeds, gaps, sessions)                    (recorder.checks_tree)
    3 dataset    those recordings plus datasets/sample/ (real games and players)   -> dataset/
    4 clone      behaviour cloning of the human labels of the train split  -> model.zip, model.bc.json
    5 evaluate   the clone on the held-out (test) games against random, always-hold and the humans -> report/

Nothing needs the network beyond loopback, nothing is written outside the run folder (Minari's root is
``dataset/minari``; matplotlib's font cache goes to ``runs/.matplotlib`` unless ``MPLCONFIGDIR`` is
set). ``summary.json`` in the run folder holds every stage's timing and counts.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

STAGES = ("record", "verify", "dataset", "clone", "evaluate")


@dataclass
class DemoConfig:
    """What the demo does (the defaults run in a few minutes on a busy 2-core machine)."""

    out: Path = Path("runs")
    games: int = 150
    bots: int = 4
    follow: int = 4
    speed: float = 150.0
    seed: int = 7
    epochs: int = 15
    ratios: tuple[float, ...] = (0.7, 0.15, 0.15)
    sample: Path | None = None  # None: datasets/sample/ of the checkout; a missing folder is skipped
    progress: bool = True


@dataclass
class DemoResult:
    run_dir: Path
    timings: dict[str, float] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)
    report: Path | None = None


class _Stages:
    """Prints a header per stage and times it."""

    def __init__(self, result: DemoResult, write: Callable[[str], None]) -> None:
        self.result, self.write = result, write

    def run(self, index: int, name: str, title: str, fn: Callable[[], Any]) -> Any:
        self.write(f"\n=== [{index}/{len(STAGES)}] {title}")
        start = time.monotonic()
        value = fn()
        self.result.timings[name] = round(time.monotonic() - start, 1)
        self.write(f"--- {name}: {self.result.timings[name]:.1f} s")
        return value


def run_demo(config: DemoConfig | None = None, *, write: Callable[[str], None] | None = None) -> DemoResult:
    """Run the five stages (see the module docstring); returns timings, counts and where things are."""
    from rugs_env.envs.games import default_source

    cfg = config or DemoConfig()
    say = write or (lambda m: print(m, flush=True))
    # matplotlib keeps a font cache in the user's home: keep it beside the runs instead (nothing outside)
    os.environ.setdefault("MPLCONFIGDIR", str((Path(cfg.out) / ".matplotlib").resolve()))
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    run_dir = Path(cfg.out) / f"demo-{stamp}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = Path(cfg.out) / f"demo-{stamp}-{suffix}"
    run_dir.mkdir(parents=True)
    result = DemoResult(run_dir)
    stages = _Stages(result, say)
    sample = cfg.sample if cfg.sample is not None else default_source()
    say(f"rugs demo: run folder {run_dir}")
    stages.run(
        1,
        "record",
        f"record {cfg.games} games from a local server, following {cfg.follow} bots",
        lambda: _record(cfg, run_dir, result, say),
    )
    stages.run(2, "verify", "check every recording", lambda: _verify(run_dir, result, say))
    inputs = [run_dir / "recordings"] + ([sample] if sample.is_dir() else [])
    if not sample.is_dir():
        say(f"note: no sample folder at {sample}; building from the new recordings only")
    card = stages.run(
        3,
        "dataset",
        f"build a dataset from {', '.join(map(str, inputs))}",
        lambda: _dataset(cfg, inputs, run_dir, result, say),
    )
    stages.run(4, "clone", "behaviour cloning of the human labels", lambda: _clone(cfg, run_dir, result, say))
    stages.run(
        5,
        "evaluate",
        "evaluate the clone on the held-out games",
        lambda: _evaluate(cfg, run_dir, result, say),
    )
    (run_dir / "summary.json").write_text(
        json.dumps({"timings_s": result.timings, "counts": result.counts, "dataset": card["name"]}, indent=1)
        + "\n"
    )
    _final(result, say)
    return result


def _record(cfg: DemoConfig, run_dir: Path, result: DemoResult, say: Callable[[str], None]) -> None:
    from rugs_env.data.local_record import record_local

    rec = record_local(
        run_dir / "recordings",
        games=cfg.games,
        bots=cfg.bots,
        follow=cfg.follow,
        speed=cfg.speed,
        seed=cfg.seed,
        progress=cfg.progress,
        log=say,
    )
    say(
        f"recorded: {rec.live_games} games watched live + {rec.games_written - rec.live_games} from the "
        f"server's history = {rec.games_written} game files; {rec.sessions_written} session files"
    )
    say(
        f"server truth: {rec.server_games} games finished while recording -> {rec.games_written} written, "
        f"{len(rec.missing_games)} missing; {len(rec.unfinished)} under way at the stop and {rec.after_stop} "
        "started after it (not expected)"
    )
    for player in rec.fills:
        extra = rec.explained.get(player, 0)
        why = f" ({extra} made before the recorder started)" if extra else ""
        say(
            f"  {player}: {rec.fills[player]} fills on the server in the recorded games -> "
            f"{rec.actions.get(player, 0)} session actions{why}"
        )
    for note in rec.notes:
        say(f"  note: {note}")
    say("recording lossless: " + ("yes" if rec.lossless else "NO (see the notes above)"))
    result.counts["record"] = {
        "live_games": rec.live_games,
        "game_files": rec.games_written,
        "session_files": rec.sessions_written,
        "server_games": rec.server_games,
        "missing_games": rec.missing_games,
        "fills": rec.fills,
        "actions": rec.actions,
        "explained": rec.explained,
        "lossless": rec.lossless,
        "followed": rec.followed,
    }


def _verify(run_dir: Path, result: DemoResult, say: Callable[[str], None]) -> None:
    from recorder.checks_tree import check_recordings

    report = check_recordings((run_dir / "recordings").resolve())
    s = report.summary()
    say(
        f"games {s['games']} ({s['verified']} verified against their seeds, {s['unverified']} unverified, "
        f"{s['failed']} failed), gaps {s['gaps']}, corrupt files {s['corrupt_files']}, "
        f"sessions {s['sessions']} "
        f"with {s['actions']} actions, orphans {s['orphans']}"
    )
    for p in report.errors[:10]:
        say(f"  {p}")
    say("verdict: " + ("OK" if report.ok else f"{len(report.errors)} errors (those files are skipped next)"))
    result.counts["verify"] = {**s, "ok": report.ok}


def _dataset(
    cfg: DemoConfig, inputs: list[Path], run_dir: Path, result: DemoResult, say: Callable[[str], None]
) -> dict[str, Any]:
    from rugs_env.cli.dataset import summary
    from rugs_env.data import build_dataset

    out = run_dir / "dataset"
    card = build_dataset(
        inputs, out, ratios=cfg.ratios, name=f"demo-{run_dir.name[5:]}", progress=cfg.progress, log=say
    )
    say(summary(card, str(out)))
    result.counts["dataset"] = {
        "totals": card["totals"],
        "accounting": card["accounting"],
        "splits": {
            k: {x: v[x] for x in ("games", "episodes", "steps", "decisions")}
            for k, v in card["splits"].items()
        },
    }
    return card


def _clone(cfg: DemoConfig, run_dir: Path, result: DemoResult, say: Callable[[str], None]) -> None:
    from rugs_env.train.bc import BCConfig, train_bc

    bc = train_bc(
        run_dir / "dataset",
        run_dir / "model.zip",
        BCConfig(epochs=cfg.epochs, seed=cfg.seed),
        progress=cfg.progress,
        log=say,
    )
    say(bc.summary_table())
    beats = bc.clone["accuracy"] > bc.random["accuracy"]
    say(
        "clone vs random masked on held-out human labels: "
        f"{bc.clone['accuracy']:.1%} vs {bc.random['accuracy']:.1%}"
        f" ({'beats' if beats else 'does NOT beat'} random)"
    )
    result.counts["clone"] = {
        "train_steps": bc.train_steps,
        "dropped_invalid_labels": bc.dropped_invalid,
        "accuracy": bc.clone["accuracy"],
        "random_accuracy": bc.random["accuracy"],
        "balanced_accuracy": bc.clone["balanced_accuracy"],
        "random_balanced_accuracy": bc.random["balanced_accuracy"],
    }


def _evaluate(cfg: DemoConfig, run_dir: Path, result: DemoResult, say: Callable[[str], None]) -> None:
    from rugs_env.train.evaluate import evaluate
    from rugs_env.train.report import write_report

    ev = evaluate(
        run_dir / "model.zip", run_dir / "dataset", split="test", seed=cfg.seed, progress=cfg.progress
    )
    bc = json.loads((run_dir / "model.bc.json").read_text())
    files = write_report(ev, run_dir / "report", bc)
    say(ev.game_table())
    say("")
    say(f"{len(ev.games)} held-out games, PnL in SOL per game:")
    say(ev.summary_table())
    result.report = files["markdown"]
    result.counts["evaluate"] = {
        "games": len(ev.games),
        "games_with_humans": sum(1 for g in ev.games if g.humans),
        "aggregates": ev.aggregates(),
    }


def _final(result: DemoResult, say: Callable[[str], None]) -> None:
    d = result.run_dir
    total = sum(result.timings.values())
    say(
        "\n=== done in "
        + f"{total:.0f} s ("
        + ", ".join(f"{k} {v:.0f} s" for k, v in result.timings.items())
        + ")"
    )
    for label, path in (
        ("recordings", d / "recordings"),
        ("dataset", d / "dataset"),
        ("dataset card", d / "dataset" / "card.md"),
        ("model", d / "model.zip"),
        ("report", result.report),
        ("summary", d / "summary.json"),
    ):
        say(f"  {label:13} {path}")
    say(f"open the report: {result.report}")


def main(argv: list[str] | None = None) -> int:  # pragma: no cover - `rugs demo` is the entry point
    from rugs_env.cli import main as cli_main

    return cli_main(["demo", *(argv or sys.argv[1:])])


__all__ = ["STAGES", "DemoConfig", "DemoResult", "run_demo"]
