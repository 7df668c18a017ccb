"""The price path reproduces the live game: PROTOCOL.md §6.7 test vectors and every seeded real game."""

from __future__ import annotations

import pytest

from rugs_env.game.prng import generate, seed_hash
from rugs_env.game.seedrandom import SeedRandom, draws, keystream, keystream_cipher

LIVE_SEED = "365ddf8a74ece5c0c6af8c21ced5433a312c9885cf1815bd3ba54e7b19fd8d4d"
LIVE_GAME = "20251212-25dcb17086a24ad7"
VERIFIER_SEED = "fedde170f25570df546c5c16de6f571b8253221f9307e977c4f5354a5aa078a4"
VERIFIER_GAME = "20250701-55b97a42871f441f"


def test_seedrandom_library_vector() -> None:
    assert SeedRandom("hello.").random() == 0.9282578795792454


def test_first_draws_of_a_live_game() -> None:
    expected = [
        0.32526361756235067,
        0.22637075307516943,
        0.6279941434391175,
        0.813685292904358,
        0.36832914591502103,
        0.3024709242732417,
    ]
    reference = SeedRandom(f"{LIVE_SEED}-{LIVE_GAME}")
    assert [reference.random() for _ in range(6)] == expected
    fast, _ = draws(keystream(keystream_cipher(f"{LIVE_SEED}-{LIVE_GAME}"), 64), 0, 6)
    assert fast == expected


def test_live_game_path() -> None:
    path = generate(LIVE_SEED, LIVE_GAME)
    assert path.prices[1:6] == [
        1.019367556104368,
        1.0190176377281495,
        1.0268996515241475,
        1.049617211021077,
        1.080229803763181,
    ]
    assert path.rug_tick == 229
    assert len(path.prices) == 229
    assert path.prices[-1] == 0.8215285281947463
    assert path.peak == 1.273803618739543


@pytest.mark.parametrize(
    ("version", "peak", "rug_tick"),
    [("v1", 3.8474620187013504, 83), ("v2", 3.8474620187013504, 83), ("v3", 4.38082767954252, 179)],
)
def test_official_verifier_vector(version: str, peak: float, rug_tick: int) -> None:
    path = generate(VERIFIER_SEED, VERIFIER_GAME, version)
    assert path.server_seed_hash == "eda505784c52cba72256771a21db61b4313749fb2675d14d3641bf5de589da42"
    assert (path.peak, path.rug_tick) == (peak, rug_tick)
    if version == "v3":
        assert path.prices[1:4] == [0.9998010735050724, 0.9964330692572038, 1.0242644521887196]


def test_december_verifier_vector() -> None:
    seed = "6500cdbe92a642aac84b178756ceea75665fd5f82ced512ecadb30fefed15755"
    assert seed_hash(seed) == "961079f9f7ebb139fe1c89d74bb16d0b606776c508b1b75c428ff39b077d7a8a"
    path = generate(seed, "20251218-831db215e62e461e")
    assert (path.peak, path.rug_tick) == (3.3201366548143785, 71)


def test_god_candle_and_volatility_cap_game() -> None:
    seed = "3b0be421325842c3ea7beff145e001b910bab19d2c6d14a48dfc3b3cb935f2ca"
    path = generate(seed, "20260206-37b5f0ba6e014e7c")
    assert path.prices[364] == 22.484799217692508
    assert path.prices[365] == 224.8479921769251
    assert path.peak == 1122.2782485733776
    assert path.rug_tick == 700


def test_every_seeded_game_of_the_raw_capture(seeded_games: dict[str, dict]) -> None:
    assert len(seeded_games) == 12
    for game_id, entry in seeded_games.items():
        fair = entry["provablyFair"]
        path = generate(fair["serverSeed"], game_id, entry.get("gameVersion", "v3"))
        recorded = entry["prices"]
        assert path.server_seed_hash == fair["serverSeedHash"], game_id
        assert path.rug_tick == len(recorded) - 1, game_id
        assert path.prices == recorded[:-1], game_id  # bit-exact: float == float
        assert path.peak == entry["peakMultiplier"], game_id


def test_peaks_of_the_february_key_samples(key_samples: dict) -> None:
    entries: dict[str, dict] = {}
    for sample in key_samples.values():
        data = sample.get("data") if isinstance(sample, dict) else None
        payload = data[-1] if isinstance(data, list) else data
        if isinstance(payload, dict):
            for entry in payload.get("gameHistory") or []:
                entries.setdefault(entry["id"], entry)
    assert len(entries) == 10
    for game_id, entry in entries.items():
        fair = entry["provablyFair"]
        path = generate(fair["serverSeed"], game_id, entry.get("gameVersion", "v3"))
        assert path.server_seed_hash == fair["serverSeedHash"], game_id
        assert path.peak == entry["peakMultiplier"], game_id
