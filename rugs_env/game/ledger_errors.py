"""Typed errors of the ledger: every rejected order or call raises one, and leaves the account unchanged.

Each class carries a short machine-readable ``code`` (for acks, logs, counters and action masks) and a
human message (``str(error)``). Catch :class:`LedgerError` for all of them.

======================  ==========================  ======================================================
Class                   ``code``                    When
======================  ==========================  ======================================================
``InvalidAmount``       ``invalid_amount``          amount/quantity/fraction of the wrong type (bool, str,
                                                    float where lamports are expected), NaN, inf, <= 0,
                                                    fraction > 1, or an order that would trade 0 tokens
``InvalidPrice``        ``invalid_price``           price not a finite number > 0; a presale price != 1.0
``InvalidTick``         ``invalid_tick``            tick not an int >= 0, going backwards, or in the future
``InvalidGameId``       ``invalid_game_id``         game id not a non-empty string
``BelowMinimum``        ``below_minimum``           buy or sidebet below the minimum (0.001 SOL)
``AboveMaximum``        ``above_maximum``           buy or sidebet above the maximum (5 SOL by default)
``InsufficientCash``    ``insufficient_cash``       buy or sidebet larger than the cash
``NoPosition``          ``no_position``             sell with no tokens held
``InsufficientPosition`` ``insufficient_position``  sell of more tokens than held
``SidebetActive``       ``sidebet_active``          second sidebet while one is open
``PresaleSell``         ``presale_sell``            sell during presale
``NoGame``              ``no_game``                 trading or ticking before the first ``open_game``
``GameOver``            ``game_over``               anything but ``open_game`` after the rug
``GameInProgress``      ``game_in_progress``        ``open_game`` while the current game has not rugged
======================  ==========================  ======================================================
"""

from __future__ import annotations

from typing import ClassVar


class LedgerError(Exception):
    """Base of the ledger's errors: ``code`` is machine-readable, ``str(err)`` is for people."""

    code: ClassVar[str] = "ledger_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class InvalidAmount(LedgerError):
    """An amount, token quantity or fraction that is not a valid positive number of the right type."""

    code = "invalid_amount"


class InvalidPrice(LedgerError):
    """A price that is not a finite number > 0 (or not exactly 1.0 in presale)."""

    code = "invalid_price"


class InvalidTick(LedgerError):
    """A tick that is not an int >= 0, goes backwards, or lies ahead of the ledger's clock."""

    code = "invalid_tick"


class InvalidGameId(LedgerError):
    """A game id that is not a non-empty string."""

    code = "invalid_game_id"


class BelowMinimum(LedgerError):
    """A buy or sidebet below the minimum bet."""

    code = "below_minimum"


class AboveMaximum(LedgerError):
    """A buy or sidebet above the maximum bet."""

    code = "above_maximum"


class InsufficientCash(LedgerError):
    """A buy or sidebet that costs more than the cash available."""

    code = "insufficient_cash"


class NoPosition(LedgerError):
    """A sell while no tokens are held."""

    code = "no_position"


class InsufficientPosition(LedgerError):
    """A sell of more tokens than are held."""

    code = "insufficient_position"


class SidebetActive(LedgerError):
    """A sidebet while another one is still open (one at a time)."""

    code = "sidebet_active"


class PresaleSell(LedgerError):
    """A sell during presale (presale buys are irrevocable)."""

    code = "presale_sell"


class NoGame(LedgerError):
    """An order or tick before any game was opened."""

    code = "no_game"


class GameOver(LedgerError):
    """An order, tick or rug after the game has rugged."""

    code = "game_over"


class GameInProgress(LedgerError):
    """``open_game`` while the current game is still in presale or active."""

    code = "game_in_progress"


__all__ = [
    "AboveMaximum",
    "BelowMinimum",
    "GameInProgress",
    "GameOver",
    "InsufficientCash",
    "InsufficientPosition",
    "InvalidAmount",
    "InvalidGameId",
    "InvalidPrice",
    "InvalidTick",
    "LedgerError",
    "NoGame",
    "NoPosition",
    "PresaleSell",
    "SidebetActive",
]
