"""The play loop of ``rugs play``: a policy on ``RugsLive-v0``, game after game, with a live status line.

:func:`play` resets the environment for each game (it joins the next presale), asks the policy for an
action on every observation (with the action mask), and steps until the rug. It stops after ``games``
games, when the broker halts (drift or an order nothing explains: the reason is reported), or on
Ctrl-C (the caller closes the session, which saves everything). The status line shows the game, tick,
price, position, the session's PnL, the order counts, the drift count and the connection.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import IO, Any

from rugs_env.live.policies import Policy


@dataclass(slots=True)
class PlayResult:
    games: int = 0
    steps: int = 0
    late_steps: int = 0
    skipped_ticks: int = 0
    invalid_actions: int = 0
    truncated: int = 0
    start_worth: int | None = None
    end_worth: int | None = None
    halted: str | None = None
    reason: str = "done"
    episodes: list[dict[str, Any]] = field(default_factory=list)

    @property
    def pnl(self) -> int:
        if self.start_worth is None or self.end_worth is None:
            return 0
        return self.end_worth - self.start_worth

    def as_json(self) -> dict[str, Any]:
        return {
            "games": self.games,
            "steps": self.steps,
            "late_steps": self.late_steps,
            "skipped_ticks": self.skipped_ticks,
            "invalid_actions": self.invalid_actions,
            "truncated": self.truncated,
            "pnl_lamports": self.pnl,
            "halted": self.halted,
            "reason": self.reason,
            "episodes": self.episodes,
        }


class StatusLine:
    """A one-line status on a terminal (rewritten in place, ~4 times a second), else a line every
    ``every`` seconds (and at each game's end)."""

    def __init__(
        self, stream: IO[str] | None = None, *, enabled: bool = True, every: float | None = None
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = enabled
        try:
            self.tty = self.stream.isatty()
        except (AttributeError, ValueError):
            self.tty = False
        self.every = every if every is not None else (0.25 if self.tty else 30.0)
        self._last = 0.0

    def line(self, env: Any, result: PlayResult) -> str:
        session = env.session
        with session.lock:
            ledger = env.broker.account
            price = env.prices_so_far[-1] if env.prices_so_far else 1.0
            worth = ledger.net_worth(price) if ledger.game_id is not None else ledger.cash
            summary = session.broker.summary()
            pos = f"pos {ledger.position_qty / 1e9:.4f}"
            if ledger.position_qty:
                pos += f" @{ledger.avg_cost:.4f}"
            if ledger.sidebet is not None:
                pos += f" +bet {ledger.sidebet.stake / 1e9:g}"
        start = result.start_worth if result.start_worth is not None else worth
        orders = summary["orders"]
        refused = sum(orders["refused"].values())
        drift = summary.get("verification", {}).get("drift_count", 0)
        up, total = session.health.up()
        tick = "presale" if env.tick < 0 else f"tick {env.tick}"
        text = (
            f"games {result.games} | {env.game_id[-8:] or '-'} {tick} | price {price:.4f}x | {pos}"
            f" | cash {ledger.cash / 1e9:.4f} | pnl {(worth - start) / 1e9:+.4f} SOL"
            f" | orders {orders['sent']} sent, {orders['rejected']} rejected, {refused} refused"
            f" | drift {drift} | conn {up}/{total}"
        )
        if summary.get("halted"):
            text += " | HALTED"
        return text

    def update(self, env: Any, result: PlayResult, *, force: bool = False) -> None:
        if not self.enabled or getattr(env, "_session", None) is None:
            return
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        try:
            line = self.line(env, result)
            if self.tty:
                self.stream.write(f"\r\x1b[2K{line}")
            else:
                self.stream.write(f"rugs play: {line}\n")
            self.stream.flush()
        except (OSError, ValueError):
            pass

    def done(self) -> None:
        if self.enabled and self.tty:
            try:
                self.stream.write("\n")
                self.stream.flush()
            except (OSError, ValueError):
                pass


def play(
    env: Any, policy: Policy, *, games: int | None = None, status: StatusLine | None = None
) -> PlayResult:
    """Play ``games`` games (None: until halted or interrupted); see the module docstring."""
    live = env.unwrapped
    result = PlayResult()
    status = status or StatusLine(enabled=False)
    try:
        while games is None or result.games < games:
            obs, info = env.reset()
            if result.start_worth is None:
                result.start_worth = live.net_worth
            if info.get("halted"):
                result.halted, result.reason = info["halted"], "halted"
                break
            episode = {"game_id": live.game_id, "steps": 0, "late": 0, "reward": 0.0}
            while True:
                action = policy(obs, info["action_mask"])
                obs, reward, terminated, truncated, info = env.step(action)
                result.steps += 1
                episode["steps"] += 1
                episode["reward"] += reward
                if info.get("late"):
                    result.late_steps += 1
                    episode["late"] += 1
                result.skipped_ticks += info.get("skipped_ticks", 0)
                result.invalid_actions += bool(info.get("invalid_action"))
                status.update(live, result)
                if terminated or truncated:
                    break
            result.games += 1
            result.truncated += bool(truncated)
            episode.update(pnl=info.get("pnl"), truncated=info.get("truncated_reason"))
            result.episodes.append(episode)
            result.end_worth = live.net_worth
            status.update(live, result, force=not status.tty)
            if info.get("halted"):
                result.halted, result.reason = info["halted"], "halted"
                break
    finally:
        status.update(live, result, force=True)
        status.done()
    return result


__all__ = ["PlayResult", "StatusLine", "play"]
