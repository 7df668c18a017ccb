"""Properties of the price path (hypothesis) and the precision of verify()."""

from __future__ import annotations

import json
import string

from hypothesis import given, settings
from hypothesis import strategies as st

from rugs_env.cli import main
from rugs_env.game import constants as C
from rugs_env.game.prng import generate, verify
from rugs_env.game.seedrandom import SeedRandom, draws, keystream, keystream_cipher

seeds = st.text(alphabet="0123456789abcdef", min_size=64, max_size=64)
game_ids = st.builds(
    lambda day, suffix: f"202{day % 10}{1 + day % 12:02d}{1 + day % 28:02d}-{suffix}",
    st.integers(0, 10_000),
    st.text(alphabet="0123456789abcdef", min_size=16, max_size=16),
)
any_seed_text = st.text(alphabet=string.printable + "é€😀", max_size=300)


@settings(max_examples=60, deadline=None)
@given(seeds, game_ids)
def test_path_invariants(seed: str, game_id: str) -> None:
    path = generate(seed, game_id)
    assert path.prices[0] == 1.0
    assert all(p >= 0.0 for p in path.prices)
    assert path.rug_tick == len(path.prices)
    assert 1 <= path.rug_tick <= C.MAX_TICKS + 1
    assert path.peak == max(path.prices)
    assert generate(seed, game_id) == path  # deterministic


@settings(max_examples=60, deadline=None)
@given(seeds, game_ids)
def test_each_step_is_a_drift_a_big_move_or_a_god_candle(seed: str, game_id: str) -> None:
    path = generate(seed, game_id, "v3")
    for before, after in zip(path.prices, path.prices[1:], strict=False):
        if after == before * C.GOD_CANDLE_MOVE and before <= C.GOD_CANDLE_MAX_PRICE:
            continue
        change = after / before - 1
        # drift in [-0.02, 0.03] plus volatility of at most 0.005 * 10; big moves are 0.15..0.25 either way
        assert -0.25 - 1e-12 <= change <= 0.25 + 1e-12


@settings(max_examples=40, deadline=None)
@given(seeds, game_ids)
def test_v1_and_v2_differ_only_after_a_price_above_100(seed: str, game_id: str) -> None:
    v1, v2 = generate(seed, game_id, "v1"), generate(seed, game_id, "v2")
    first_above = next((t for t, p in enumerate(v1.prices) if p > 100.0), None)
    if first_above is None:
        assert v1 == v2.__class__(**{**v2.to_json(), "version": "v1"})
    else:  # the tick computed from a price above 100 is the first that may differ
        assert v1.prices[: first_above + 1] == v2.prices[: first_above + 1]


def test_v1_and_v2_do_diverge_above_100() -> None:
    for i in range(2000):
        v1 = generate(f"{i:064x}", "20250101-0000000000000000", "v1")
        if v1.peak > 100.0:
            v2 = generate(f"{i:064x}", "20250101-0000000000000000", "v2")
            assert v1.prices != v2.prices
            return
    raise AssertionError("no v1 game above 100x among 2000 seeds")  # pragma: no cover


@settings(max_examples=40, deadline=None)
@given(any_seed_text)
def test_fast_keystream_decoding_equals_the_reference_port(seed_text: str) -> None:
    reference = SeedRandom(seed_text)
    expected = [reference.random() for _ in range(300)]
    fast, _ = draws(keystream(keystream_cipher(seed_text), 300 * 9), 0, 300)
    assert fast == expected


def test_verify_accepts_a_true_game_with_gaps() -> None:
    path = generate("ab" * 32, "20251212-0123456789abcdef")
    recorded: list[float | None] = [*path.prices, 0.0123]
    recorded[3] = None
    result = verify("ab" * 32, "20251212-0123456789abcdef", recorded, server_seed_hash=path.server_seed_hash)
    assert result.ok
    assert result.unchecked_ticks == [3]
    assert "verified" in result.summary()


def test_verify_names_every_difference() -> None:
    seed, game_id = "ab" * 32, "20251212-0123456789abcdef"  # rugs at tick 49
    path = generate(seed, game_id)
    recorded = [*path.prices, 0.01]
    recorded[2] = recorded[2] + 1e-15
    result = verify(seed, game_id, recorded, server_seed_hash="0" * 64, peak=path.peak + 1)
    fields = [(m.field, m.tick) for m in result.mismatches]
    assert fields == [("server_seed_hash", None), ("price", 2), ("peak", None)]
    assert "price at tick 2" in result.summary()
    short = verify(seed, game_id, recorded[:5])
    assert not short.ok and short.mismatches[0].field == "rug_tick"
    assert short.mismatches[0].expected == path.rug_tick and short.mismatches[0].observed == 4


def test_unknown_version_is_a_clear_error() -> None:
    try:
        generate("a", "b", "v9")
    except ValueError as exc:
        assert "v9" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected ValueError")


def test_cli_prints_the_path_as_json(capsys) -> None:
    seed = "365ddf8a74ece5c0c6af8c21ced5433a312c9885cf1815bd3ba54e7b19fd8d4d"
    game_id = "20251212-25dcb17086a24ad7"
    assert main(["prng", seed, game_id, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"game_id", "version", "server_seed_hash", "rug_tick", "peak", "prices"}
    assert out["rug_tick"] == 229 and out["peak"] == 1.273803618739543
    assert out["prices"] == generate(seed, game_id).prices


def test_cli_rejects_an_unknown_version(capsys) -> None:
    try:
        main(["prng", "a", "b", "--version", "v9"])
    except SystemExit as exc:
        assert exc.code == 2
    assert "invalid choice" in capsys.readouterr().err


@settings(max_examples=40, deadline=None)
@given(any_seed_text, st.integers(7, 120))
def test_decoding_up_to_the_end_of_the_stream_equals_the_reference_port(seed_text: str, size: int) -> None:
    """The last draws of a stream (read from 7 bytes, not 8) and the point where it runs out."""
    reference = SeedRandom(seed_text)
    stream = keystream(keystream_cipher(seed_text), size)
    decoded: list[float] = []
    pos = 0
    while True:
        try:
            (value,), pos = draws(stream, pos, 1)
        except IndexError:
            break
        decoded.append(value)
    assert decoded == [reference.random() for _ in decoded]
    assert pos + 7 > size or stream[pos] < 16  # ran out: fewer than 7 bytes, or a longer draw cut short
