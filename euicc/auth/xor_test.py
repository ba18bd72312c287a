"""The test algorithm for authentication of 3GPP TS 34.108 §8.1.2 (the "XOR" test USIM).

Used by the GSMA TS.48 test profiles (SAIP ``algorithmID`` usim-test-algorithm(3)).

§8.1.2.1: XDOUT = K xor RAND; RES = XDOUT[bits 0..n-1] (n = RES length);
CK = XDOUT rotated left by 8 bits; IK = XDOUT rotated left by 16 bits;
AK = XDOUT[bits 24..71]; CDOUT = SQN || AMF; MAC = XDOUT[bits 0..63] xor CDOUT.
§8.1.2.2 (resynchronisation): f5* = f5 and MAC-S = XDOUT[bits 0..63] xor (SQN_MS || AMF*),
the caller supplying the dummy AMF* = '0000' of TS 33.102 §6.3.3.
For the GSM security context §8.1.2 refers to the conversion functions of TS 33.102
§6.8.1.2 (Kc = c3(CK, IK)); :mod:`euicc.auth.aka` applies c2/c3 for every algorithm.

The RES length n is a setting: TS 34.108 allows 32..128 bits; the default is 128 bits
(the full XDOUT), the value network-side implementations of this algorithm (libosmocore)
return, so a TS.48 profile on this card matches them.  [U] No published test USIM
parameter fixes n; the SAIP ``algorithmOptions`` octet may, once its coding is confirmed.
"""
from __future__ import annotations

from euicc.auth.errors import AuthParameterError, require_length

#: Default RES length in octets (n = 128 bits), see the module docstring.
DEFAULT_RES_LEN = 16


def _xor(a: bytes, b: bytes) -> bytes:
    return bytes(x ^ y for x, y in zip(a, b))


class XorTestAlgorithm:
    """The TS 34.108 §8.1.2 test algorithm for one test USIM key K."""

    mac_len = 8

    def __init__(self, k: bytes, res_len: int = DEFAULT_RES_LEN) -> None:
        self._k = require_length("K", k, 16)
        if not 4 <= res_len <= 16:
            raise AuthParameterError("test algorithm RES length must be 4..16 bytes")
        if not any(self._k):
            # §8.1.2.1 step 1: "a predefined number K (in which at least one bit is not zero)".
            raise AuthParameterError("test algorithm K must have at least one bit set")
        self.res_len = res_len

    def _xdout(self, rand: bytes) -> bytes:
        return _xor(self._k, require_length("RAND", rand, 16))

    def _mac(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        cdout = require_length("SQN", sqn, 6) + require_length("AMF", amf, 2)
        return _xor(self._xdout(rand)[:8], cdout)

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC = XDOUT[0..63] xor (SQN || AMF), §8.1.2.1 step 4."""
        return self._mac(rand, sqn, amf)

    def f1star(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes:
        """MAC-S = XDOUT[0..63] xor (SQN_MS || AMF*), §8.1.2.2."""
        return self._mac(rand, sqn, amf)

    def f2345(self, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]:
        """(RES, CK, IK, AK), §8.1.2.1 step 2."""
        x = self._xdout(rand)
        return x[:self.res_len], x[1:] + x[:1], x[2:] + x[:2], x[3:9]

    def f5star(self, rand: bytes) -> bytes:
        """AK used in AUTS = XDOUT[bits 24..71], §8.1.2.2."""
        return self._xdout(rand)[3:9]
