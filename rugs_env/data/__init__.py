"""Datasets: recordings in, training data out, in the formats the RL ecosystem reads.

``rugs dataset build RECORDINGS... --out DIR`` (:func:`build_dataset`) writes::

    DIR/card.json, card.md         the dataset card (counts in and out, integrity, splits, fidelity, env spec)
    DIR/games.json                 every accepted game: split, start time, file, rug tick, players
    DIR/recordings/                the accepted recordings (the env of the dataset reads these)
    DIR/episodes/{split}.npz       canonical per-episode arrays (rugs_env.data.canonical)
    DIR/d4rl/{split}.npz           flat D4RL-style transitions (rugs_env.data.export_d4rl)
    DIR/minari/                    Minari datasets rugs/<name>-<split>-v0 (rugs_env.data.export_minari)

An episode is one recorded player in one recorded game, replayed through ``RugsReplay-v0`` with that player's
actions as labels (:mod:`rugs_env.data.episodes`); splits are chronological (:mod:`rugs_env.data.splits`).
Read a split back with :func:`load_dataset`::

    from rugs_env.data import load_dataset
    train = load_dataset("DIR", "train")
    steps = train.demo_steps()     # observations, action_masks, actions (human labels), label_valid
"""

from rugs_env.data.builder import FORMATS, DatasetError, build_dataset, parse_formats
from rugs_env.data.canonical import EpisodeSet, load_dataset, read_card, read_games
from rugs_env.data.episodes import Episode
from rugs_env.data.splits import DEFAULT_RATIOS, chronological_split, parse_ratios

__all__ = [
    "DEFAULT_RATIOS",
    "FORMATS",
    "DatasetError",
    "Episode",
    "EpisodeSet",
    "build_dataset",
    "chronological_split",
    "load_dataset",
    "parse_formats",
    "parse_ratios",
    "read_card",
    "read_games",
]
