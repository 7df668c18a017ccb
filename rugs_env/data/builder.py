"""``build_dataset``: recordings in, a dataset folder out (canonical arrays, exports, card).

Stages (each shows a progress bar when ``progress`` is on):

1. read and check every recording (:func:`rugs_env.data.sources.collect`): bad files are skipped with their
   reason, never included;
2. write the accepted recordings to ``DIR/recordings/`` (the usual layout, with daily indexes): the
   environment of the dataset reads exactly these, so the episodes and ``recover_environment()`` agree;
3. split the games chronologically (:mod:`rugs_env.data.splits`);
4. replay every (game, player) pair through ``RugsReplay-v0`` (:mod:`rugs_env.data.episodes`);
5. write ``DIR/episodes/{split}.npz`` (canonical, always), ``DIR/d4rl/{split}.npz`` and Minari datasets
   under ``DIR/minari/`` as asked, ``DIR/games.json`` (every game with its split) and the card.

Counts are checked at every stage (games read = accepted + skipped; pairs = demonstration episodes): a
difference is an error, never a silent loss.
"""

from __future__ import annotations

import importlib.util
import shutil
import statistics
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rugs_env.data.canonical import GAMES_JSON, RECORDINGS_DIR, EpisodeSet, concat, write_split
from rugs_env.data.episodes import Episode, make_replay_env, play_episode
from rugs_env.data.sources import Collected, collect
from rugs_env.data.splits import DEFAULT_RATIOS, chronological_split, split_names

FORMATS = ("npz", "minari", "d4rl")
Log = Callable[[str], None]


class DatasetError(Exception):
    """The dataset cannot be built (no usable games, an output folder in the way...)."""


def parse_formats(text: str | Sequence[str]) -> tuple[str, ...]:
    """``"npz,minari,d4rl"`` -> a tuple; ``ValueError`` for an unknown format."""
    items = [x.strip() for x in (text.split(",") if isinstance(text, str) else text) if x.strip()]
    bad = [x for x in items if x not in FORMATS]
    if bad:
        raise ValueError(f"unknown format {bad[0]!r}: choose from {', '.join(FORMATS)}")
    return tuple(dict.fromkeys(items))


def _prepare_out(out: Path, force: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not force:
            raise DatasetError(f"{out} exists and is not empty (use --force to replace a dataset there)")
        if not (out / "card.json").exists():
            raise DatasetError(f"{out} is not a dataset folder: refusing to delete it, even with --force")
        shutil.rmtree(out)
    out.mkdir(parents=True, exist_ok=True)


def _write_recordings(collected: Collected, root: Path) -> None:
    from recorder.files import RecordingsLayout, rebuild_index

    layout = RecordingsLayout(root)
    for game in collected.games:
        layout.write_game(game)
    for session in collected.sessions:
        layout.write_session(session)
    for day in layout.days():
        rebuild_index(day)


def _bar(total: int, desc: str, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, desc=desc, unit="", disable=not enabled, leave=True, dynamic_ncols=True)


def build_dataset(
    inputs: Sequence[str | Path],
    out: str | Path,
    *,
    formats: Sequence[str] = FORMATS,
    ratios: Sequence[float] = DEFAULT_RATIOS,
    name: str | None = None,
    hold_episodes: bool = False,
    force: bool = False,
    progress: bool = True,
    log: Log = print,
) -> dict[str, Any]:
    """Build a dataset from recordings (see the module docstring); returns the card (also written)."""
    from rugs_env import __version__
    from rugs_env.data.card import write_card
    from rugs_env.envs.games import load_store
    from rugs_env.envs.labels import label_fidelity

    out = Path(out)
    formats = parse_formats(formats)
    if "minari" in formats and importlib.util.find_spec("minari") is None:
        raise DatasetError(
            "the minari format needs Minari: pip install 'rugs-env[export]' (or --format npz,d4rl)"
        )
    name = name or out.resolve().name
    _prepare_out(out, force)
    inputs = [str(Path(p)) for p in inputs]
    n_files = sum(len(x) for x in map(_files_of, inputs))
    with _bar(n_files, "check recordings", progress) as bar:
        collected = collect(inputs, progress=bar.update)
    acc = collected.accounting
    log(
        f"recordings: {acc.game_files} game files -> {acc.games_accepted} games ({acc.verified} verified, "
        f"{acc.unverified} unverified), {sum(acc.games_skipped.values())} skipped "
        f"{dict(acc.games_skipped) or ''}; {acc.session_files} session files -> {acc.sessions_accepted} "
        f"sessions; {acc.actions_in} session actions -> {acc.actions_kept} kept, "
        f"{sum(acc.actions_dropped.values())} dropped {dict(acc.actions_dropped) or ''}"
    )
    for s in collected.skipped:
        log(f"  skipped: {s.kind.upper()} {s.path}: {s.reason}")
    if not collected.games:
        raise DatasetError("no usable game in the inputs: nothing to build")
    recordings = out / RECORDINGS_DIR
    _write_recordings(collected, recordings)
    store = load_store(recordings)
    if store.n_games != len(collected.games):  # pragma: no cover - a bug, not bad data
        raise DatasetError(f"{len(collected.games)} games accepted but {store.n_games} read back")
    starts = dict(zip(store.game_ids, store.start_times, strict=True))
    splits = chronological_split(list(starts.items()), ratios)
    pairs = [(s, g, p) for s, gids in splits.items() for g in gids for p in store.players(g)]
    holds = [(s, g, "") for s, gids in splits.items() for g in gids if hold_episodes and not store.players(g)]
    env = make_replay_env(store)
    by_split: dict[str, list[Episode]] = {s: [] for s in splits}
    with _bar(len(pairs) + len(holds), "replay episodes", progress) as bar:
        for split, gid, player in sorted(pairs + holds, key=lambda x: (store.index_of(x[1]), x[2])):
            by_split[split].append(play_episode(env, gid, player))
            bar.update(1)
    env.close()
    sets = {s: concat(s, eps) for s, eps in by_split.items()}
    files: dict[str, str] = {"recordings": RECORDINGS_DIR + "/"}
    for s in sets.values():
        write_split(out, s)
    files["npz"] = "episodes/{" + ",".join(sets) + "}.npz"
    if "d4rl" in formats:
        from rugs_env.data.export_d4rl import export_d4rl

        for s in sets.values():
            export_d4rl(out, s)
        files["d4rl"] = "d4rl/{" + ",".join(sets) + "}.npz"
    minari_ids: dict[str, str] = {}
    if "minari" in formats:
        from rugs_env.data.export_minari import export_minari

        log("writing Minari datasets ...")
        minari_ids = export_minari(out, name, sets, recordings)
        files["minari"] = "minari/"
    fidelity = label_fidelity(store)
    games_table = _games_table(store, splits, collected, recordings, out)
    (out / GAMES_JSON).write_text(_json({"games": games_table}))
    card = {
        "name": name,
        "created": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        "rugs_env_version": __version__,
        "inputs": inputs,
        "hold_episodes": hold_episodes,
        "ratios": list(ratios),
        "totals": _totals(store, collected, sets),
        "splits": {
            s: _split_stats(store, splits[s], sets[s], r) for s, r in zip(splits, ratios, strict=True)
        },
        "accounting": {
            **acc.to_json(),
            "pairs": len(pairs),
            "episodes_demo": sum(int((x.players != "").sum()) for x in sets.values()),
        },
        "label_fidelity": _fidelity(fidelity, sets),
        "env": _env_card(recordings),
        "files": files,
        "minari_ids": minari_ids,
        "skipped": [s.to_json() for s in collected.skipped],
    }
    if card["accounting"]["episodes_demo"] != len(pairs):  # pragma: no cover - a bug, not bad data
        raise DatasetError(
            f"{len(pairs)} (game, player) pairs but {card['accounting']['episodes_demo']} episodes"
        )
    write_card(out, card)
    return card


def _files_of(item: str) -> list[Path]:
    from rugs_env.envs.games import recording_files

    games, sessions = recording_files(Path(item).resolve())
    return games + sessions


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, indent=1) + "\n"


def _iso(t: datetime | None) -> str | None:
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z") if t is not None else None


def _games_table(
    store: Any, splits: dict[str, list[str]], collected: Collected, recordings: Path, out: Path
) -> list[dict[str, Any]]:
    from recorder.files import RecordingsLayout

    layout = RecordingsLayout(recordings)
    by_id = {g.game_id: g for g in collected.games}
    split_of = {g: s for s, gids in splits.items() for g in gids}
    rows = []
    for i, gid in enumerate(store.game_ids):
        game = by_id[gid]
        rows.append(
            {
                "game_id": gid,
                "split": split_of[gid],
                "start_time": _iso(store.start_times[i]),
                "file": layout.game_path(game).relative_to(out.resolve()).as_posix(),
                "source": collected.sources[gid],
                "rug_tick": int(store.rug_ticks[i]),
                "peak": game.meta.peak_multiplier,
                "verified": bool(game.meta.server_seed is not None),
                "rugged": bool(store.rugged[i]),
                "players": store.players(gid),
            }
        )
    return rows


def _date_range(store: Any, gids: Sequence[str]) -> tuple[str | None, str | None]:
    times = [store.start_times[store.index_of(g)] for g in gids]
    times = [t for t in times if t is not None]
    return (_iso(min(times)), _iso(max(times))) if times else (None, None)


def _totals(store: Any, collected: Collected, sets: dict[str, EpisodeSet]) -> dict[str, Any]:
    lo, hi = _date_range(store, store.game_ids)
    players = {p for g in store.game_ids for p in store.players(g)}
    acc = collected.accounting
    return {
        "games": store.n_games,
        "verified": acc.verified,
        "unverified": acc.unverified,
        "ticks": int(store.lengths.sum()),
        "sessions": len(collected.sessions),
        "players": len(players),
        "episodes": sum(len(s) for s in sets.values()),
        "steps": sum(s.n_steps for s in sets.values()),
        "date_from": lo,
        "date_to": hi,
    }


def _split_stats(store: Any, gids: list[str], episodes: EpisodeSet, ratio: float) -> dict[str, Any]:
    from rugs_env.envs.spec import DEFAULT_TABLE

    lo, hi = _date_range(store, gids)
    demo = episodes.demo_steps()["actions"]
    counts = Counter(int(a) for a in demo)
    return {
        "ratio": ratio,
        "games": len(gids),
        "games_with_demos": sum(1 for g in gids if store.players(g)),
        "ticks": int(sum(store.lengths[store.index_of(g)] for g in gids)),
        "episodes": len(episodes),
        "demo_episodes": int((episodes.players != "").sum()),
        "steps": episodes.n_steps,
        "decisions": int(sum(v for k, v in counts.items() if k != 0)),
        "players": len(set(episodes.players.tolist()) - {""}),
        "date_from": lo,
        "date_to": hi,
        "labels": {DEFAULT_TABLE.names[k]: v for k, v in sorted(counts.items())},
        "invalid_labels": int(episodes.invalid.sum()),
        "game_ids": list(gids),
    }


def _fidelity(report: Any, sets: dict[str, EpisodeSet]) -> dict[str, Any]:
    gaps = [g.pnl_gap for g in report.games if g.pnl_gap is not None]
    return {
        "decisions": report.decisions,
        "exact": report.exact,
        "exact_share": report.exact_share,
        "collisions": sum(g.collisions for g in report.games),
        "invalid_labels": sum(int(s.invalid.sum()) for s in sets.values()),
        "median_pnl_gap": statistics.median(gaps) if gaps else None,
        "pairs_compared": len(gaps),
    }


def _env_card(recordings: Path) -> dict[str, Any]:
    from rugs_env.data.export_minari import env_spec
    from rugs_env.envs.spec import DEFAULT_TABLE, OBS_NAMES, OBS_SIZE

    spec = env_spec(recordings)
    return {
        "id": spec.id,
        "entry_point": spec.entry_point,
        "kwargs": spec.kwargs,
        "observation_size": OBS_SIZE,
        "observation_names": list(OBS_NAMES),
        "action_names": list(DEFAULT_TABLE.names),
    }


__all__ = ["FORMATS", "DatasetError", "build_dataset", "parse_formats", "split_names"]
