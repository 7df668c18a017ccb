"""The game's constants: price path (PROTOCOL.md §6.3), economics and limits (§5), cadence (§1-2)."""

from typing import Final

# -- provably-fair price path (identical in v1, v2, v3 unless noted) --------------------------------------
RUG_PROB: Final = 0.005
DRIFT_MIN: Final = -0.02
DRIFT_MAX: Final = 0.03
BIG_MOVE_CHANCE: Final = 0.125
BIG_MOVE_MIN: Final = 0.15
BIG_MOVE_MAX: Final = 0.25
MAX_TICKS: Final = 5000
STARTING_PRICE: Final = 1.0
VOLATILITY_BASE: Final = 0.005
VOLATILITY_SQRT_CAP: Final = 10.0  # v2, v3: volatility = 0.005 * min(10, sqrt(price))
GOD_CANDLE_CHANCE: Final = 0.00001  # v3 only
GOD_CANDLE_MOVE: Final = 10.0  # v3 only
GOD_CANDLE_MAX_PRICE: Final = 100.0  # v3: a god candle needs price <= 100
VERSIONS: Final = ("v1", "v2", "v3")
DEFAULT_VERSION: Final = "v3"

# -- rug price (not from the seed; PROTOCOL.md §6.5): rug_price = min(last_price, 1.0) * V, 0 < V <= bound --
RUG_PRICE_FACTOR_MAX: Final = 1 - 0.98  # == 0.020000000000000018, observed exactly in ~17 % of games

# -- money --------------------------------------------------------------------------------------------------
LAMPORTS_PER_SOL: Final = 1_000_000_000
MIN_BET_LAMPORTS: Final = 1_000_000  # 0.001 SOL, buys and sidebets
DEFAULT_MAX_BET_LAMPORTS: Final = 5 * LAMPORTS_PER_SOL
PRESALE_PRICE: Final = 1.0
SOL_MINT: Final = "So11111111111111111111111111111111111111112"
PRACTICE_COIN: Final = "0xPractice"

# -- sidebets -----------------------------------------------------------------------------------------------
SIDEBET_WINDOW_TICKS: Final = 40  # win iff start < rug_tick <= start + 40
SIDEBET_X_PAYOUT: Final = 5  # a win pays 5x the stake (profit 4x)

# -- cadence (real time; the local server scales these by --speed) ---------------------------------------
TICK_SECONDS: Final = 0.25
COOLDOWN_MESSAGE_SECONDS: Final = 0.1
COOLDOWN_TIMER_START_MS: Final = 15_000
PRESALE_TIMER_START_MS: Final = 10_000  # allowPreRoundBuys from here down to 100
