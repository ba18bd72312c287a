"""SGP.22 certificate rules on the card: chain verification to a CI, role OIDs, r||s signatures.

Implements, explicitly and without a general-purpose RFC 5280 path validator (the GSMA test chain
uses name constraints as EID-prefix rules and critical certificatePolicies, which generic
validators reject):

* SGP.22 v2.5 §4.5.2 certificate profiles (§4.5.2.1.0.x CI / EUM / eUICC / SM-DP+ auth, pb, TLS):
  version 3, ecdsa-with-SHA256, AKI/SKI linkage, keyUsage, basicConstraints, the role's
  certificatePolicies OID ``id-rspRole-*`` (2.23.146.1.2.1.x, values from the RSPDefinitions
  ASN.1 module: ci 0, euicc 1, eum 2, dp-tls 3, dp-auth 4, dp-pb 5, ds-tls 6, ds-auth 7).
* §4.5.2.2 certificate chain verification, as the eUICC does it in §5.7.13 AuthenticateServer
  (CERT.XXauth.ECDSA) and §5.7.17 PrepareDownload (CERT.DPpb.ECDSA); v3 ``otherCertsInChain``
  intermediates (SGP.22 v3 §5.7.13) are accepted when given.
* SGP.22 v3.1 certificate chain variants with sub-CAs (RSPDefinitions v3.1 id-rspRole tree, used by
  Variants A, B and C; Variants O / OO keep the v2 OIDs, named ``-v2`` in v3.1): a leaf carries
  its role's v2 OID or its v3 OID (``id-rspRole-dp-auth`` = 2.23.146.1.2.1.0.0.1.1, ...); a chain
  with intermediates needs the v3 OID on the leaf and a sub-CA OID (``id-rspRole-ciSubCa``,
  ``-dpSubCa``, ``-dsSubCa``) on each intermediate, at most
  :attr:`CertificateRules.max_intermediates` of them.  [U] Which variant letter names which
  shape was not readable here; the rule is the OID tree's.
* §2.6.7 / §5.x signature format: ECDSA with SHA-256, the value in tag 5F37 is the plain
  64-byte r||s (BSI TR-03111), not DER.
* The EUM certificate's nameConstraints as the EID prefix rule (SGP.22 §4.5.2.1.0.2 / SGP.26).

Validity period: the eUICC has no trusted clock.  :class:`CertificateRules.validity_time` is the
setting: ``None`` (default) skips the notBefore/notAfter check, a datetime checks against it.

Every rejection is a :class:`CertificateRejected` carrying a :class:`CertResult`, whose values are
the SGP.22 ``AuthenticateErrorCode`` values; :meth:`CertificateRejected.download_error` maps it to
``DownloadErrorCode`` (PrepareDownload).
"""
from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, IntEnum

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID, SignatureAlgorithmOID

ID_RSP_ROLE = "2.23.146.1.2.1"
"""id-rspRole, SGP.22 RSPDefinitions ``{id-rsp cert-objects(2) 1}``."""

SIGNATURE_SIZE = 64
"""r||s length for the 256-bit curves SGP.22 uses (§2.6.7)."""

SUPPORTED_CURVES = frozenset({"secp256r1", "brainpoolP256r1"})
"""Curves of SGP.22 §2.6.7 this eUICC supports (NIST P-256, brainpoolP256r1)."""


class CertResult(IntEnum):
    """Verification outcome; values are SGP.22 ``AuthenticateErrorCode`` (§5.7.13, ASN.1)."""

    OK = 0
    INVALID_CERTIFICATE = 1
    INVALID_SIGNATURE = 2
    UNSUPPORTED_CURVE = 3
    INVALID_OID = 5
    CI_PK_UNKNOWN = 7
    MISSING_CRL = 9  # SGP.22 v3 CRL stapling (euicc.rsp.crl_stapling)
    INVALID_CRL_SIGNATURE = 10
    REVOKED_CERT = 11
    INVALID_CERT_OR_CRL_TIME = 12  # SGP.22 v3 only; v2 reports invalidCertificate
    INVALID_CERT_OR_CRL_CONFIGURATION = 13
    UNDEFINED_ERROR = 127


class DownloadErrorCode(IntEnum):
    """SGP.22 ``DownloadErrorCode`` (§5.7.17 PrepareDownload)."""

    INVALID_CERTIFICATE = 1
    INVALID_SIGNATURE = 2
    UNSUPPORTED_CURVE = 3
    NO_SESSION_CONTEXT = 4
    INVALID_TRANSACTION_ID = 5
    UNDEFINED_ERROR = 127


_DOWNLOAD_ERROR = {
    CertResult.INVALID_SIGNATURE: DownloadErrorCode.INVALID_SIGNATURE,
    CertResult.UNSUPPORTED_CURVE: DownloadErrorCode.UNSUPPORTED_CURVE,
    CertResult.UNDEFINED_ERROR: DownloadErrorCode.UNDEFINED_ERROR,
}
"""CertResult -> DownloadErrorCode where they differ from invalidCertificate (§5.7.17)."""


class Role(Enum):
    """RSP certificate roles: the certificatePolicies OID ``id-rspRole-*`` (SGP.22 §4.5.2)."""

    CI = 0
    EUICC = 1
    EUM = 2
    DP_TLS = 3
    DP_AUTH = 4
    DP_PB = 5
    DS_TLS = 6
    DS_AUTH = 7

    @property
    def oid(self) -> x509.ObjectIdentifier:
        return x509.ObjectIdentifier(f"{ID_RSP_ROLE}.{self.value}")

    @property
    def v3_oid(self) -> x509.ObjectIdentifier:
        """The role's OID in the SGP.22 v3.1 id-rspRole tree (certificate chain Variants A/B/C)."""
        return x509.ObjectIdentifier(f"{ID_RSP_ROLE}.{_V3_ROLE_ARCS[self]}")

    @property
    def is_ca(self) -> bool:
        return self in (Role.CI, Role.EUM)


_V3_ROLE_ARCS = {Role.CI: "0", Role.EUM: "0.0.0", Role.EUICC: "0.0.0.0.0", Role.DP_TLS: "0.0.1.0",
                 Role.DP_AUTH: "0.0.1.1", Role.DP_PB: "0.0.1.2", Role.DS_TLS: "0.0.2.0", Role.DS_AUTH: "0.0.2.1"}
SUB_CA_OIDS = frozenset(x509.ObjectIdentifier(f"{ID_RSP_ROLE}.{arc}") for arc in ("0.0", "0.0.1", "0.0.2"))
"""id-rspRole-ciSubCa, id-rspRole-dpSubCa, id-rspRole-dsSubCa (SGP.22 v3.1 RSPDefinitions)."""


SERVER_AUTH_ROLES = (Role.DP_AUTH, Role.DS_AUTH)
"""Roles accepted for CERT.XXauth.ECDSA in AuthenticateServer (§5.7.13)."""


class CertificateRejected(Exception):
    """A certificate or signature failed an SGP.22 check; ``result`` is the error code."""

    def __init__(self, result: CertResult, reason: str) -> None:
        super().__init__(f"{result.name}: {reason}")
        self.result = result
        self.reason = reason

    @property
    def download_error(self) -> DownloadErrorCode:
        """The PrepareDownload code (§5.7.17 has no invalidOid / ciPKUnknown / time codes)."""
        return _DOWNLOAD_ERROR.get(self.result, DownloadErrorCode.INVALID_CERTIFICATE)


@dataclass(frozen=True)
class CertificateRules:
    """Settings for the checks; defaults follow SGP.22 v2.5.

    ``validity_time``: the eUICC has no trusted clock, so ``None`` skips the validity period
    check; set a UTC datetime to check notBefore <= t <= notAfter.
    ``wrong_role_result``: code for a server certificate lacking the role OID.  [R] §5.7.13
    ``invalidOid(5)`` is the recalled reading; set INVALID_CERTIFICATE to treat it as a bad cert.
    ``v3_error_codes``: report v3 ``invalidCertOrCrlTime(12)`` for time failures (v2: 1).
    """

    supported_curves: frozenset[str] = SUPPORTED_CURVES
    validity_time: _dt.datetime | None = None
    wrong_role_result: CertResult = CertResult.INVALID_OID
    v3_error_codes: bool = False
    max_intermediates: int = 2          # [U] CI SubCA + DP/DS SubCA: the deepest v3.1 server chain


#: What the X.509 parser raises on malformed input (some are not ValueErrors).
MALFORMED = (ValueError, TypeError, x509.InvalidVersion, x509.DuplicateExtension,
             x509.UnsupportedGeneralNameType, UnsupportedAlgorithm)


def parse_certificate(der: bytes) -> x509.Certificate:
    """Parse a DER X.509 certificate; malformed input -> invalidCertificate."""
    try:
        return x509.load_der_x509_certificate(bytes(der))
    except MALFORMED as exc:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, f"not a DER certificate: {exc}") from None


def public_key_of(cert: x509.Certificate, rules: CertificateRules) -> ec.EllipticCurvePublicKey:
    """The subject EC public key; a curve outside ``rules.supported_curves`` -> unsupportedCurve."""
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise CertificateRejected(CertResult.UNSUPPORTED_CURVE, f"public key not usable: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "subject key is not an EC key")
    if key.curve.name not in rules.supported_curves:
        raise CertificateRejected(CertResult.UNSUPPORTED_CURVE, f"curve {key.curve.name} not supported")
    return key


def _extension(cert: x509.Certificate, ext_type: type) -> x509.Extension | None:
    try:
        return cert.extensions.get_extension_for_class(ext_type)
    except x509.ExtensionNotFound:
        return None
    except MALFORMED as exc:  # malformed or duplicate extensions
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, f"bad extensions: {exc}") from None


def subject_key_identifier(cert: x509.Certificate) -> bytes:
    """The SubjectKeyIdentifier (RFC 5280 §4.2.1.2), mandatory in every SGP.22 profile."""
    ext = _extension(cert, x509.SubjectKeyIdentifier)
    if ext is None:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "no subjectKeyIdentifier")
    return ext.value.digest


def authority_key_identifier(cert: x509.Certificate) -> bytes:
    """AuthorityKeyIdentifier.keyIdentifier: the issuer's SKI (the CI PKID at the top)."""
    ext = _extension(cert, x509.AuthorityKeyIdentifier)
    if ext is None or ext.value.key_identifier is None:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "no authorityKeyIdentifier keyIdentifier")
    return ext.value.key_identifier


def rsp_server_oid(cert: x509.Certificate) -> x509.ObjectIdentifier | None:
    """The RSP entity OID: the registeredID in subjectAltName (SGP.22 §4.5.2.1.0.3/.4)."""
    ext = _extension(cert, x509.SubjectAlternativeName)
    if ext is None:
        return None
    oids = ext.value.get_values_for_type(x509.RegisteredID)
    return oids[0] if oids else None


def _policy_oids(cert: x509.Certificate) -> set[x509.ObjectIdentifier]:
    policies = _extension(cert, x509.CertificatePolicies)
    return {p.policy_identifier for p in policies.value} if policies else set()


def check_profile(cert: x509.Certificate, roles: Iterable[Role], rules: CertificateRules) -> Role:
    """Check the §4.5.2 profile of ``cert`` for one of ``roles``; return the role found.

    Version 3, ecdsa-with-SHA256, keyUsage (critical; keyCertSign for CI/EUM, digitalSignature
    otherwise), basicConstraints (CA only for CI/EUM), the role's certificatePolicies OID.
    """
    roles = tuple(roles)
    if cert.version is not x509.Version.v3:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "not an X.509 v3 certificate")
    if cert.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "signature algorithm is not ecdsa-with-SHA256")
    present = _policy_oids(cert)
    found = [r for r in roles if r.oid in present or r.v3_oid in present]
    if not found:
        code = CertResult.INVALID_CERTIFICATE if any(r.is_ca for r in roles) else rules.wrong_role_result
        want = ", ".join(r.name for r in roles)
        raise CertificateRejected(code, f"certificatePolicies lack the role OID for {want}")
    role = found[0]
    usage = _extension(cert, x509.KeyUsage)
    if usage is None or not usage.critical:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "keyUsage missing or not critical")
    if role.is_ca and not usage.value.key_cert_sign:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "CA certificate without keyCertSign")
    if not role.is_ca and not usage.value.digital_signature:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "end-entity certificate without digitalSignature")
    basic = _extension(cert, x509.BasicConstraints)
    is_ca = basic is not None and basic.value.ca
    if is_ca != role.is_ca:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, f"basicConstraints cA={is_ca} for role {role.name}")
    subject_key_identifier(cert)
    return role


def check_validity(cert: x509.Certificate, rules: CertificateRules) -> None:
    """Validity period against ``rules.validity_time``; skipped when it is None (no clock)."""
    when = rules.validity_time
    if when is None:
        return
    if when.tzinfo is None:
        when = when.replace(tzinfo=_dt.timezone.utc)
    if not cert.not_valid_before_utc <= when <= cert.not_valid_after_utc:
        code = CertResult.INVALID_CERT_OR_CRL_TIME if rules.v3_error_codes else CertResult.INVALID_CERTIFICATE
        raise CertificateRejected(code, f"outside validity period at {when.isoformat()}")


def check_issued_by(
    cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePublicKey,
    issuer_ski: bytes,
    issuer_name: x509.Name | None,
) -> None:
    """One link of §4.5.2.2: AKI == issuer SKI, issuer name, same curve, signature verifies."""
    if authority_key_identifier(cert) != issuer_ski:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "authorityKeyIdentifier does not match issuer SKI")
    if issuer_name is not None and cert.issuer != issuer_name:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "issuer name does not match issuer subject")
    subject_key = cert.public_key()
    if isinstance(subject_key, ec.EllipticCurvePublicKey) and subject_key.curve.name != issuer_key.curve.name:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "chain mixes curves")
    try:
        issuer_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "certificate signature does not verify") from None


def rs_to_der(signature: bytes) -> bytes:
    """TR-03111 plain r||s (64 bytes, tag 5F37 value) -> DER ECDSA-Sig-Value."""
    if len(signature) != SIGNATURE_SIZE:
        raise CertificateRejected(CertResult.INVALID_SIGNATURE, f"signature is {len(signature)} bytes, not 64")
    half = SIGNATURE_SIZE // 2
    r = int.from_bytes(signature[:half], "big")
    s = int.from_bytes(signature[half:], "big")
    return encode_dss_signature(r, s)


def der_to_rs(der: bytes) -> bytes:
    """DER ECDSA-Sig-Value -> TR-03111 plain r||s of 64 bytes."""
    r, s = decode_dss_signature(der)
    half = SIGNATURE_SIZE // 2
    return r.to_bytes(half, "big") + s.to_bytes(half, "big")


def verify_signature(key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> None:
    """Verify an SGP.22 ECDSA-SHA256 r||s signature (§2.6.7); failure -> invalidSignature."""
    try:
        key.verify(rs_to_der(signature), bytes(data), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise CertificateRejected(CertResult.INVALID_SIGNATURE, "signature does not verify") from None


def sign(private_key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    """Sign ``data`` with ECDSA-SHA256 and return r||s (SGP.22 §2.6.7, tag 5F37 value)."""
    return der_to_rs(private_key.sign(bytes(data), ec.ECDSA(hashes.SHA256())))


@dataclass(frozen=True)
class TrustedCi:
    """A CI public key PK.CI.ECDSA the eUICC trusts, identified by its PKID (the CI SKI).

    ``name`` is the CI subject when built from CERT.CI.ECDSA (then issuer names are checked).
    """

    pkid: bytes
    public_key: ec.EllipticCurvePublicKey
    name: x509.Name | None = None

    @classmethod
    def from_certificate(cls, der: bytes, rules: CertificateRules | None = None) -> "TrustedCi":
        """Build from the self-signed CERT.CI.ECDSA (§4.5.2.1.0.1), checking its profile."""
        rules = rules or CertificateRules()
        cert = parse_certificate(der)
        key = public_key_of(cert, rules)
        check_profile(cert, (Role.CI,), rules)
        ski = subject_key_identifier(cert)
        try:
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "CI certificate is not self-signed") from None
        return cls(ski, key, cert.subject)


@dataclass(frozen=True)
class VerifiedCertificate:
    """A certificate that passed the checks, with what the caller needs next."""

    certificate: x509.Certificate
    role: Role
    public_key: ec.EllipticCurvePublicKey
    ci_pkid: bytes

    @property
    def rsp_oid(self) -> x509.ObjectIdentifier | None:
        return rsp_server_oid(self.certificate)


@dataclass(frozen=True)
class CertificateVerifier:
    """Verifies RSP certificate chains up to configured CIs (SGP.22 §4.5.2.2)."""

    trusted: Mapping[bytes, TrustedCi]
    rules: CertificateRules = field(default_factory=CertificateRules)

    @classmethod
    def from_cis(cls, cis: Iterable[TrustedCi], rules: CertificateRules | None = None) -> "CertificateVerifier":
        return cls({ci.pkid: ci for ci in cis}, rules or CertificateRules())

    def ci(self, pkid: bytes) -> TrustedCi:
        """The trusted CI for ``pkid``; unknown -> ciPKUnknown."""
        try:
            return self.trusted[bytes(pkid)]
        except KeyError:
            raise CertificateRejected(CertResult.CI_PK_UNKNOWN, f"CI PKID {bytes(pkid).hex()} unknown") from None

    def verify_chain(
        self,
        leaf_der: bytes,
        roles: Iterable[Role],
        ci_pkid: bytes | None = None,
        intermediates: Sequence[bytes] = (),
    ) -> VerifiedCertificate:
        """Verify ``leaf_der`` (one of ``roles``) through ``intermediates`` to a trusted CI.

        ``intermediates`` are ordered from the leaf's issuer upwards (v3 otherCertsInChain;
        empty in v2).  ``ci_pkid`` is euiccCiPKIdToBeUsed when the caller has one.
        Order of checks follows §5.7.13: parse, CI known, curve, chain links, profiles, time.
        """
        try:
            return self._verify_chain(leaf_der, tuple(roles), ci_pkid, intermediates)
        except MALFORMED as exc:  # lazily parsed fields of a malformed certificate
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, f"malformed certificate: {exc}") from None

    def _verify_chain(
        self, leaf_der: bytes, roles: tuple[Role, ...], ci_pkid: bytes | None, intermediates: Sequence[bytes]
    ) -> VerifiedCertificate:
        if len(intermediates) > self.rules.max_intermediates:
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "certificate chain too long")
        chain = [parse_certificate(d) for d in (leaf_der, *intermediates)]
        if ci_pkid is not None:
            self.ci(ci_pkid)
        keys = [public_key_of(c, self.rules) for c in chain]
        top_aki = authority_key_identifier(chain[-1])
        if any(_extension(c, x509.SubjectKeyIdentifier) and subject_key_identifier(c) == top_aki for c in chain):
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "otherCertsInChain out of order")
        ci = self.ci(top_aki)
        if ci_pkid is not None and top_aki != bytes(ci_pkid):
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "chain does not end at euiccCiPKIdToBeUsed")
        role = check_profile(chain[0], roles, self.rules)
        if intermediates and role.v3_oid not in _policy_oids(chain[0]):
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "a sub-CA chain needs the v3 role OID")
        for cert in chain[1:]:
            self._check_intermediate(cert)
        issuers = [(k, subject_key_identifier(c), c.subject) for c, k in zip(chain[1:], keys[1:])]
        issuers.append((ci.public_key, ci.pkid, ci.name))
        for cert, (key, ski, name) in zip(chain, issuers):
            check_issued_by(cert, key, ski, name)
            check_validity(cert, self.rules)
        return VerifiedCertificate(chain[0], role, keys[0], ci.pkid)

    def _check_intermediate(self, cert: x509.Certificate) -> None:
        """A sub-CA (v3 chains): CA, keyCertSign, critical keyUsage, SKI (§4.5.2, v3 §4.5.2.1)."""
        basic = _extension(cert, x509.BasicConstraints)
        usage = _extension(cert, x509.KeyUsage)
        if basic is None or not basic.value.ca:
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "intermediate is not a CA")
        if usage is None or not usage.critical or not usage.value.key_cert_sign:
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "intermediate without critical keyCertSign")
        if not SUB_CA_OIDS & _policy_oids(cert):
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "intermediate without a sub-CA role OID")
        if cert.signature_algorithm_oid != SignatureAlgorithmOID.ECDSA_WITH_SHA256:
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "signature algorithm is not ecdsa-with-SHA256")
        subject_key_identifier(cert)

    # --- the eUICC's own chain: CERT.EUICC.ECDSA -> CERT.EUM.ECDSA -> CI ----------------------
    def verify_euicc_chain(self, euicc_der: bytes, eum_der: bytes) -> tuple[VerifiedCertificate, str]:
        """Verify eUICC -> EUM -> CI and the EID against the EUM name constraints; return EID."""
        try:
            return self._verify_euicc_chain(euicc_der, eum_der)
        except MALFORMED as exc:
            raise CertificateRejected(CertResult.INVALID_CERTIFICATE, f"malformed certificate: {exc}") from None

    def _verify_euicc_chain(self, euicc_der: bytes, eum_der: bytes) -> tuple[VerifiedCertificate, str]:
        eum = self.verify_chain(eum_der, (Role.EUM,))
        euicc = parse_certificate(euicc_der)
        public_key_of(euicc, self.rules)
        check_profile(euicc, (Role.EUICC,), self.rules)
        check_issued_by(euicc, eum.public_key, subject_key_identifier(eum.certificate), eum.certificate.subject)
        check_validity(euicc, self.rules)
        eid = eid_of(euicc)
        check_eid_permitted(eid, euicc.subject, eum.certificate)
        return VerifiedCertificate(euicc, Role.EUICC, public_key_of(euicc, self.rules), eum.ci_pkid), eid


def _attribute(name: x509.Name, oid: x509.ObjectIdentifier) -> str | None:
    values = name.get_attributes_for_oid(oid)
    if len(values) != 1 or not isinstance(values[0].value, str):
        return None
    return values[0].value


def eid_of(euicc_cert: x509.Certificate) -> str:
    """The EID: subject serialNumber of CERT.EUICC.ECDSA (SGP.22 §4.5.2.1.0.3)."""
    eid = _attribute(euicc_cert.subject, NameOID.SERIAL_NUMBER)
    if eid is None or not eid_is_valid(eid):
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, f"subject serialNumber {eid!r} is not a valid EID")
    return eid


def eid_is_valid(eid: str) -> bool:
    """32 decimal digits whose value mod 97 is 1 (EID check digits, SGP.29 / ISO 7064 97-10)."""
    return len(eid) == 32 and eid.isascii() and eid.isdigit() and int(eid) % 97 == 1


def check_eid_permitted(eid: str, euicc_subject: x509.Name, eum_cert: x509.Certificate) -> None:
    """EUM nameConstraints as the EID rule (SGP.22 §4.5.2.1.0.2): some permitted directoryName
    has O equal to the eUICC subject O and a serialNumber that prefixes the EID.
    No nameConstraints -> nothing to check (the extension is optional in the profile)."""
    ext = _extension(eum_cert, x509.NameConstraints)
    if ext is None:
        return
    organisation = _attribute(euicc_subject, NameOID.ORGANIZATION_NAME)
    for subtree in ext.value.permitted_subtrees or ():
        if not isinstance(subtree, x509.DirectoryName):
            continue
        prefix = _attribute(subtree.value, NameOID.SERIAL_NUMBER)
        permitted_o = _attribute(subtree.value, NameOID.ORGANIZATION_NAME)
        if prefix is not None and eid.startswith(prefix) and permitted_o in (None, organisation):
            return
    raise CertificateRejected(CertResult.INVALID_CERTIFICATE, f"EID {eid} outside the EUM name constraints")
