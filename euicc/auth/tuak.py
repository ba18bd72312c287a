"""TUAK: 3GPP TS 35.231 §6 (TOPc, f1, f1*, f2, f3, f4, f5, f5*) on Keccak-f[1600].

Every function fills one 1600-bit state ``INOUT`` and permutes it (TS 35.231 §6.1-§6.6):

=========  =======================================================================
octets     content (each field with its octets in reverse order, §5 bit ordering)
=========  =======================================================================
0..31      TOPc (TOP when computing TOPc)
32         INSTANCE (see below)
33..39     ALGONAME "TUAK1.0"
40..55     RAND (zero for TOPc)
56..57     AMF   (f1/f1* only, else zero)
58..63     SQN   (f1/f1* only, else zero)
64..95     K, zero-extended to 256 bits
96         0x1F, 97..134 zero, 135 0x80 (padding), 136..199 zero
=========  =======================================================================

INSTANCE (§6): bit 0x80 selects the resynchronisation functions (f1*, f5*), 0x40 the
f2-f5 family; 0x20/0x10/0x08 encode a 256/128/64-bit MAC or RES (RES of 32 bits: none);
0x04 CK of 256 bits, 0x02 IK of 256 bits, 0x01 K of 256 bits.  Outputs are read back from
the permuted state with their octets reversed: MAC/RES at 0, CK at 32, IK at 64, AK at 96.
The number of Keccak iterations (1 by default) is §7.2's; SAIP ``numberOfKeccak`` sets it.
"""
from __future__ import annotations

from euicc.auth.errors import AuthParameterError, require_length
from euicc.auth.keccak import keccak_f1600

_ALGONAME = b"TUAK1.0"
_SIZE_BITS = {8: 0x08, 16: 0x10, 32: 0x20}
_RES_BITS = {4: 0x00, 8: 0x08, 16: 0x10, 32: 0x20}


def _core(topc: bytes, instance: int, rand: bytes, amf: bytes, sqn: bytes, k: bytes,
          iterations: int) -> bytes:
    state = b"".join((
        topc[::-1], bytes([instance]), _ALGONAME[::-1], rand[::-1], amf[::-1], sqn[::-1],
        k[::-1], bytes(32 - len(k)), b"\x1f", bytes(38), b"\x80", bytes(64),
    ))
    return keccak_f1600(state, iterations)


def _check_iterations(iterations: int) -> int:
    if not isinstance(iterations, int) or not 1 <= iterations <= 255:
        raise AuthParameterError("numberOfKeccak must be 1..255")
    return iterations


def compute_topc(k: bytes, top: bytes, iterations: int = 1) -> bytes:
    """TOPc from TOP and K, TS 35.231 §6.1."""
    k = require_length("K", k, 16, 32)
    top = require_length("TOP", top, 32)
    instance = 0x01 if len(k) == 32 else 0x00
    out = _core(top, instance, bytes(16), bytes(2), bytes(6), k, _check_iterations(iterations))
    return out[:32][::-1]


class Tuak:
    """The TUAK algorithm set for one subscriber with its output sizes (TS 35.231 §6)."""

    def __init__(self, k: bytes, topc: bytes, *, mac_len: int = 8, res_len: int = 8,
                 ck_len: int = 16, ik_len: int = 16, iterations: int = 1) -> None:
        self._k = require_length("K", k, 16, 32)
        self._topc = require_length("TOPc", topc, 32)
        if mac_len not in _SIZE_BITS:
            raise AuthParameterError("TUAK MAC length must be 8, 16 or 32 bytes")
        if res_len not in _RES_BITS:
            raise AuthParameterError("TUAK RES length must be 4, 8, 16 or 32 bytes")
        if ck_len not in (16, 32) or ik_len not in (16, 32):
            raise AuthParameterError("TUAK CK/IK length must be 16 or 32 bytes")
        self._iterations = _check_iterations(iterations)
        self.mac_len, self.res_len, self.ck_len, self.ik_len = mac_len, res_len, ck_len, ik_len
        k_bit = 0x01 if len(self._k) == 32 else 0x00
        self._inst_f1 = _SIZE_BITS[mac_len] | k_bit
        self._inst_f2345 = (0x40 | _RES_BITS[res_len] | (0x04 if ck_len == 32 else 0)
                            | (0x02 if ik_len == 32 else 0) | k_bit)
        self._inst_f5star = 0xC0 | k_bit

    @classmethod
    def from_top(cls, k: bytes, top: bytes, **kwargs) -> "Tuak":
        """Build from TOP instead of TOPc (§6.1)."""
        return cls(k, compute_topc(k, top, kwargs.get("iterations", 1)), **kwargs)

    def _run(self, instance: int, rand: bytes, amf: bytes = bytes(2),
             sqn: bytes = bytes(6)) -> bytes:
        rand = require_length("RAND", rand, 16)
        return _core(self._topc, instance, rand, amf, sqn, self._k, self._iterations)

    def _mac(self, instance: int, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        sqn = require_length("SQN", sqn, 6)
        amf = require_length("AMF", amf, 2)
        return self._run(instance, rand, amf, sqn)[:self.mac_len][::-1]

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-A, TS 35.231 §6.2."""
        return self._mac(self._inst_f1, rand, sqn, amf)

    def f1star(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-S, TS 35.231 §6.3."""
        return self._mac(0x80 | self._inst_f1, rand, sqn, amf)

    def f2345(self, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]:
        """(RES, CK, IK, AK), TS 35.231 §6.4."""
        out = self._run(self._inst_f2345, rand)
        return (out[:self.res_len][::-1], out[32:32 + self.ck_len][::-1],
                out[64:64 + self.ik_len][::-1], out[96:102][::-1])

    def f5star(self, rand: bytes) -> bytes:
        """AK for resynchronisation, TS 35.231 §6.5."""
        return self._run(self._inst_f5star, rand)[96:102][::-1]
