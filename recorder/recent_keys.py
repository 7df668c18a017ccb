"""The keys seen lately (trades, sidebets), for telling a new event from a copy, with no Python object a key.

Several connections deliver the same trade; the pipeline keeps the first and counts the rest. It used to keep
the last 20,000 keys in an ordered dict: a tuple, a uuid string and a node per key, each living ~1,000 games
while the recorder follows busy players at full speed. Allocated among short-lived objects, such
long-lived small objects keep Python's allocator pools (16 KiB each, one size of object each) partly used:
following 8 bots, the pools of the tuple's and the uuid's sizes grew by ~1.8 MiB over 11,000 game files
while the objects in them did not (``sys._debugmallocstats`` every 100 files).

:class:`RecentKeys` keeps a 64-bit BLAKE2b digest of each key's ``repr`` in a ring of ``capacity`` numbers
(``uint64``, FIFO), a sorted copy of the ring for lookups, and the keys added since that copy in a small
set; the copy is sorted again every ``batch`` keys. A key is remembered for at least its ``capacity``
successors. Two different keys share a digest with probability 2**-64: a lookup among 20,000 keys mistakes
a new key for a copy about once in 10**15.
"""

from __future__ import annotations

import hashlib
from collections.abc import Hashable

import numpy as np

BATCH = 1024  # keys between two sorts of the ring


def digest(key: Hashable) -> int:
    """A 64-bit digest of ``key`` (a tuple of strings and numbers): its ``repr``, which tells them apart."""
    return int.from_bytes(hashlib.blake2b(repr(key).encode(), digest_size=8).digest(), "little")


class RecentKeys:
    """The last ``capacity`` (or more) distinct keys added (see the module docstring)."""

    __slots__ = ("capacity", "batch", "_ring", "_next", "_filled", "_sorted", "_recent")

    def __init__(self, capacity: int, batch: int = BATCH) -> None:
        if capacity < 1 or batch < 1:
            raise ValueError("capacity and batch must be positive")
        self.capacity = capacity
        self.batch = batch
        self._ring = np.zeros(capacity, dtype=np.uint64)
        self._next = 0  # where the next digest goes in the ring
        self._filled = 0
        self._sorted = np.zeros(0, dtype=np.uint64)
        self._recent: set[int] = set()

    def __contains__(self, key: Hashable) -> bool:
        return self._has(digest(key))

    def add(self, key: Hashable) -> bool:
        """Remember ``key``; True if it is new, False if it was seen lately."""
        value = digest(key)
        if self._has(value):
            return False
        self._recent.add(value)
        self._ring[self._next] = value
        self._next = (self._next + 1) % self.capacity
        self._filled = min(self._filled + 1, self.capacity)
        if len(self._recent) >= self.batch:
            self._sorted = np.sort(self._ring[: self._filled])
            self._recent.clear()
        return True

    def _has(self, value: int) -> bool:
        if value in self._recent:
            return True
        at = int(np.searchsorted(self._sorted, np.uint64(value)))
        return at < len(self._sorted) and int(self._sorted[at]) == value
