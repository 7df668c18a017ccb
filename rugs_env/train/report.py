"""The evaluation report folder: ``report.md``, ``results.json``, ``games.csv`` and PNG plots.

Plots (matplotlib, Agg backend, nothing shown on screen):

* ``equity_curves.png``: cumulative PnL over the held-out games in chronological order, per policy; the lower
  panel leaves out the random baseline, whose swings would flatten the others;
* ``pnl_distribution.png``: per-game PnL of each policy (box, points) with its IQM and 95 % bootstrap CI, on a
  symmetric-log axis (the random baseline loses whole SOL where the others move by thousandths);
* ``actions_<k>_<game>.png``: a few games' price charts with the agent's trades (filled markers) and the
  recorded human's (hollow markers), sidebet windows shaded;
* ``bc_accuracy.png`` (when the model has a ``.bc.json`` beside it): held-out label accuracy per action of the
  clone and of the random baseline.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from rugs_env.envs.spec import BUY, DEFAULT_TABLE, SELL, SIDEBET
from rugs_env.train.evaluate import AGENT, HOLD, HUMAN, POLICIES, RANDOM, Evaluation, GameEval

COLORS = {AGENT: "#1f77b4", RANDOM: "#7f7f7f", HOLD: "#2ca02c", HUMAN: "#d62728"}
ACTION_PLOTS = 3
SIDEBET_WINDOW = 40


def _figure(w: float, h: float) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig, fig


def plot_equity(ev: Evaluation, path: Path) -> Path:
    fig, _ = _figure(9, 6.5)
    axes = fig.subplots(2, 1, sharex=True)
    x = np.arange(1, len(ev.games) + 1)
    for ax, names in ((axes[0], (AGENT, RANDOM, HOLD)), (axes[1], (AGENT, HOLD))):
        for name in names:
            ax.plot(x, np.cumsum(ev.pnl(name)), label=name, color=COLORS[name], linewidth=1.6)
        human = np.array([g.human_pnl if g.human_pnl is not None else np.nan for g in ev.games])
        if np.isfinite(human).any():
            ax.plot(
                x,
                np.cumsum(np.nan_to_num(human)),
                label="human (recorded games; 0 elsewhere)",
                color=COLORS[HUMAN],
                linewidth=1.4,
                linestyle="--",
            )
        ax.axhline(0, color="#444444", linewidth=0.7)
        ax.grid(True, alpha=0.3)
        ax.set_ylabel("cumulative PnL (SOL)")
        ax.legend(loc="best", fontsize=8)
    axes[0].set_title(f"Equity over the {len(ev.games)} held-out games ({ev.split} split), chronological")
    axes[1].set_title("without the random baseline", fontsize=9)
    axes[1].set_xlabel("game (chronological)")
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_distribution(ev: Evaluation, path: Path) -> Path:
    fig, _ = _figure(9, 5)
    ax = fig.add_subplot(1, 1, 1)
    aggs = ev.aggregates()
    names = [n for n in (*POLICIES, HUMAN) if n in aggs]
    data = [ev.pnl(n) for n in names]
    ax.boxplot(data, tick_labels=names, showfliers=False, widths=0.5)
    rng = np.random.default_rng(0)
    for i, (name, values) in enumerate(zip(names, data, strict=True), start=1):
        jitter = rng.uniform(-0.12, 0.12, len(values))
        ax.scatter(i + jitter, values, s=14, alpha=0.6, color=COLORS[name], zorder=3)
        a = aggs[name]
        if math.isfinite(a["iqm"]):
            ax.errorbar(
                i + 0.3,
                a["iqm"],
                yerr=[[a["iqm"] - a["iqm_ci_low"]], [a["iqm_ci_high"] - a["iqm"]]],
                fmt="D",
                color="black",
                capsize=4,
                markersize=5,
                label="IQM, 95 % bootstrap CI" if i == 1 else None,
            )
    ax.set_yscale("symlog", linthresh=0.01)
    ax.axhline(0, color="#444444", linewidth=0.7)
    ax.set_ylabel("PnL per game (SOL, symlog)")
    ax.set_title(f"PnL per held-out game ({len(ev.games)} games; human: games with a recorded session)")
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    return path


def _markers(ax: Any, trades: list[tuple[int, int]], prices: np.ndarray, hollow: bool, who: str) -> None:
    kinds = DEFAULT_TABLE.kinds
    style = {
        BUY: ("^", "#2ca02c", "buy"),
        SELL: ("v", "#d62728", "sell"),
        SIDEBET: ("D", "#ff7f0e", "sidebet"),
    }
    for kind, (marker, color, label) in style.items():
        pts = [(max(t, 0), prices[max(t, 0)]) for t, a in trades if kinds[a] == kind]
        if not pts:
            continue
        xs, ys = zip(*pts, strict=True)
        face = "none" if hollow else color
        ax.scatter(
            xs,
            ys,
            marker=marker,
            s=70 if hollow else 55,
            facecolors=face,
            edgecolors=color,
            linewidths=1.4,
            zorder=4,
            label=f"{who} {label}",
        )
        if kind == SIDEBET and not hollow:
            for x in xs:
                ax.axvspan(x, x + SIDEBET_WINDOW, color=color, alpha=0.08)


def plot_actions(game: GameEval, path: Path) -> Path:
    fig, _ = _figure(9, 4.8)
    ax = fig.add_subplot(1, 1, 1)
    prices = game.prices
    ax.plot(np.arange(len(prices)), prices, color="#1f77b4", linewidth=1.3, label="price")
    ax.axhline(1.0, color="#999999", linewidth=0.8, linestyle=":")
    _markers(ax, game.runs[AGENT].trades, prices, hollow=False, who="agent")
    if game.humans:
        player, run = next(iter(sorted(game.humans.items())))
        _markers(ax, run.trades, prices, hollow=True, who=f"human {player[:12]}")
    human = f", human {game.human_pnl:+.4f}" if game.human_pnl is not None else ""
    ax.set_title(
        f"{game.game_id}: rug at tick {game.rug_tick}, peak {game.peak:.2f}x\n"
        f"PnL agent {game.runs[AGENT].pnl:+.4f} SOL{human}",
        fontsize=10,
    )
    ax.set_xlabel("tick")
    ax.set_ylabel("price (x)")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=7, ncol=2)
    fig.tight_layout()
    fig.savefig(path)
    return path


def plot_bc(bc: dict[str, Any], path: Path) -> Path:
    fig, _ = _figure(9, 4.5)
    ax = fig.add_subplot(1, 1, 1)
    names = list(bc["clone"]["per_action"])
    x = np.arange(len(names))
    clone = [bc["clone"]["per_action"][n]["accuracy"] for n in names]
    rand = [bc["random_masked"]["per_action"][n]["accuracy"] for n in names]
    ax.bar(x - 0.2, clone, 0.4, label=f"clone (all {bc['clone']['accuracy']:.1%})", color=COLORS[AGENT])
    ax.bar(
        x + 0.2,
        rand,
        0.4,
        label=f"random masked (all {bc['random_masked']['accuracy']:.1%})",
        color=COLORS[RANDOM],
    )
    support = [bc["clone"]["per_action"][n]["support"] for n in names]
    ax.set_xticks(x, [f"{n}\n(n={s})" for n, s in zip(names, support, strict=True)], fontsize=7, rotation=45)
    ax.set_ylabel("accuracy on held-out labels")
    ax.set_ylim(0, 1.05)
    ax.set_title(f"Behaviour cloning: accuracy per human action ({bc['eval_split']} split)")
    ax.legend(fontsize=8)
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    return path


def _pick_games(ev: Evaluation, k: int) -> list[GameEval]:
    """Games worth a chart: the agent traded, a human was recorded, then the longest."""
    return sorted(ev.games, key=lambda g: (-bool(g.runs[AGENT].trades), -bool(g.humans), -g.rug_tick))[:k]


def write_report(ev: Evaluation, out: str | Path, bc: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write the report folder; returns its files by role."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "equity": plot_equity(ev, out / "equity_curves.png"),
        "distribution": plot_distribution(ev, out / "pnl_distribution.png"),
    }
    for k, game in enumerate(_pick_games(ev, ACTION_PLOTS), start=1):
        files[f"actions_{k}"] = plot_actions(game, out / f"actions_{k}_{game.game_id[-16:-8]}.png")
    if bc is not None:
        files["bc"] = plot_bc(bc, out / "bc_accuracy.png")
    files["games"] = _games_csv(ev, out / "games.csv")
    files["results"] = out / "results.json"
    files["results"].write_text(json.dumps(_results(ev, bc), indent=1, allow_nan=True) + "\n")
    files["markdown"] = out / "report.md"
    files["markdown"].write_text(_markdown(ev, bc, files))
    return files


def _games_csv(ev: Evaluation, path: Path) -> Path:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "game_id",
                "start_time",
                "rug_tick",
                "peak",
                *POLICIES,
                "human_mean",
                "humans",
                "agent_trades",
                "agent_invalid",
            ]
        )
        for g in ev.games:
            w.writerow(
                [
                    g.game_id,
                    g.start_time,
                    g.rug_tick,
                    repr(g.peak),
                    *(repr(g.runs[p].pnl) for p in POLICIES),
                    "" if g.human_pnl is None else repr(g.human_pnl),
                    len(g.humans),
                    len(g.runs[AGENT].trades),
                    g.runs[AGENT].invalid,
                ]
            )
    return path


def _results(ev: Evaluation, bc: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "model": ev.model,
        "source": ev.source,
        "split": ev.split,
        "seed": ev.seed,
        "aggregates": ev.aggregates(),
        "games": [
            {
                "game_id": g.game_id,
                "start_time": g.start_time,
                "rug_tick": g.rug_tick,
                "peak": g.peak,
                "pnl": {p: g.runs[p].pnl for p in POLICIES},
                "humans": {p: r.pnl for p, r in g.humans.items()},
            }
            for g in ev.games
        ],
        "behaviour_cloning": bc,
    }


def _markdown(ev: Evaluation, bc: dict[str, Any] | None, files: dict[str, Path]) -> str:
    lines = [
        "# Evaluation report",
        "",
        f"Model `{ev.model}` on the {len(ev.games)} games of the `{ev.split}` split of `{ev.source}`, "
        f"deterministic; random baseline seeded ({ev.seed}). PnL in SOL per game, from the env's starting "
        "cash. "
        "The human row replays each recorded player's actions (mapped to the action table) through the same "
        "ledger, averaged over the players of a game, on the games where a player was recorded. IQM: mean of "
        "the middle 50 % (scipy `trim_mean(x, 0.25)`), CI: 95 % percentile bootstrap (scipy). "
        "Human-normalised: (agent - random) / (human - random) of the mean PnLs on the games with a human "
        "(the random baseline stakes up to 5 SOL a click, so its swings set the scale: near 1 means "
        "'as far from random as the human', not 'as good as the human').",
        "",
        "## Summary",
        "",
        "```",
        ev.summary_table(),
        "```",
        "",
    ]
    if bc is not None:
        c, r, h = bc["clone"], bc["random_masked"], bc["always_hold"]
        lines += [
            "## Behaviour cloning: held-out human labels",
            "",
            f"On the `{bc['eval_split']}` split ({c['steps']} labelled steps, {c['decision_steps']} human "
            f"decisions): accuracy {c['accuracy']:.1%} (random masked {r['accuracy']:.1%}, always hold "
            f"{h['accuracy']:.1%}); balanced accuracy {c['balanced_accuracy']:.1%} (random "
            f"{r['balanced_accuracy']:.1%}); accuracy on decisions {c['decision_accuracy']:.1%} (random "
            f"{r['decision_accuracy']:.1%}).",
            "",
            "![bc accuracy](bc_accuracy.png)",
            "",
        ]
    lines += [
        "## Plots",
        "",
        "![equity curves](equity_curves.png)",
        "",
        "![PnL distribution](pnl_distribution.png)",
        "",
    ]
    lines += [f"![actions]({p.name})" for k, p in files.items() if k.startswith("actions_")]
    lines += ["", "## Per game", "", "```", ev.game_table(), "```", ""]
    return "\n".join(lines)


__all__ = ["plot_actions", "plot_bc", "plot_distribution", "plot_equity", "write_report"]
