"""RecentKeys: the pipeline's memory of the trades and sidebets it has seen, one 64-bit digest a key."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from recorder.recent_keys import RecentKeys, digest

KEY = st.tuples(st.sampled_from(["trade", "bet"]), st.text(max_size=12), st.integers(-5, 5) | st.floats())


def test_a_key_is_new_once_and_a_copy_after() -> None:
    seen = RecentKeys(capacity=100, batch=8)
    trade = ("trade", "9d33997e-2bad-4893-9de5-8e8ec708891a")
    assert seen.add(trade) and trade in seen
    assert not seen.add(trade) and not seen.add(("trade", "9d33997e-2bad-4893-9de5-8e8ec708891a"))
    for i in range(20):  # past a sort of the ring: found in the sorted copy
        assert seen.add(("trade", str(i)))
    assert not seen.add(trade)


def test_a_key_is_remembered_for_capacity_successors_then_forgotten() -> None:
    seen = RecentKeys(capacity=50, batch=7)
    seen.add("first")
    for i in range(49):
        seen.add(i)
    assert "first" in seen  # 49 successors
    for i in range(49, 49 + 50 + 7):
        seen.add(i)
    assert "first" not in seen and seen.add("first")  # more than capacity + batch later: forgotten


def test_keys_that_look_alike_are_told_apart() -> None:
    keys = [("trade", 5), ("trade", "5"), ("trade", 5.0), ("bet", "p", "g", 1), ("bet", "p", "g", "1")]
    assert len({digest(k) for k in keys}) == len(keys)
    seen = RecentKeys(capacity=10)
    assert all(seen.add(k) for k in keys)


@given(st.lists(KEY, max_size=300))
def test_within_capacity_it_answers_as_a_set(keys: list[tuple]) -> None:
    seen, plain = RecentKeys(capacity=400, batch=16), set()
    for key in keys:
        assert seen.add(key) == (repr(key) not in plain)
        plain.add(repr(key))
