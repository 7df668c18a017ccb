"""`rugs record` pins glibc's mmap threshold, so that big buffers freed never leave the heap to creep.

Checked in a fresh interpreter each time (the setting is process-wide): after a 4 MiB block is freed, glibc
alone serves a 1 MiB block from the heap (its threshold rose to 4 MiB); pinned, it still maps it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PROBE = """
import ctypes, sys
from recorder.allocator import pin_mmap_threshold

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd",
        "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost",
    )]

libc = ctypes.CDLL(None)
if not hasattr(libc, "mallinfo2"):
    print("no glibc")
    sys.exit(0)
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
if sys.argv[1] == "pinned":
    assert pin_mmap_threshold()
libc.free(libc.malloc(4 << 20))
before = libc.mallinfo2().hblks
block = libc.malloc(1 << 20)
print(libc.mallinfo2().hblks - before)
libc.free(block)
"""


def mapped_blocks(mode: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", PROBE, mode], cwd=ROOT, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator")
def test_a_pinned_threshold_keeps_big_blocks_out_of_the_heap() -> None:
    default, pinned = mapped_blocks("default"), mapped_blocks("pinned")
    if default == "no glibc":
        pytest.skip("no glibc mallinfo2 here")
    assert (default, pinned) == ("0", "1")
