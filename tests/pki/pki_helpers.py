"""Helpers for the SGP.22 certificate tests: the published SGP.26 test PKI, host-side signing."""
from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature

CURVE_TAGS = ("NIST", "BRP")
# Published values (tests/vectors/SOURCES.md "Key facts", SPEC_NOTES §1.1).
CI_PKID = {"NIST": bytes.fromhex("F54172BDF98A95D65CBEB88A38A1C11D800A85C3"),
           "BRP": bytes.fromhex("C0BC70BA36929D43B467FF57570530E57AB8FCD8")}
EID1 = "89049032123451234512345678901235"


class Sgp26:
    """Read access to one curve's SGP.26 files."""

    def __init__(self, root: Path, tag: str) -> None:
        self.root, self.tag = root, tag

    def der(self, rel: str) -> bytes:
        return (self.root / rel.format(t=self.tag)).read_bytes()

    def cert(self, rel: str) -> x509.Certificate:
        return x509.load_der_x509_certificate(self.der(rel))

    def key(self, rel: str) -> ec.EllipticCurvePrivateKey:
        key = serialization.load_pem_private_key(self.der(rel), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    ci = property(lambda s: s.der("CertificateIssuer/CERT_CI_ECDSA_{t}.der"))
    eum = property(lambda s: s.der("EUM/CERT_EUM_ECDSA_{t}.der"))
    euicc = property(lambda s: s.der("eUICC/CERT_EUICC_ECDSA_{t}.der"))
    dp_auth = property(lambda s: s.der("DPauth/CERT_S_SM_DPauth_ECDSA_{t}.der"))
    dp_pb = property(lambda s: s.der("DPpb/CERT_S_SM_DPpb_ECDSA_{t}.der"))
    dp2_pb = property(lambda s: s.der("DPpb/CERT_S_SM_DP2pb_ECDSA_{t}.der"))
    dp_tls = property(lambda s: s.der("DPtls/CERT_S_SM_DP_VARO_TLS_{t}.der"))


def host_sign(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Host-side SGP.22 signature: ECDSA-SHA256 as plain 32-byte r || 32-byte s."""
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def host_verify(key: ec.EllipticCurvePublicKey, data: bytes, rs: bytes) -> None:
    """Host-side check of an r||s signature (raises InvalidSignature)."""
    assert len(rs) == 64
    der = encode_dss_signature(int.from_bytes(rs[:32], "big"), int.from_bytes(rs[32:], "big"))
    key.verify(der, data, ec.ECDSA(hashes.SHA256()))


def issued(ref: Sgp26, cert_rel: str, key_rel: str):
    """An SGP.26 certificate with its published private key, as a tools.pki ``Issued``."""
    from tools.pki.hierarchy import Issued

    return Issued(ref.key(key_rel), ref.cert(cert_rel))


def sgp26_ci(ref: Sgp26):
    return issued(ref, "CertificateIssuer/CERT_CI_ECDSA_{t}.der", "CertificateIssuer/SK_CI_ECDSA_{t}.pem")


def sgp26_eum(ref: Sgp26):
    return issued(ref, "EUM/CERT_EUM_ECDSA_{t}.der", "EUM/SK_EUM_ECDSA_{t}.pem")
