"""Test world of the SGP.02 host tools: a card with an M2M identity, a terminal, SM-SR(s), an SM-DP.

The card's M2M identity (PK.CI.ECDSA, SK/CERT.ECASD.ECKA, the ISD-R's first SCP80 key set) is what
an EUM personalises at manufacturing; it is written into the card's store here (the only place
these tests touch card internals: record names of euicc.m2m.records).  Certificates are issued
with the host PKI code (tools.smsr.gp_certificate), keys are fresh per test world.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from tools.ota.packet import AES, OtaKeyset
from tools.smdp_m2m.smdp import SmDp
from tools.smsr.eis import Eis
from tools.smsr.gp_certificate import ROLE_SM_DP, ROLE_SM_SR, build_certificate, point_of
from tools.smsr.smsr import SmSr
from tools.terminal.link import CallableLink
from tools.terminal.terminal import Terminal

REFERENCE = Path("/work/shared/reference")
TS48 = REFERENCE / "profiles" / "ts48-v7" / "TS48_V7.0_eSIM_GTP_SAIP2.3_BERTLV_SUCI.der"
P256_OID = "1.2.840.10045.3.1.7"
ISDR_KIC = bytes.fromhex("11223344556677881122334455667788")
ISDR_KID = bytes.fromhex("8877665544332211 8877665544332211".replace(" ", ""))
ISDR_DEK = bytes(16)


@dataclass
class Pki:
    """CI, EUM, ECASD, SM-SR 1/2 and SM-DP keys with GP-format certificates (SGP.02 §2.3)."""

    ci: ec.EllipticCurvePrivateKey
    eum: ec.EllipticCurvePrivateKey
    ecasd: ec.EllipticCurvePrivateKey
    ecasd_cert: bytes
    smsr2: ec.EllipticCurvePrivateKey
    smsr2_cert: bytes
    smdp: ec.EllipticCurvePrivateKey
    smdp_cert: bytes

    @classmethod
    def create(cls) -> "Pki":
        def key() -> ec.EllipticCurvePrivateKey:
            return ec.generate_private_key(ec.SECP256R1())
        ci, eum, ecasd, smsr2, smdp = key(), key(), key(), key(), key()
        ecasd_cert = build_certificate(eum, ecasd.public_key(), serial=b"\x01", ca_id=b"EUM", subject_id=b"ECASD",
                                       role=None)
        smsr2_cert = build_certificate(ci, smsr2.public_key(), serial=b"\x02", ca_id=b"CI", subject_id=b"SMSR2",
                                       role=ROLE_SM_SR)
        smdp_cert = build_certificate(ci, smdp.public_key(), serial=b"\x03", ca_id=b"CI", subject_id=b"SMDP",
                                      role=ROLE_SM_DP)
        return cls(ci, eum, ecasd, ecasd_cert, smsr2, smsr2_cert, smdp, smdp_cert)


def personalise(store, pki: Pki) -> None:
    """EUM personalisation of the eUICC's M2M part (SGP.02 §2.2.1.1 / §2.2.1.3)."""
    from euicc.m2m.records import CI_KEY, ECASD_CERT, ECASD_KEY, ISDR_SCP80, OtaKeySet

    with store.transaction():
        store.put(CI_KEY, (P256_OID, point_of(pki.ci.public_key())))
        store.put(ECASD_KEY, (P256_OID, pki.ecasd.private_numbers().private_value.to_bytes(32, "big")))
        store.put(ECASD_CERT, pki.ecasd_cert)
        store.put(f"{ISDR_SCP80}01", OtaKeySet(1, ISDR_KIC, ISDR_KID, ISDR_DEK))


def isdr_keyset(algorithm: int = AES) -> OtaKeyset:
    return OtaKeyset(1, algorithm, ISDR_KIC, algorithm, ISDR_KID)


@dataclass
class World:
    terminal: Terminal
    smsr: SmSr
    smdp: SmDp
    pki: Pki


def connect(transmit, reset, pki: Pki) -> World:
    terminal = Terminal(CallableLink(transmit, reset))
    smsr = SmSr(Eis(), isdr_keyset())
    smsr.attach(terminal)
    terminal.start()
    return World(terminal, smsr, SmDp(pki.smdp, pki.smdp_cert, smsr), pki)
