"""The consumer RSP card side's runtime: the clock and the randomness SGP.22 uses (injectable, so
that a test can make a card's answers reproducible), and its typed volatile records.

- the eUICC challenge (SGP.22 v2.5 §5.7.7) and every other random byte: ``random``;
- key pairs (SK.EUICC.ECDSA at provisioning, the one-time otSK.EUICC.ECKA of §3.1.3): ``generate_key``;
- the issuing time of a new card's CERT.EUICC.ECDSA (§4.5.2.1.0.3): ``clock``.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec

from euicc.crypto.ecka import EckaKeyPair
from euicc.volatile import Lifetime, VolatileState


def _generate_key(curve: ec.EllipticCurve) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(curve)


@dataclass(frozen=True)
class RspRuntime:
    """Clock (seconds since the epoch), random bytes and EC key generation of the RSP card side."""

    clock: Callable[[], float] = time.time
    random: Callable[[int], bytes] = os.urandom
    generate_key: Callable[[ec.EllipticCurve], ec.EllipticCurvePrivateKey] = _generate_key


@dataclass
class OneTimeKey(VolatileState):
    """otSK.EUICC.ECKA kept after PrepareDownload for a retry naming it (bppEuiccOtpk, SGP.22
    §3.1.3.2); lives for the power cycle, forgotten once a profile is installed (§3.1.3.3)."""

    LIFETIME = Lifetime.POWER_CYCLE

    key: EckaKeyPair
