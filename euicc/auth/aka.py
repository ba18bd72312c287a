"""The USIM side of AKA: 3GPP TS 33.102 §6.3.3 and §6.3.5, TS 31.102 §7.1.2.

:func:`authenticate` is the 3G/EPS/5G security context of AUTHENTICATE without the APDU:
given the subscriber's algorithm set, RAND, AUTN and the SQN array it

1. computes AK = f5(RAND) and SQN = (SQN xor AK) xor AK, and XMAC = f1(SQN, RAND, AMF);
   XMAC != MAC gives :class:`MacFailure` ("user authentication reject", TS 31.102 '9862');
2. verifies SQN freshness (Annex C, :mod:`euicc.auth.sqn`); a stale or out-of-range SQN
   gives :class:`SyncFailure` with AUTS = (SQN_MS xor f5*(RAND)) || f1*(SQN_MS, RAND,
   AMF*='0000') (TS 33.102 §6.3.5; the dummy AMF* is from §6.3.3);
3. otherwise returns RES = f2, CK = f3, IK = f4, Kc = c3(CK, IK) (§6.8.1.2) and the updated
   SQN array in :class:`AkaSuccess`.

:func:`gsm_context` is the GSM security context on a USIM (TS 31.102 §7.1.2, with the
conversion functions of TS 33.102 §6.8.1.2): RES, CK, IK from RAND alone, SRES = c2(RES),
Kc = c3(CK, IK).

AMF separation bit: not checked here.  TS 33.401 §6.1.1 and TS 33.501 §6.1.3.2 give the
check of AMF bit 0 to the ME, not the USIM; on the USIM the AMF is only an input to f1, so any AMF
value is accepted if MAC verifies.

The algorithm object is any of :class:`~euicc.auth.milenage.Milenage`,
:class:`~euicc.auth.tuak.Tuak` or :class:`~euicc.auth.xor_test.XorTestAlgorithm`.
"""
from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Protocol

from euicc.auth.errors import AuthParameterError, require_length
from euicc.auth.sqn import SqnPolicy, SqnState, verify_freshness

#: AMF* used for MAC-S, TS 33.102 §6.3.3 ("a dummy value of all zeros").
RESYNC_AMF = bytes(2)


class AkaAlgorithm(Protocol):
    """The f1..f5* functions of TS 33.102 §6.3.2 for one subscriber."""

    mac_len: int

    def f1(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes: ...
    def f1star(self, rand: bytes, sqn: bytes, amf: bytes) -> bytes: ...
    def f2345(self, rand: bytes) -> tuple[bytes, bytes, bytes, bytes]: ...
    def f5star(self, rand: bytes) -> bytes: ...


def _xor(a: bytes, b: bytes) -> bytes:
    """a xor b over the shorter length (as zip would)."""
    n = min(len(a), len(b))
    return (int.from_bytes(a[:n], "big") ^ int.from_bytes(b[:n], "big")).to_bytes(n, "big")


def c2(res: bytes) -> bytes:
    """SRES = XRES*1 xor XRES*2 xor XRES*3 xor XRES*4, TS 33.102 §6.8.1.2.

    XRES* is RES padded with zeros to 128 bits; c2 is undefined for a longer RES.
    """
    if not 4 <= len(res) <= 16:
        raise AuthParameterError("c2 needs a RES of 4..16 octets")
    padded = res + bytes(16 - len(res))
    return _xor(_xor(padded[0:4], padded[4:8]), _xor(padded[8:12], padded[12:16]))


def c3(ck: bytes, ik: bytes) -> bytes:
    """Kc = CK1 xor CK2 xor IK1 xor IK2 (64-bit halves), TS 33.102 §6.8.1.2."""
    ck = require_length("CK", ck, 16)
    ik = require_length("IK", ik, 16)
    return _xor(_xor(ck[:8], ck[8:]), _xor(ik[:8], ik[8:]))


@dataclass(frozen=True)
class AkaSuccess:
    """Successful 3G AKA: RES, CK, IK, Kc (None when CK/IK are not 128-bit) and new state."""

    res: bytes
    ck: bytes
    ik: bytes
    kc: bytes | None
    sqn: int
    state: SqnState


@dataclass(frozen=True)
class MacFailure:
    """XMAC differs from MAC in AUTN (TS 33.102 §6.3.3)."""


@dataclass(frozen=True)
class SyncFailure:
    """SQN not acceptable: AUTS for the resynchronisation (TS 33.102 §6.3.5)."""

    auts: bytes


AkaResult = AkaSuccess | MacFailure | SyncFailure


@dataclass(frozen=True)
class GsmResult:
    """GSM security context output: SRES (4 octets) and Kc (8 octets)."""

    sres: bytes
    kc: bytes


def compute_auts(algorithm: AkaAlgorithm, rand: bytes, sqn_ms: int) -> bytes:
    """AUTS = (SQN_MS xor AK*) || MAC-S, AK* = f5*(RAND), MAC-S = f1*(SQN_MS, RAND, AMF*)."""
    sqn_ms_bytes = sqn_ms.to_bytes(6, "big")
    conc = _xor(sqn_ms_bytes, algorithm.f5star(rand))
    return conc + algorithm.f1star(rand, sqn_ms_bytes, RESYNC_AMF)


def authenticate(algorithm: AkaAlgorithm, rand: bytes, autn: bytes, state: SqnState,
                 policy: SqnPolicy) -> AkaResult:
    """Run the USIM side of AKA (TS 33.102 §6.3.3) for one RAND/AUTN challenge.

    AUTN = (SQN xor AK) || AMF || MAC with a MAC of ``algorithm.mac_len`` octets (16 octets
    for the 64-bit MAC of Milenage and the test algorithm).  Wrong lengths raise
    :class:`AuthParameterError`, as does a ``state`` that does not fit ``policy``;
    ``state`` is never modified.
    """
    state.check(policy)
    rand = require_length("RAND", rand, 16)
    autn = require_length("AUTN", autn, 8 + algorithm.mac_len)
    res, ck, ik, ak = algorithm.f2345(rand)
    sqn_bytes = _xor(autn[:6], ak)
    amf, mac = autn[6:8], autn[8:]
    if not hmac.compare_digest(algorithm.f1(rand, sqn_bytes, amf), mac):
        return MacFailure()
    sqn = int.from_bytes(sqn_bytes, "big")
    new_state = verify_freshness(sqn, state, policy)
    if new_state is None:
        return SyncFailure(compute_auts(algorithm, rand, state.sqn_ms(policy)))
    kc = c3(ck, ik) if len(ck) == 16 and len(ik) == 16 else None
    return AkaSuccess(res=res, ck=ck, ik=ik, kc=kc, sqn=sqn, state=new_state)


def gsm_context(algorithm: AkaAlgorithm, rand: bytes) -> GsmResult:
    """SRES = c2(RES), Kc = c3(CK, IK) from RAND alone (TS 31.102 §7.1.2, GSM context)."""
    res, ck, ik, _ = algorithm.f2345(require_length("RAND", rand, 16))
    if len(ck) != 16 or len(ik) != 16:
        raise AuthParameterError("GSM context needs 128-bit CK and IK (c3)")
    return GsmResult(sres=c2(res), kc=c3(ck, ik))
