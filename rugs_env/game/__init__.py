"""The rulebook: the provably-fair price path, the ledger, money and the game's constants.

Imports nothing else from this project, so everything can depend on it.
"""

from rugs_env.game.prng import GamePath, Mismatch, Verification, generate, seed_hash, verify

__all__ = ["GamePath", "Mismatch", "Verification", "generate", "seed_hash", "verify"]
