"""MILENAGE: 3GPP TS 35.206 §4 (functions f1, f1*, f2, f3, f4, f5, f5* and OPc).

The kernel E_K is AES-128 (Rijndael, TS 35.206 §4.1 / Annex 3) from :mod:`euicc.crypto.primitives`.  One
ECB encryptor is kept per key, so a full authentication costs six single-block encryptions
and no key schedule.  An instance is not thread-safe (the encryptor is shared); use one per
thread or per command.

The rotation constants r1..r5 and the addition constants c1..c5 are configurable (TS 35.206
§4.1: "the operator may choose other values"); the SAIP ``AlgoParameter`` carries them as
``rotationConstants`` (5 octets, bit counts) and ``xoringConstants`` (5 x 16 octets).
"""
from __future__ import annotations

from euicc.auth.errors import AuthParameterError, require_length
from euicc.crypto.primitives import aes_ecb_encryptor

_MASK128 = (1 << 128) - 1

#: TS 35.206 §4.1 default rotations r1..r5 (bits): 64, 0, 32, 64, 96.
DEFAULT_ROTATIONS: tuple[int, ...] = (64, 0, 32, 64, 96)
#: TS 35.206 §4.1 default constants c1..c5: 0, 1, 2, 4, 8 (as 128-bit values).
DEFAULT_CONSTANTS: tuple[bytes, ...] = tuple(v.to_bytes(16, "big") for v in (0, 1, 2, 4, 8))


def _rot(x: int, r: int) -> int:
    """rot(x, r): cyclic rotation of the 128-bit x by r bits towards the MSB (§4.1)."""
    return ((x << r) | (x >> (128 - r))) & _MASK128 if r else x


def compute_opc(k: bytes, op: bytes) -> bytes:
    """OPc = OP xor E_K(OP), TS 35.206 §4.1."""
    k = require_length("K", k, 16)
    op = require_length("OP", op, 16)
    e = aes_ecb_encryptor(k)(op)
    return bytes(a ^ b for a, b in zip(e, op))


class Milenage:
    """The MILENAGE algorithm set for one subscriber (K, OPc, r1..r5, c1..c5)."""

    mac_len = 8
    res_len = 8

    def __init__(self, k: bytes, opc: bytes,
                 rotations: tuple[int, ...] = DEFAULT_ROTATIONS,
                 constants: tuple[bytes, ...] = DEFAULT_CONSTANTS) -> None:
        k = require_length("K", k, 16)
        self._opc = int.from_bytes(require_length("OPc", opc, 16), "big")
        if len(rotations) != 5 or any(not 0 <= r < 128 for r in rotations):
            raise AuthParameterError("r1..r5 must be five bit counts 0..127")
        if len(constants) != 5:
            raise AuthParameterError("c1..c5 must be five 128-bit values")
        self._r = tuple(rotations)
        self._c = tuple(int.from_bytes(require_length("c", c, 16), "big") for c in constants)
        self._enc = aes_ecb_encryptor(k)

    @classmethod
    def from_op(cls, k: bytes, op: bytes, **kwargs) -> "Milenage":
        """Build from OP instead of OPc (OPc derived per TS 35.206 §4.1)."""
        return cls(k, compute_opc(k, op), **kwargs)

    @classmethod
    def from_saip(cls, k: bytes, opc: bytes, rotation_constants: bytes,
                  xoring_constants: bytes) -> "Milenage":
        """Build from SAIP ``AlgoParameter`` octet strings (rotationConstants, xoringConstants)."""
        rotation_constants = require_length("rotationConstants", rotation_constants, 5)
        xoring_constants = require_length("xoringConstants", xoring_constants, 80)
        constants = tuple(xoring_constants[i:i + 16] for i in range(0, 80, 16))
        return cls(k, opc, tuple(rotation_constants), constants)

    def _e(self, x: int) -> int:
        return int.from_bytes(self._enc(x.to_bytes(16, "big")), "big")

    def _temp(self, rand: bytes) -> int:
        """TEMP = E_K(RAND xor OPc)."""
        return self._e(int.from_bytes(require_length("RAND", rand, 16), "big") ^ self._opc)

    def _out(self, temp: int, i: int) -> int:
        """OUTi = E_K(rot(TEMP xor OPc, ri) xor ci) xor OPc for i = 2..5 (index i-1)."""
        return self._e(_rot(temp ^ self._opc, self._r[i]) ^ self._c[i]) ^ self._opc

    def _out1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        sqn = require_length("SQN", sqn, 6)
        amf = require_length("AMF", amf, 2)
        temp = self._temp(rand)
        in1 = int.from_bytes(sqn + amf + sqn + amf, "big")
        out1 = self._e(temp ^ _rot(in1 ^ self._opc, self._r[0]) ^ self._c[0]) ^ self._opc
        return out1.to_bytes(16, "big")

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-A = f1_K(SQN, RAND, AMF) = OUT1[0..63]."""
        return self._out1(rand, sqn, amf)[:8]

    def f1star(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-S = f1*_K(SQN, RAND, AMF) = OUT1[64..127]."""
        return self._out1(rand, sqn, amf)[8:]

    def f2345(self, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]:
        """(RES, CK, IK, AK): f2 = OUT2[64..127], f3 = OUT3, f4 = OUT4, f5 = OUT2[0..47]."""
        temp = self._temp(rand)
        out2 = self._out(temp, 1).to_bytes(16, "big")
        ck = self._out(temp, 2).to_bytes(16, "big")
        ik = self._out(temp, 3).to_bytes(16, "big")
        return out2[8:], ck, ik, out2[:6]

    def f5star(self, rand: bytes) -> bytes:
        """AK for resynchronisation = f5*_K(RAND) = OUT5[0..47]."""
        return self._out(self._temp(rand), 4).to_bytes(16, "big")[:6]
