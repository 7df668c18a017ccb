"""``--replay DIR``: serve recorded games (prices and rug price from the files) instead of fresh ones.

DIR may be a recordings root (``YYYY-MM-DD`` folders), one day folder, or a folder of ``*.game.json``
files. Games are served once each, oldest first, under their recorded ids, seeds and hashes, so what a
recorder captures from the replay can be compared with the files it came from. A file that cannot be read
is logged and skipped (the server never stops on bad input). Read through :mod:`recorder.files`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

from recorder.files import GameRecording, RecordingFormatError, RecordingsLayout, is_day_dir, read_game
from rugs_env.game.constants import DEFAULT_VERSION
from rugs_env.game.prng import seed_hash
from rugs_env.server.games import GameSpec

log = logging.getLogger(__name__)
GAME_SUFFIX = ".game.json"


def game_files(directory: Path | str) -> list[Path]:
    """The game files under ``directory`` (a recordings root, a day folder, or a folder of games)."""
    directory = Path(directory)
    if is_day_dir(directory):
        return RecordingsLayout(directory.parent).game_files(directory)
    layout = RecordingsLayout(directory)
    if layout.days():
        return layout.game_files()
    return sorted(p for p in directory.glob(f"*{GAME_SUFFIX}") if not p.name.startswith("."))


def spec_of(game: GameRecording) -> GameSpec:
    """The engine's view of a recorded game."""
    meta = game.meta
    seed = meta.server_seed
    commitment = meta.server_seed_hash or (seed_hash(seed) if seed else "")
    return GameSpec(
        game_id=meta.game_id,
        server_seed=seed,
        server_seed_hash=commitment,
        version=meta.version or DEFAULT_VERSION,
        prices=tuple(game.pre_rug_prices),
        rug_price=game.rug_price,
    )


class ReplayGames:
    """Recorded games, one after the other; ``next_game`` returns None once they are all served."""

    def __init__(self, directory: Path | str) -> None:
        self.files = game_files(directory)
        self.skipped: list[tuple[Path, str]] = []
        self._iter: Iterator[Path] = iter(self.files)

    def next_game(self, now_ms: int) -> GameSpec | None:
        for path in self._iter:
            try:
                game = read_game(path)
            except (RecordingFormatError, OSError) as exc:
                log.warning("replay: skipping %s: %s", path, exc)
                self.skipped.append((path, str(exc)))
                continue
            if game.rug_tick < 1:
                self.skipped.append((path, "no tick before the rug"))
                continue
            return spec_of(game)
        return None
