"""``RugsReplay-v0``: recorded rugs.fun games, one per episode, traded through the rulebook's ledger."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from rugs_env.envs.core import RugsEnvBase
from rugs_env.envs.games import GameStore, load_store
from rugs_env.envs.spec import ActionTable, observation_rows


class RugsReplayEnv(RugsEnvBase):
    """
    ## Description

    Replays recorded [rugs.fun](https://rugs.fun) games. rugs.fun is a crash-trading game on Solana: a price
    multiplier starts at 1.0 and moves every 250 ms until the game "rugs", and open positions are then
    liquidated at almost nothing. Each episode is one recorded game, from its presale to its rug. The agent
    buys, sells and places sidebets (a bet that the game rugs within the next 40 ticks, paying 5x); every
    order is filled by the rulebook's ledger (exact lamport rounding, the server's limits) through the
    simulated broker. When the recordings hold a human player's session for the game, each step's info
    carries the action that player took at that tick, for behaviour cloning.

    ## Action Space

    `Discrete(n)` over an action table (`rugs_env.envs.spec.ActionTable`; default, 18 actions):

    | Num   | Action        | Order                                                              |
    |-------|---------------|--------------------------------------------------------------------|
    | 0     | hold          | nothing                                                            |
    | 1-7   | buy           | spend 0.001, 0.01, 0.05, 0.1, 0.25, 1 or 5 SOL at the current price |
    | 8-11  | sell          | sell 10, 25, 50 or 100 % of the position                           |
    | 12-17 | sidebet       | stake 0.001, 0.005, 0.01, 0.015, 0.05 or 0.1 SOL on a rug within   |
    |       |               | the next 40 ticks                                                  |

    `action_masks()` (and `info["action_mask"]`) gives the actions the ledger accepts now (cash, the 0.001-5
    SOL limits, a position to sell, one sidebet at a time, no sells in presale). An invalid action is
    treated as hold and flagged with `info["invalid_action"] = True`.

    ## Observation Space

    `Box(low, high, (24,), float32)`: what a player sees at that tick and nothing later (the peak is the
    peak so far; no feature depends on the game's length):

    | Num   | Observation        | Meaning                                                 |
    |-------|--------------------|---------------------------------------------------------|
    | 0     | presale            | 1 before tick 0                                         |
    | 1     | rugged             | 1 on the final observation of a rugged game             |
    | 2     | tick               | log1p(tick) / 8                                         |
    | 3     | log_price          | log(price)                                              |
    | 4     | price_to_peak      | price / peak so far                                     |
    | 5     | log_peak           | log(peak so far)                                        |
    | 6     | ticks_since_peak   | log1p(ticks since the peak so far) / 8                  |
    | 7-16  | ret_0 .. ret_9     | log returns of the last 10 ticks (newest first)         |
    | 17    | cash               | cash / initial cash                                     |
    | 18    | position_value     | proceeds of a full sale now / initial cash              |
    | 19    | in_position        | 1 if holding tokens                                     |
    | 20    | avg_cost_ratio     | log(price / average entry price), 0 when flat           |
    | 21    | sidebet_active     | 1 if a sidebet is open                                  |
    | 22    | sidebet_left       | ticks left in its window / 40                           |
    | 23    | sidebet_stake      | the open stake / initial cash                           |

    ## Rewards

    The change of the account's net worth in SOL (cash + proceeds of a full sale at the current price + the
    open sidebet's stake). A full sale or placing a sidebet is neutral; a sidebet's win or loss and the
    liquidation at the rug show when they happen. The rewards of an episode sum to its profit and loss: the
    integer lamport changes sum exactly to it (the tests check every sample game), `info["pnl"]` on the last
    step gives it in SOL.

    ## Starting State

    Presale of the chosen game: price 1.0, observation index 0 set, cash = `initial_cash`, flat. An action
    in presale executes at 1.0 (a sidebet then covers ticks 1-40). Each step then executes the action at the
    price of the tick observed and reveals the next tick (tick 0 = 1.0, tick 1, ...).

    ## Episode End

    - Termination: the next tick is the rug. The sidebet is settled and the position liquidated at the
      recorded rug price; the final observation has `rugged = 1`.
    - Truncation: the recording ends without a rug (its meta says `"rugged": false`), or `max_ticks` is
      reached.

    ## Arguments

    | Argument       | Default            | Meaning                                                       |
    |----------------|--------------------|---------------------------------------------------------------|
    | `source`       | `datasets/sample/` | a recordings folder, a list of files/folders, or a GameStore  |
    | `date_from`    | None               | keep games started on or after this UTC day (`"YYYY-MM-DD"`)  |
    | `date_to`      | None               | keep games started on or before this UTC day                  |
    | `order`        | `"random"`         | `"random"` (from `np_random`) or `"sequential"` (in order)    |
    | `action_table` | `DEFAULT_TABLE`    | an `ActionTable`                                              |
    | `initial_cash` | 10.0               | SOL at the start of each episode                              |
    | `max_ticks`    | None               | truncate after this tick                                      |
    | `demo_player`  | None               | whose session labels `info["human_action"]` (default: drawn)  |
    | `demos_only`   | False              | draw only games with a recorded session (behaviour cloning)   |
    | `render_mode`  | None               | `"ansi"` (a text line per tick) or `"rgb_array"` (a chart)    |

    `reset(options={"game_id": ...})` (or `{"game_index": i}`) replays a given game, `options={"player": ...}`
    a given player's demonstration. `env.unwrapped.game_ids` lists the games in order.

    ## Info

    `action_mask`, `tick` (-1 in presale), `game_id` and `demo_player` (at reset), `human_action` (the table
    action the demonstrating player took at the tick observed, 0 = hold when none; present only when a
    session of that game is recorded), `invalid_action`, and `pnl` (SOL) on the last step.
    """

    def __init__(
        self,
        source: str | Path | Sequence[str | Path] | GameStore | None = None,
        *,
        date_from: date | str | None = None,
        date_to: date | str | None = None,
        order: str = "random",
        action_table: ActionTable | None = None,
        initial_cash: float = 10.0,
        max_ticks: int | None = None,
        demo_player: str | None = None,
        demos_only: bool = False,
        render_mode: str | None = None,
    ) -> None:
        super().__init__(
            action_table=action_table, initial_cash=initial_cash, max_ticks=max_ticks, render_mode=render_mode
        )
        if order not in ("random", "sequential"):
            raise ValueError(f"order must be 'random' or 'sequential', got {order!r}")
        if isinstance(source, GameStore):
            self.store = source
        else:
            self.store = load_store(source, date_from=date_from, date_to=date_to)
        self.order = order
        self.fixed_player = demo_player
        # the games episodes are drawn from: all, or those with a recorded session (behaviour cloning)
        self._pool = [i for i, g in enumerate(self.store.game_ids) if not demos_only or self.store.players(g)]
        if not self._pool:
            raise ValueError("demos_only=True but no game of the source has a recorded session")
        self._cursor = -1
        self._game_index = 0
        # per game, built on first use: python price list and observation rows (cheap indexing in step)
        self._games: dict[int, tuple[list[float], np.ndarray]] = {}
        self._label_cache: dict[tuple[int, str], np.ndarray] = {}

    @property
    def game_ids(self) -> list[str]:
        """Every game of the store, in order (start time, then id)."""
        return list(self.store.game_ids)

    def _next_game(self, options: dict[str, Any]) -> tuple[str, list[float], np.ndarray, bool]:
        store = self.store
        if "game_id" in options:
            i = store.index_of(options["game_id"])
        elif "game_index" in options:
            i = int(options["game_index"]) % store.n_games
        elif self.order == "sequential":
            self._cursor = (self._cursor + 1) % len(self._pool)
            i = self._pool[self._cursor]
        else:
            i = self._pool[int(self.np_random.integers(len(self._pool)))]
        self._game_index = i
        cached = self._games.get(i)
        if cached is None:  # python floats for scalar indexing, full-width observation rows
            rows = observation_rows(store.game_features(i))
            cached = self._games[i] = (store.game_prices(i).tolist(), rows)
        return store.game_ids[i], cached[0], cached[1], bool(store.rugged[i])

    def _demo_labels(self, options: dict[str, Any]) -> np.ndarray | None:
        players = self.store.players(self.game_id)
        self.demo_player = None
        if not players:
            return None
        player = options.get("player", self.fixed_player)
        if player is None:
            player = players[int(self.np_random.integers(len(players)))]
        elif player not in players:
            return None
        self.demo_player = player
        key = (self._game_index, player)
        labels = self._label_cache.get(key)
        if labels is None:
            from rugs_env.envs.labels import label_actions

            steps = len(self._prices) + 1  # presale + ticks 0 .. rug
            labels = label_actions(self.store.demo(self.game_id, player), self.table, steps).actions
            self._label_cache[key] = labels
        return labels


__all__ = ["RugsReplayEnv"]
