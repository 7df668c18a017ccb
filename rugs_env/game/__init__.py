"""The rulebook: the provably-fair price path, the ledger, money and the game's constants.

Imports nothing else from this project, so everything can depend on it.
"""

from rugs_env.game.ledger import Ledger
from rugs_env.game.ledger_errors import LedgerError
from rugs_env.game.ledger_types import Fill, FillKind, LedgerState, Phase, Sidebet
from rugs_env.game.prng import GamePath, Mismatch, Verification, generate, seed_hash, verify

__all__ = [
    "Fill",
    "FillKind",
    "GamePath",
    "Ledger",
    "LedgerError",
    "LedgerState",
    "Mismatch",
    "Phase",
    "Sidebet",
    "Verification",
    "generate",
    "seed_hash",
    "verify",
]
