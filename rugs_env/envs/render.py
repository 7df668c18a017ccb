"""Rendering of a single environment: a text line per tick (``ansi``) and a price chart (``rgb_array``).

The chart shows the prices seen so far (never later ones), the agent's buys (green triangles up), sells
(red triangles down), sidebet windows (shaded), and the account in the title. matplotlib is imported on
first use, with the non-interactive Agg backend.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from rugs_env.envs.spec import BUY, SELL, SIDEBET

if TYPE_CHECKING:
    from rugs_env.envs.core import RugsEnvBase

WIDTH_IN, HEIGHT_IN, DPI = 8.0, 4.5, 80


def _account_text(env: RugsEnvBase) -> str:
    acc = env.broker.account
    parts = [f"cash {acc.cash / 1e9:.4f}", f"pos {acc.position_qty / 1e9:.4f}"]
    if acc.position_qty:
        parts.append(f"avg {acc.avg_price:.4f}")
    bet = acc.sidebet
    if bet is not None:
        parts.append(f"sidebet {bet.stake / 1e9:g} [{bet.start_tick + 1}-{bet.end_tick}]")
    parts.append(f"net {env.net_worth / 1e9:.4f} SOL")
    return "  ".join(parts)


def ansi_line(env: RugsEnvBase) -> str:
    """One line: the tick, its price, the peak so far, the last action and the account."""
    seen = env.prices_so_far
    if not seen:
        head = f"{env.game_id} presale       price 1.000000x"
    else:
        head = f"{env.game_id} tick {env.tick:5d}  price {seen[-1]:.6f}x  peak {max(seen):.4f}x"
    last = ""
    if env.history and env.history[-1][0] == env.tick - 1:
        last = f"  [{env.table.names[env.history[-1][1]]}]"
    return f"{head}  | {_account_text(env)}{last}\n"


def rgb_chart(env: RugsEnvBase) -> np.ndarray:
    """The chart as an ``(H, W, 3)`` uint8 image."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    canvas = FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    seen = env.prices_so_far
    ticks = np.arange(len(seen))
    ax.plot(ticks, seen, color="#1f77b4", linewidth=1.4, label="price")
    ax.axhline(1.0, color="#999999", linewidth=0.8, linestyle=":")
    kinds = env.table.kinds
    buys = [(max(t, 0), p) for t, a, p in env.history if kinds[a] == BUY]
    sells = [(t, p) for t, a, p in env.history if kinds[a] == SELL]
    bets = [max(t, 0) for t, a, _ in env.history if kinds[a] == SIDEBET]
    if buys:
        ax.scatter(*zip(*buys, strict=True), marker="^", color="#2ca02c", s=60, zorder=3, label="buy")
    if sells:
        ax.scatter(*zip(*sells, strict=True), marker="v", color="#d62728", s=60, zorder=3, label="sell")
    for start in bets:
        ax.axvspan(start, start + 40, color="#ff7f0e", alpha=0.15)
    if bets:
        ax.plot([], [], color="#ff7f0e", alpha=0.4, linewidth=8, label="sidebet window")
    ax.set_xlim(0, max(len(seen), 10) + 2)
    ax.set_xlabel("tick")
    ax.set_ylabel("price (x)")
    where = "presale" if env.tick < 0 else f"tick {env.tick}"
    ax.set_title(f"{env.game_id}  {where}\n{_account_text(env)}", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    canvas.draw()
    image = np.asarray(canvas.buffer_rgba())[..., :3].copy()
    return image


__all__ = ["ansi_line", "rgb_chart"]
