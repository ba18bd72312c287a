"""SM-DP+ credentials and the eUICC certificate checks of GSMA SGP.22 v2.5.

* Credentials: CERT.DPauth.ECDSA, CERT.DPpb.ECDSA (and optionally CERT.DP.TLS) with their private
  keys, one set per CI the SM-DP+ is certified under (§4.5.2), loaded from the SGP.26 folder layout
  (``DPauth/CERT_S_SM_DPauth_ECDSA_NIST.der`` ...) or taken from a :mod:`tools.pki` hierarchy.
* eUICC checks of ES9+.AuthenticateClient (§5.6.3, §4.5.2.2): CERT.EUICC.ECDSA is signed by
  CERT.EUM.ECDSA, which is signed by the CI; both valid now; role policies
  (id-rspRole-euicc / -eum, RSPDefinitions); the EID in the eUICC certificate's subject
  serialNumber starts with the EUM's permitted serialNumber (SGP.22 §4.5.2.1.0.2 name constraint,
  checked as an EID prefix rule, not as an X.500 subtree).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

OID_ROLE_EUICC = "2.23.146.1.2.1.1"
OID_ROLE_EUM = "2.23.146.1.2.1.2"


class CertificateCheckError(Exception):
    """An eUICC or EUM certificate failed a check; ``which`` is 'eum' or 'euicc', ``expired``
    tells the ES9+ status code to use (§5.6.3: 6.1 verification failed / 6.3 expired)."""

    def __init__(self, which: str, message: str, expired: bool = False) -> None:
        super().__init__(f"{which}: {message}")
        self.which = which
        self.expired = expired


@dataclass(frozen=True)
class KeyPair:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)


@dataclass(frozen=True)
class CredentialSet:
    """What the SM-DP+ holds for one CI (one curve)."""

    ci: x509.Certificate
    auth: KeyPair
    pb: KeyPair
    tls: KeyPair | None = None
    chain: tuple[x509.Certificate, ...] = ()     # sub-CA certificates above auth / pb (v3.1 chains)

    @property
    def ci_pkid(self) -> bytes:
        return subject_key_id(self.ci)

    @property
    def curve(self) -> str:
        return self.auth.key.curve.name

    @property
    def smdp_oid(self) -> str:
        """The SM-DP+ OID: the registeredID in CERT.DPauth's subjectAltName (§4.5.2.1.0.4)."""
        san = self.auth.cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        return san.get_values_for_type(x509.RegisteredID)[0].dotted_string


@dataclass
class Credentials:
    """All credential sets of the SM-DP+, by CI public key identifier."""

    sets: dict[bytes, CredentialSet] = field(default_factory=dict)

    def add(self, cred: CredentialSet) -> None:
        self.sets[cred.ci_pkid] = cred

    def first_supported(self, pkids: list[bytes]) -> CredentialSet | None:
        """The credential set for the first CI in ``pkids`` we hold (§5.6.1 CI selection)."""
        for pkid in pkids:
            if pkid in self.sets:
                return self.sets[pkid]
        return None


def subject_key_id(cert: x509.Certificate) -> bytes:
    return cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def _load_cert(path: Path) -> x509.Certificate:
    data = path.read_bytes()
    return x509.load_pem_x509_certificate(data) if data.lstrip().startswith(b"-----") else x509.load_der_x509_certificate(data)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path}: not an EC private key")
    return key


def load_sgp26(folder: Path, tag: str = "NIST", dp: str = "DP") -> CredentialSet:
    """Load one credential set in the SGP.26 layout; ``tag`` NIST|BRP, ``dp`` DP|DP2."""
    folder = Path(folder)
    tls = None
    tls_cert = folder / f"DPtls/CERT_S_SM_DP_VARO_TLS_{tag}.der"
    if dp == "DP" and tls_cert.is_file():
        tls = KeyPair(_load_cert(tls_cert), _load_key(folder / f"DPtls/SK_S_SM_DP_TLS_{tag}.pem"))
    sub_ca = folder / f"DPSubCA/CERT_S_SM_{dp}SubCA_ECDSA_{tag}.der"
    return CredentialSet(
        chain=(_load_cert(sub_ca),) if sub_ca.is_file() else (),
        ci=_load_cert(folder / f"CertificateIssuer/CERT_CI_ECDSA_{tag}.der"),
        auth=KeyPair(_load_cert(folder / f"DPauth/CERT_S_SM_{dp}auth_ECDSA_{tag}.der"),
                     _load_key(folder / f"DPauth/SK_S_SM_{dp}auth_ECDSA_{tag}.pem")),
        pb=KeyPair(_load_cert(folder / f"DPpb/CERT_S_SM_{dp}pb_ECDSA_{tag}.der"),
                   _load_key(folder / f"DPpb/SK_S_SM_{dp}pb_ECDSA_{tag}.pem")),
        tls=tls)


def load_folder(folder: Path, tags: tuple[str, ...] = ("NIST", "BRP"), dp: str = "DP") -> Credentials:
    """Every credential set of ``tags`` present in ``folder``."""
    creds = Credentials()
    for tag in tags:
        if (Path(folder) / f"CertificateIssuer/CERT_CI_ECDSA_{tag}.der").is_file():
            creds.add(load_sgp26(folder, tag, dp))
    if not creds.sets:
        raise FileNotFoundError(f"no SGP.26 credential set under {folder}")
    return creds


def _has_policy(cert: x509.Certificate, oid: str) -> bool:
    try:
        pols = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    except x509.ExtensionNotFound:
        return False
    return any(p.policy_identifier.dotted_string == oid for p in pols)


def _check_link(which: str, cert: x509.Certificate, issuer: x509.Certificate, policy: str,
                now: dt.datetime) -> None:
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature) as exc:
        raise CertificateCheckError(which, f"not signed by its issuer ({exc.__class__.__name__})") from None
    if not _has_policy(cert, policy):
        raise CertificateCheckError(which, f"certificate policy {policy} missing")
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise CertificateCheckError(which, "outside its validity period", expired=True)


def _permitted_serial(eum: x509.Certificate) -> str | None:
    try:
        nc = eum.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None
    for sub in nc.permitted_subtrees or []:
        if isinstance(sub, x509.DirectoryName):
            serials = sub.value.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
            if serials:
                return str(serials[0].value)
    return None


@dataclass(frozen=True)
class EuiccIdentity:
    """What the SM-DP+ learns from a verified CERT.EUICC.ECDSA."""

    eid: str
    public_key: ec.EllipticCurvePublicKey
    certificate: x509.Certificate


def verify_euicc_chain(euicc_der: bytes, eum_der: bytes, ci: x509.Certificate,
                       now: dt.datetime | None = None) -> EuiccIdentity:
    """SGP.22 §5.6.3 certificate checks: CERT.EUM by the CI, CERT.EUICC by the EUM, EID prefix."""
    now = now or dt.datetime.now(dt.timezone.utc)
    try:
        eum = x509.load_der_x509_certificate(eum_der)
    except ValueError:
        raise CertificateCheckError("eum", "not a DER certificate") from None
    try:
        euicc = x509.load_der_x509_certificate(euicc_der)
    except ValueError:
        raise CertificateCheckError("euicc", "not a DER certificate") from None
    _check_link("eum", eum, ci, OID_ROLE_EUM, now)
    _check_link("euicc", euicc, eum, OID_ROLE_EUICC, now)
    serials = euicc.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    eid = str(serials[0].value) if serials else ""
    prefix = _permitted_serial(eum)
    if len(eid) != 32 or not eid.isdigit() or (prefix is not None and not eid.startswith(prefix)):
        raise CertificateCheckError("euicc", f"EID {eid!r} not permitted by the EUM")
    key = euicc.public_key()
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CertificateCheckError("euicc", "not an EC key")
    return EuiccIdentity(eid, key, euicc)
