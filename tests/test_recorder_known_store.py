"""KnownStore: the index entries of written files, on disk; fresh until a rebuild uses them, then kept."""

from __future__ import annotations

import gc
import threading

from recorder.files import KnownFile
from recorder.known_store import KnownStore

DAY_A, DAY_B = "/rec/2025-12-12", "/rec/2025-12-13"


def entry(n: int, day: str = DAY_A) -> tuple[str, KnownFile]:
    file = f"games/g{n}.game.json"
    stamp = (2049, 2**63 + n, 1000 + n, 1_765_000_000_000_000_000 + n, n)  # an inode past SQLite's int64
    return f"{day}/{file}", KnownFile(stamp, file, f'{{"file": "{file}", "n": {n}}}', f"20251212-{n:016x}")


def put(store: KnownStore, n: int, day: str = DAY_A) -> None:
    path, known = entry(n, day)
    store.remember(path, day, known)


def test_entries_round_trip_exactly_and_belong_to_their_day() -> None:
    store = KnownStore()
    path, known = entry(1)
    store.remember(path, DAY_A, known)
    assert store.get(path) == known and store.get(path, DAY_A) == known
    assert store.get(path, DAY_B) is None and store.get(DAY_A + "/games/other.game.json") is None
    day = store.day(DAY_A)
    assert day.get(path) == known and day[path] == known and list(day) == [path] and len(day) == 1
    assert store.day(DAY_B).get(path) is None and len(store.day(DAY_B)) == 0
    newer = KnownFile(known.stamp[:2] + (5, 6, 7), known.file, "{}", None)
    store.remember(path, DAY_A, newer)  # a rewrite replaces the entry
    assert store.get(path) == newer and store.counts() == (1, 0)


def test_a_rebuild_makes_its_day_s_entries_kept_and_only_the_last_keep_stay() -> None:
    store = KnownStore(keep=3)
    for n in range(5):
        put(store, n)
    put(store, 9, DAY_B)
    mark = store.mark()
    put(store, 5)  # lands while the rebuild runs: stays fresh
    store.used(DAY_A, mark)
    assert store.counts() == (2, 3)  # day B's and the late one fresh; the last 3 of day A's 5 kept
    assert [store.get(entry(n)[0]) is not None for n in range(6)] == [False, False, True, True, True, True]
    store.used(DAY_B, store.mark())
    assert store.counts() == (1, 3) and store.get(entry(2)[0]) is None  # the oldest kept went
    forgetful = KnownStore(keep=0)  # keeps nothing once its day's index is written
    put(forgetful, 1)
    forgetful.used(DAY_A, forgetful.mark())
    assert forgetful.counts() == (0, 0)


def test_writers_and_a_rebuild_in_threads_lose_nothing() -> None:
    store = KnownStore(keep=10_000)

    def write(first: int) -> None:
        for n in range(first, first + 500):
            put(store, n)

    threads = [threading.Thread(target=write, args=(i * 500,)) for i in range(4)]
    for t in threads:
        t.start()
    for _ in range(20):
        store.used(DAY_A, store.mark())
    for t in threads:
        t.join()
    fresh, kept = store.counts()
    assert fresh + kept == 2000 and all(store.get(entry(n)[0]) == entry(n)[1] for n in range(0, 2000, 97))


def test_entries_are_not_python_objects_and_close_forgets_them() -> None:
    store = KnownStore(keep=10_000)
    for n in range(3000):
        put(store, n)
    gc.collect()
    assert sum(type(o) is KnownFile for o in gc.get_objects()) < 10  # type(): isinstance pokes torch
    store.close()
    store.close()
    put(store, 1)  # after close: ignored, never an error
    assert store.get(entry(1)[0]) is None and store.counts() == (0, 0) and len(store.day(DAY_A)) == 0
