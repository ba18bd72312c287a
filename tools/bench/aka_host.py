"""Host-side AUTHENTICATE challenges for the benchmarks: MILENAGE f1, f2 and f5 written from
3GPP TS 35.206 §4.1 with pycryptodome's AES (no card code), and the AUTN of TS 33.102 §6.3.2.

The card's default test profile carries TS 35.208 §4.3 test set 1 (K, OPc); each challenge gets
a fresh SQN = SEQ || IND (TS 33.102 Annex C.3.2, 5 IND bits) so the card accepts every one.
"""
from __future__ import annotations

from Crypto.Cipher import AES

K = bytes.fromhex("465b5ce8b199b49faa5f0a2ee238a6bc")     # TS 35.208 test set 1
OPC = bytes.fromhex("cd63cb71954a9f4e48a5994e37a02baf")
AMF = bytes.fromhex("8000")
IND_BITS = 5                                                # the card's SqnPolicy default
SELECT_USIM = bytes.fromhex("00A4040C07A0000000871002")   # right-truncated AID, TS 101 220 Annex E


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b))


def _rot(x: bytes, bits: int) -> bytes:
    """TS 35.206 §4.1: cyclic rotation of a 128-bit value by `bits` towards the MSB."""
    n = bits // 8
    return x[n:] + x[:n]


class HostMilenage:
    """f1, f2 and f5 with the default r1..r5 / c1..c5 of TS 35.206 §4.1."""

    def __init__(self, k: bytes = K, opc: bytes = OPC) -> None:
        self._aes = AES.new(k, AES.MODE_ECB)
        self.opc = opc

    def _e(self, x: bytes) -> bytes:
        return self._aes.encrypt(x)

    def f2_f5(self, rand: bytes) -> tuple[bytes, bytes]:
        """(RES, AK): OUT2 = E_K(rot(TEMP xor OPc, r2=0) xor c2) xor OPc, c2 = 1."""
        temp = self._e(_xor(rand, self.opc))
        c2 = bytes(15) + b"\x01"
        out2 = _xor(self._e(_xor(_xor(temp, self.opc), c2)), self.opc)
        return out2[8:], out2[:6]

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-A: OUT1 = E_K(TEMP xor rot(IN1 xor OPc, r1=64) xor c1) xor OPc, c1 = 0."""
        temp = self._e(_xor(rand, self.opc))
        in1 = sqn + amf + sqn + amf
        out1 = _xor(self._e(_xor(temp, _rot(_xor(in1, self.opc), 64))), self.opc)
        return out1[:8]


def challenges(count: int, first_seq: int = 1, ind: int = 0) -> list[tuple[bytes, bytes]]:
    """`count` (AUTHENTICATE APDU, expected RES) pairs with SEQ first_seq, first_seq + 1, ...
    (3G context, TS 31.102 §7.1.2: P2 '81', data = L RAND L AUTN)."""
    alg = HostMilenage()
    out = []
    for i in range(count):
        rand = (first_seq + i).to_bytes(16, "big")
        res, ak = alg.f2_f5(rand)
        sqn = (((first_seq + i) << IND_BITS) | ind).to_bytes(6, "big")
        autn = _xor(sqn, ak) + AMF + alg.f1(rand, sqn, AMF)
        out.append((bytes.fromhex("0088008122") + b"\x10" + rand + b"\x10" + autn, res))
    return out
