"""The eUICC's identity: SK.EUICC.ECDSA, CERT.EUICC.ECDSA, CERT.EUM.ECDSA and trusted CIs.

SGP.22 v2.5 §2.4.2 (ECASD content: SK.EUICC.ECDSA, CERT.EUICC.ECDSA, PK.CI.ECDSA, EUM
certificate) and §4.5.2 (one certificate chain per supported CI).  ``euiccCiPKIdListForVerification``
is the list of trusted CI PKIDs, ``euiccCiPKIdListForSigning`` the CIs the eUICC has a
credential for (§4.1.1 EUICCInfo1).

The private key never leaves through an API except :meth:`EuiccIdentity.to_state`, which puts the
raw scalar into the card's own state store (never sent through an APDU).  Files are read in the
GSMA SGP.26 layout (``eUICC/SK_EUICC_ECDSA_<C>.pem``, ``EUM/CERT_EUM_ECDSA_<C>.der``,
``CertificateIssuer/CERT_CI_ECDSA_<C>.der``; ``<C>`` = NIST or BRP), which ``tools.pki`` also writes.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from euicc.crypto.certificates import (
    MALFORMED,
    CertificateRejected,
    CertificateRules,
    CertificateVerifier,
    CertResult,
    TrustedCi,
    eid_of,
    parse_certificate,
    sign,
)

CURVES: Mapping[str, type[ec.EllipticCurve]] = {
    "secp256r1": ec.SECP256R1,
    "brainpoolP256r1": ec.BrainpoolP256R1,
}
"""Curve name (as in the state store) -> curve class; SGP.22 §2.6.7."""

SGP26_CURVE_TAGS = ("NIST", "BRP")
"""File name suffixes of the SGP.26 layout for NIST P-256 and brainpoolP256r1."""


class IdentityError(ValueError):
    """An identity file or state entry is unusable (bad PEM/DER, key not matching the cert)."""


def _read_file(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise IdentityError(f"cannot read {path}: {exc}") from None


def _read_certificate(data: bytes) -> bytes:
    """Certificate bytes from DER or PEM, returned as DER."""
    try:
        if data.lstrip().startswith(b"-----"):
            return x509.load_pem_x509_certificate(data).public_bytes(serialization.Encoding.DER)
        return x509.load_der_x509_certificate(data).public_bytes(serialization.Encoding.DER)
    except ValueError as exc:
        raise IdentityError(f"not a certificate: {exc}") from None


def _read_private_key(data: bytes) -> ec.EllipticCurvePrivateKey:
    """EC private key from PEM (SEC1 or PKCS#8, optional EC PARAMETERS block) or DER."""
    try:
        if b"-----BEGIN" in data:
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = serialization.load_der_private_key(data, password=None)
    except MALFORMED as exc:
        raise IdentityError(f"not a private key: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name not in CURVES:
        raise IdentityError("private key is not on a supported EC curve")
    return key


class EuiccCredential:
    """SK.EUICC.ECDSA with its CERT.EUICC.ECDSA and CERT.EUM.ECDSA (one CI, one curve)."""

    def __init__(self, private_key: ec.EllipticCurvePrivateKey, cert_euicc: bytes, cert_eum: bytes) -> None:
        self._private_key = private_key
        self.cert_euicc = _read_certificate(cert_euicc)
        self.cert_eum = _read_certificate(cert_eum)
        euicc = x509.load_der_x509_certificate(self.cert_euicc)
        eum = x509.load_der_x509_certificate(self.cert_eum)
        try:
            matches = euicc.public_key() == private_key.public_key()
        except (ValueError, UnsupportedAlgorithm):
            matches = False
        if not matches:
            raise IdentityError("SK.EUICC.ECDSA does not match CERT.EUICC.ECDSA")
        try:
            aki = eum.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        except (x509.ExtensionNotFound, ValueError):
            aki = None
        if not aki:
            raise IdentityError("CERT.EUM.ECDSA has no authorityKeyIdentifier (CI PKID)")
        self.ci_pkid: bytes = aki

    @property
    def curve(self) -> str:
        return self._private_key.curve.name

    def sign(self, data: bytes) -> bytes:
        """ECDSA-SHA256 with SK.EUICC.ECDSA, r||s (euiccSignature1/2, euiccSignPIR ...)."""
        return sign(self._private_key, data)

    @classmethod
    def from_files(cls, key_path: Path, euicc_cert_path: Path, eum_cert_path: Path) -> "EuiccCredential":
        """Load SK.EUICC (PEM/DER), CERT.EUICC and CERT.EUM (DER or PEM)."""
        key = _read_private_key(_read_file(key_path))
        return cls(key, _read_file(euicc_cert_path), _read_file(eum_cert_path))

    def to_state(self) -> dict[str, Any]:
        scalar = self._private_key.private_numbers().private_value.to_bytes(32, "big")
        return {"curve": self.curve, "sk_euicc": scalar, "cert_euicc": self.cert_euicc, "cert_eum": self.cert_eum}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> "EuiccCredential":
        try:
            curve = CURVES[state["curve"]]()
            key = ec.derive_private_key(int.from_bytes(bytes(state["sk_euicc"]), "big"), curve)
            return cls(key, bytes(state["cert_euicc"]), bytes(state["cert_eum"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise IdentityError(f"bad credential state: {exc}") from None

    def __repr__(self) -> str:  # never show the key
        return f"EuiccCredential(curve={self.curve}, ci_pkid={self.ci_pkid.hex()})"


@dataclass
class EuiccIdentity:
    """All credentials of one eUICC plus the CI certificates it trusts for verification."""

    credentials: list[EuiccCredential]
    ci_certificates: list[bytes]

    def __post_init__(self) -> None:
        self.ci_certificates = [_read_certificate(c) for c in self.ci_certificates]

    @property
    def ci_pkids_for_verification(self) -> list[bytes]:
        """euiccCiPKIdListForVerification (EUICCInfo1 tag A9)."""
        return [ci.pkid for ci in self.trusted_cis()]

    @property
    def ci_pkids_for_signing(self) -> list[bytes]:
        """euiccCiPKIdListForSigning (EUICCInfo1 tag AA): CIs with an eUICC certificate chain."""
        return [c.ci_pkid for c in self.credentials]

    def trusted_cis(self, rules: CertificateRules | None = None) -> list[TrustedCi]:
        return [TrustedCi.from_certificate(der, rules) for der in self.ci_certificates]

    def verifier(self, rules: CertificateRules | None = None) -> CertificateVerifier:
        return CertificateVerifier.from_cis(self.trusted_cis(rules), rules)

    def credential(self, ci_pkid: bytes) -> EuiccCredential:
        """The credential for euiccCiPKIdToBeUsed; none -> ciPKUnknown (§5.7.13)."""
        for cred in self.credentials:
            if cred.ci_pkid == bytes(ci_pkid):
                return cred
        raise CertificateRejected(CertResult.CI_PK_UNKNOWN, f"no eUICC certificate for CI {bytes(ci_pkid).hex()}")

    @property
    def eid(self) -> str:
        """The EID from CERT.EUICC.ECDSA (all credentials carry the same one)."""
        eids = {eid_of(parse_certificate(c.cert_euicc)) for c in self.credentials}
        if len(eids) != 1:
            raise IdentityError(f"credentials name {len(eids)} different EIDs")
        return eids.pop()

    def check(self, rules: CertificateRules | None = None) -> str:
        """Verify every credential chain under the card rules; return the EID."""
        verifier = self.verifier(rules)
        for cred in self.credentials:
            verifier.verify_euicc_chain(cred.cert_euicc, cred.cert_eum)
        return self.eid

    @classmethod
    def from_sgp26_layout(cls, root: Path, curve_tags: Iterable[str] = SGP26_CURVE_TAGS) -> "EuiccIdentity":
        """Load ``root/{eUICC,EUM,CertificateIssuer}`` for each curve tag present (NIST, BRP)."""
        root = Path(root)
        creds: list[EuiccCredential] = []
        cis: list[bytes] = []
        for tag in curve_tags:
            key = root / "eUICC" / f"SK_EUICC_ECDSA_{tag}.pem"
            if not key.exists():
                continue
            creds.append(EuiccCredential.from_files(
                key, root / "eUICC" / f"CERT_EUICC_ECDSA_{tag}.der", root / "EUM" / f"CERT_EUM_ECDSA_{tag}.der"))
            cis.append(_read_file(root / "CertificateIssuer" / f"CERT_CI_ECDSA_{tag}.der"))
        if not creds:
            raise IdentityError(f"no eUICC/SK_EUICC_ECDSA_<NIST|BRP>.pem under {root}")
        return cls(creds, cis)

    def to_state(self) -> dict[str, Any]:
        """Plain dict of bytes/str/lists for the card's state store (holds the private scalars)."""
        return {"credentials": [c.to_state() for c in self.credentials], "ci_certificates": list(self.ci_certificates)}

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> "EuiccIdentity":
        try:
            creds = [EuiccCredential.from_state(c) for c in state["credentials"]]
            cis = [bytes(c) for c in state["ci_certificates"]]
        except (KeyError, TypeError) as exc:
            raise IdentityError(f"bad identity state: {exc}") from None
        return cls(creds, cis)
