"""David Bau's ``seedrandom`` (ARC4 variant), the PRNG behind rugs.fun's provably-fair price path.

``Math.seedrandom(seed)`` mixes the seed string into an RC4 key (``mixkey``), runs the standard RC4 key
schedule, discards 256 bytes (RC4-drop[256]) and turns the keystream into doubles with 52 bits of
significance (PROTOCOL.md §6.2). Two implementations live here:

* :class:`SeedRandom`, a line-by-line port of the JavaScript, the reference that tests check against;
* :func:`keystream` + :func:`draws`, the fast path used by :mod:`rugs_env.game.prng`: the RC4 keystream comes
  from pycryptodome's C implementation (the key schedule is standard RC4, so any 1..256-byte key gives the
  same bytes) and the doubles are decoded from it in bulk.
"""

from __future__ import annotations

import struct

from Crypto.Cipher import ARC4

WIDTH = 256
CHUNKS = 6
START_DENOM = WIDTH**CHUNKS  # 2**48
SIGNIFICANCE = 2**52
OVERFLOW = 2**53
MASK = WIDTH - 1
DROP = 256


def mixkey(seed: str) -> list[int]:
    """seedrandom's ``mixkey``: the RC4 key (at most 256 bytes) for a seed string.

    Character codes are UTF-16 code units, as ``charCodeAt`` sees them.
    """
    units = seed.encode("utf-16-le")
    codes = [int.from_bytes(units[i : i + 2], "little") for i in range(0, len(units), 2)]
    key: list[int] = []
    smear = 0
    for j, code in enumerate(codes):
        slot = j & MASK
        current = key[slot] if slot < len(key) else 0
        smear ^= current * 19
        value = (smear + code) & MASK
        if slot < len(key):
            key[slot] = value
        else:
            key.append(value)
    return key


class SeedRandom:
    """Reference port of ``new Math.seedrandom(seed)``: call :meth:`random` for the next double."""

    def __init__(self, seed: str) -> None:
        key = mixkey(seed) or [0]
        state = list(range(WIDTH))
        j = 0
        for i in range(WIDTH):
            t = state[i]
            j = (j + key[i % len(key)] + t) & MASK
            state[i] = state[j]
            state[j] = t
        self._s = state
        self._i = 0
        self._j = 0
        self.bytes(DROP)

    def bytes(self, count: int) -> int:
        """ARC4's ``g(count)``: the next ``count`` keystream bytes as one big-endian integer."""
        s, i, j, r = self._s, self._i, self._j, 0
        for _ in range(count):
            i = (i + 1) & MASK
            t = s[i]
            j = (j + t) & MASK
            s[i] = s[j]
            s[j] = t
            r = r * WIDTH + s[(s[i] + s[j]) & MASK]
        self._i, self._j = i, j
        return r

    def random(self) -> float:
        """The next double in [0, 1), exactly as ``prng()`` computes it."""
        n = self.bytes(CHUNKS)
        d = START_DENOM
        x = 0
        while n < SIGNIFICANCE:
            n = (n + x) * WIDTH
            d *= WIDTH
            x = self.bytes(1)
        while n >= OVERFLOW:
            n //= 2  # exact: n is a multiple of 256 here and at most 7 halvings are needed
            d //= 2
            x >>= 1
        return (n + x) / d


def keystream_cipher(seed: str) -> ARC4.ARC4Cipher:
    """A C-speed RC4 positioned right after the 256 dropped bytes, for :func:`keystream`."""
    key = bytes(mixkey(seed)) or b"\x00"
    return ARC4.new(key, drop=DROP)


def keystream(cipher: ARC4.ARC4Cipher, count: int) -> bytes:
    """The next ``count`` bytes of the keystream."""
    return cipher.encrypt(bytes(count))


# A 7-byte draw v (first byte b0 >= 16) has bit length 48 + b0.bit_length(); keeping its top 53 bits gives
# (v >> k) * 2**(k - 56) with k = b0.bit_length() - 5. Tables by b0 spare the per-draw bit_length().
_SHIFT_7 = [max(b.bit_length() - 5, 0) for b in range(256)]
_SCALE_7 = [2.0 ** (k - 56) for k in _SHIFT_7]
_SHIFT_8 = [k + 8 for k in _SHIFT_7]  # the same bits from 8 bytes read at once (struct, no slice)
_UNPACK_8 = struct.Struct(">Q").unpack_from


def draws(stream: bytes, start: int, count: int) -> tuple[list[float], int]:
    """Decode ``count`` doubles from ``stream`` starting at byte ``start``; returns them and the next offset.

    Raises ``IndexError`` if the stream runs out (the caller extends it and retries). A draw reads 7 bytes
    when the first byte is >= 16 (15 times in 16); otherwise the general loop below, which mirrors
    :meth:`SeedRandom.random`.
    """
    out: list[float] = []
    append = out.append
    pos = start
    from_bytes, unpack8 = int.from_bytes, _UNPACK_8
    shift, shift8, scale = _SHIFT_7, _SHIFT_8, _SCALE_7
    end = len(stream)
    for _ in range(count):
        if pos + 7 > end:
            raise IndexError("keystream exhausted")
        b0 = stream[pos]
        if b0 >= 16:
            if pos + 8 <= end:  # the 8 bytes from pos, one more shifted out: no slice to allocate
                append((unpack8(stream, pos)[0] >> shift8[b0]) * scale[b0])
            else:
                append((from_bytes(stream[pos : pos + 7], "big") >> shift[b0]) * scale[b0])
            pos += 7
            continue
        n = from_bytes(stream[pos : pos + CHUNKS], "big")
        pos += CHUNKS
        d = START_DENOM
        x = 0
        while n < SIGNIFICANCE:
            if pos >= end:
                raise IndexError("keystream exhausted")
            n = (n + x) * WIDTH
            d *= WIDTH
            x = stream[pos]
            pos += 1
        while n >= OVERFLOW:
            n //= 2
            d //= 2
            x >>= 1
        append((n + x) / d)
    return out, pos
