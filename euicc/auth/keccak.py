"""The Keccak-f[1600] permutation, FIPS PUB 202 §3.2-§3.3 (used by TUAK, 3GPP TS 35.231 §5).

Hand-written because no well-kept Python library exposes the raw permutation: ``hashlib``,
``cryptography`` and ``pycryptodome`` only offer the SHA-3/SHAKE sponges built on it.  The
rotation offsets (rho, FIPS 202 Algorithm 2) and round constants (iota, Algorithms 5-6) are
computed from their definitions rather than transcribed.  The tests check the permutation
through SHA3-256/SHA3-512/SHAKE128 sponges against ``hashlib``.

State layout: 25 lanes of 64 bits, lane (x, y) at index ``x + 5*y``; a 200-octet string maps
to lanes little-endian, 8 octets per lane (FIPS 202 §3.1.2 with the usual byte convention).
"""
from __future__ import annotations

_MASK64 = (1 << 64) - 1


def _rho_offsets() -> tuple[int, ...]:
    """FIPS 202 Algorithm 2: offset of lane (x, y) = (t+1)(t+2)/2 mod 64 along the walk."""
    offsets = [0] * 25
    x, y = 1, 0
    for t in range(24):
        offsets[x + 5 * y] = ((t + 1) * (t + 2) // 2) % 64
        x, y = y, (2 * x + 3 * y) % 5
    return tuple(offsets)


def _rc_bit(t: int) -> int:
    """FIPS 202 Algorithm 5: rc(t), output of the LFSR x^8 + x^6 + x^5 + x^4 + 1."""
    if t % 255 == 0:
        return 1
    r = 0x01
    for _ in range(t % 255):
        r <<= 1
        if r & 0x100:
            r ^= 0x171
    return r & 1


def _round_constants() -> tuple[int, ...]:
    """FIPS 202 Algorithm 6: RC for rounds 0..23 (bit 2^j - 1 = rc(j + 7 i_r))."""
    return tuple(
        sum(_rc_bit(j + 7 * ir) << ((1 << j) - 1) for j in range(7)) for ir in range(24)
    )


_RHO = _rho_offsets()
_RC = _round_constants()
# rho + pi: lane (x, y), after theta's column term D[x], is rotated by its rho offset and
# moves to (y, 2x + 3y).  Entries: (source index, destination index, offset, x).
_RHO_PI = tuple(
    (x + 5 * y, y + 5 * ((2 * x + 3 * y) % 5), _RHO[x + 5 * y], x)
    for y in range(5) for x in range(5)
)


def keccak_f1600_lanes(lanes: list[int]) -> list[int]:
    """Apply the 24 rounds (theta, rho, pi, chi, iota) of Keccak-f[1600] to 25 lanes."""
    a = list(lanes)
    m = _MASK64
    for rc in _RC:
        c = [a[x] ^ a[x + 5] ^ a[x + 10] ^ a[x + 15] ^ a[x + 20] for x in range(5)]
        d = [c[(x - 1) % 5] ^ (((c[(x + 1) % 5] << 1) | (c[(x + 1) % 5] >> 63)) & m)
             for x in range(5)]
        b = [0] * 25
        for src, dst, rot, x in _RHO_PI:
            v = a[src] ^ d[x]
            b[dst] = ((v << rot) | (v >> (64 - rot))) & m
        for y in (0, 5, 10, 15, 20):
            b0, b1, b2, b3, b4 = b[y:y + 5]
            a[y] = b0 ^ (~b1 & b2)
            a[y + 1] = b1 ^ (~b2 & b3)
            a[y + 2] = b2 ^ (~b3 & b4)
            a[y + 3] = b3 ^ (~b4 & b0)
            a[y + 4] = b4 ^ (~b0 & b1)
        a[0] ^= rc
    return a


def keccak_f1600(state: bytes, iterations: int = 1) -> bytes:
    """Apply Keccak-f[1600] ``iterations`` times to a 200-octet state."""
    if len(state) != 200:
        raise ValueError("Keccak-f[1600] state is 200 octets")
    lanes = [int.from_bytes(state[i:i + 8], "little") for i in range(0, 200, 8)]
    for _ in range(iterations):
        lanes = keccak_f1600_lanes(lanes)
    return b"".join(v.to_bytes(8, "little") for v in lanes)
