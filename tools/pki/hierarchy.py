"""A test RSP PKI (host side): CI, EUM, eUICC and SM-DP+ auth / pb / TLS certificates.

Certificate profiles of GSMA SGP.22 v2.5 §4.5.2.1.0.x, with the extension set and criticality of
the published SGP.26 "Variant O" test certificates (one CI, no sub-CAs):

=========  =================================================================================
CI         SKI; basicConstraints cA (critical); policies ci (critical); keyUsage keyCertSign,
           cRLSign (critical); SAN registeredID; CRL distribution points
EUM        AKI; SKI; keyUsage keyCertSign (critical); policies eum (critical); SAN registeredID;
           basicConstraints cA pathLen 0 (critical); CRL DP; nameConstraints (critical) with a
           permitted directoryName {O, serialNumber = EID prefix}
eUICC      AKI; SKI; keyUsage digitalSignature (critical); policies euicc (critical); subject
           C, O, serialNumber = EID, CN
DPauth/pb  AKI; SKI; SAN registeredID (SM-DP+ OID); keyUsage digitalSignature (critical);
           policies dp-auth / dp-pb (critical); CRL DP
DPtls      keyUsage digitalSignature (critical); EKU serverAuth+clientAuth (critical); policies
           dp-tls (not critical); SKI; AKI; SAN dNSName + registeredID; CRL DP
=========  =================================================================================

Written independently of the card code (``euicc/``) so each can check the other.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from tools.pki import eid as eid_util

ROLE_OIDS = {
    "ci": "2.23.146.1.2.1.0",
    "euicc": "2.23.146.1.2.1.1",
    "eum": "2.23.146.1.2.1.2",
    "dp-tls": "2.23.146.1.2.1.3",
    "dp-auth": "2.23.146.1.2.1.4",
    "dp-pb": "2.23.146.1.2.1.5",
    "ds-tls": "2.23.146.1.2.1.6",
    "ds-auth": "2.23.146.1.2.1.7",
    # SGP.22 v3.1 RSPDefinitions: the role tree of certificate chains with sub-CAs (Variants A, B, C)
    "ci-subca": "2.23.146.1.2.1.0.0",
    "dp-subca": "2.23.146.1.2.1.0.0.1",
    "ds-subca": "2.23.146.1.2.1.0.0.2",
    "dp-auth-v3": "2.23.146.1.2.1.0.0.1.1",
    "dp-pb-v3": "2.23.146.1.2.1.0.0.1.2",
    "ds-auth-v3": "2.23.146.1.2.1.0.0.2.1",
}
"""id-rspRole-* (SGP.22 RSPDefinitions: id-rspRole = 2.23.146.1.2.1; v3.1 keeps the v2 values as
``id-rspRole-*-v2`` for Variant O and adds the sub-CA tree under id-rspRole-ci)."""

CURVES = {"NIST": ec.SECP256R1, "BRP": ec.BrainpoolP256R1}
"""SGP.26 file-name tag -> curve."""

NO_EXPIRY = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
"""RFC 5280 §4.1.2.5 'no well-defined expiration date' (used for the eUICC certificate)."""

CRL_URIS = ("http://ci.test.example.com/CRL-A.crl", "http://ci.test.example.com/CRL-B.crl")


@dataclass(frozen=True)
class Issued:
    """A key pair and its certificate."""

    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def ski(self) -> bytes:
        return self.cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest


def name(**attrs: str) -> x509.Name:
    """An X.500 name from keyword attributes in the given order (C, O, OU, CN, serialNumber)."""
    oids = {"C": NameOID.COUNTRY_NAME, "O": NameOID.ORGANIZATION_NAME, "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
            "CN": NameOID.COMMON_NAME, "serialNumber": NameOID.SERIAL_NUMBER}
    return x509.Name([x509.NameAttribute(oids[k], v) for k, v in attrs.items()])


def policies(role: str) -> x509.CertificatePolicies:
    return x509.CertificatePolicies([x509.PolicyInformation(x509.ObjectIdentifier(ROLE_OIDS[role]), None)])


def key_usage(*, sign: bool = False, cert_sign: bool = False, crl_sign: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(sign, False, False, False, False, cert_sign, crl_sign, False, False)


def registered_id(oid: str) -> x509.SubjectAlternativeName:
    return x509.SubjectAlternativeName([x509.RegisteredID(x509.ObjectIdentifier(oid))])


def crl_points(*uris: str) -> x509.CRLDistributionPoints:
    return x509.CRLDistributionPoints(
        [x509.DistributionPoint([x509.UniformResourceIdentifier(u)], None, None, None) for u in uris])


def issue(
    subject: x509.Name,
    key: ec.EllipticCurvePrivateKey,
    extensions: list[tuple[x509.ExtensionType, bool]],
    issuer: Issued | None,
    not_before: dt.datetime,
    not_after: dt.datetime,
) -> Issued:
    """Sign a v3 certificate with ECDSA-SHA256; ``issuer`` None = self-signed.
    The SKI is the RFC 5280 §4.2.1.2 (1) SHA-1 key identifier; AKI = issuer SKI."""
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(issuer.cert.subject if issuer else subject)
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(not_before).not_valid_after(not_after))
    for ext, critical in extensions:
        builder = builder.add_extension(ext, critical)
    signer = issuer.key if issuer else key
    return Issued(key, builder.sign(signer, hashes.SHA256()))


def ski_of(key: ec.EllipticCurvePrivateKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key.public_key())


def aki_of(issuer: Issued) -> x509.AuthorityKeyIdentifier:
    return x509.AuthorityKeyIdentifier(issuer.ski, None, None)


def make_ci(curve: ec.EllipticCurve, now: dt.datetime, subject: x509.Name | None = None) -> Issued:
    """CERT.CI.ECDSA, self-signed (SGP.22 §4.5.2.1.0.1)."""
    key = ec.generate_private_key(curve)
    exts = [(ski_of(key), False), (x509.BasicConstraints(True, None), True), (policies("ci"), True),
            (key_usage(cert_sign=True, crl_sign=True), True), (registered_id("2.999.1"), False),
            (crl_points(*CRL_URIS), False)]
    subject = subject or name(C="IT", O="RSPTEST", OU="TESTCERT", CN="Test CI")
    return issue(subject, key, exts, None, now, now + dt.timedelta(days=35 * 365))


def make_eum(ci: Issued, now: dt.datetime, eid_prefix: str, organisation: str = "RSP Test EUM") -> Issued:
    """CERT.EUM.ECDSA (§4.5.2.1.0.2); nameConstraints permit {O, serialNumber = EID prefix}."""
    key = ec.generate_private_key(ci.key.curve)
    permitted = x509.DirectoryName(name(O=organisation, serialNumber=eid_prefix))
    exts = [(aki_of(ci), False), (ski_of(key), False), (key_usage(cert_sign=True), True),
            (policies("eum"), True), (registered_id("2.999.5"), False), (x509.BasicConstraints(True, 0), True),
            (crl_points(CRL_URIS[1]), False), (x509.NameConstraints([permitted], None), True)]
    return issue(name(C="ES", O=organisation, CN="EUM Test"), key, exts, ci, now,
                 now + dt.timedelta(days=34 * 365))


def make_euicc(eum: Issued, now: dt.datetime, eid: str, organisation: str = "RSP Test EUM") -> Issued:
    """CERT.EUICC.ECDSA (§4.5.2.1.0.3): subject serialNumber is the EID."""
    key = ec.generate_private_key(eum.key.curve)
    exts = [(aki_of(eum), False), (ski_of(key), False), (key_usage(sign=True), True), (policies("euicc"), True)]
    return issue(name(C="ES", O=organisation, serialNumber=eid, CN="Test eUICC"), key, exts, eum, now, NO_EXPIRY)


def make_dp(ci: Issued, now: dt.datetime, role: str, dp_oid: str = "2.999.10",
            host: str = "testsmdpplus1.example.com", cn: str = "TEST SM-DP+") -> Issued:
    """CERT.DPauth.ECDSA / CERT.DPpb.ECDSA / CERT.DP.TLS (§4.5.2.1.0.4-.6); role dp-auth|dp-pb|dp-tls."""
    key = ec.generate_private_key(ci.key.curve)
    if role == "dp-tls":
        san = x509.SubjectAlternativeName([x509.DNSName(host), x509.RegisteredID(x509.ObjectIdentifier(dp_oid))])
        eku = x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH])
        exts = [(key_usage(sign=True), True), (eku, True), (policies(role), False), (ski_of(key), False),
                (aki_of(ci), False), (san, False), (crl_points(*CRL_URIS), False)]
        return issue(name(O="ACME", CN=host), key, exts, ci, now, now + dt.timedelta(days=397))
    exts = [(aki_of(ci), False), (ski_of(key), False), (registered_id(dp_oid), False),
            (key_usage(sign=True), True), (policies(role), True), (crl_points(*CRL_URIS), False)]
    return issue(name(O="ACME", CN=cn), key, exts, ci, now, now + dt.timedelta(days=10 * 365))


def make_sub_ca(issuer: Issued, now: dt.datetime, role: str = "dp-subca", cn: str = "Test SM-DP+ SubCA") -> Issued:
    """An SGP.22 v3.1 sub-CA (``ci-subca``, ``dp-subca`` or ``ds-subca``) under ``issuer``: AKI, SKI,
    basicConstraints cA (critical), keyUsage keyCertSign + cRLSign (critical), its role policy
    (critical), CRL DP; the SM-DP+ / SM-DS certificates it issues carry the v3 role OIDs
    (``make_dp(sub_ca, now, "dp-auth-v3")``)."""
    key = ec.generate_private_key(issuer.key.curve)
    exts = [(aki_of(issuer), False), (ski_of(key), False), (x509.BasicConstraints(True, None), True),
            (key_usage(cert_sign=True, crl_sign=True), True), (policies(role), True),
            (crl_points(*CRL_URIS), False)]
    return issue(name(C="IT", O="RSPTEST", CN=cn), key, exts, issuer, now, now + dt.timedelta(days=20 * 365))


@dataclass(frozen=True)
class Hierarchy:
    """One curve's complete test PKI."""

    ci: Issued
    eum: Issued
    euicc: Issued
    dp_auth: Issued
    dp_pb: Issued
    dp_tls: Issued
    dp_sub_ca: Issued | None = None      # v3.1: DPauth / DPpb issued by this sub-CA (v3 role OIDs)


def make_hierarchy(curve: ec.EllipticCurve, eid: str, now: dt.datetime | None = None,
                   dp_oid: str = "2.999.10", eid_prefix: str | None = None, dp_sub_ca: bool = False) -> Hierarchy:
    """Build CI, EUM (permitting ``eid_prefix``, default the EID's first 8 digits), eUICC, DP certs;
    with ``dp_sub_ca`` CERT.DPauth / CERT.DPpb come from an SM-DP+ sub-CA (SGP.22 v3.1 chain)."""
    if not eid_util.is_valid(eid):
        raise eid_util.EidError(f"{eid} has wrong check digits")
    prefix = eid_prefix or eid[:8]
    if not eid.startswith(prefix):
        raise eid_util.EidError(f"EID {eid} outside EUM prefix {prefix}")
    now = (now or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    ci = make_ci(curve, now)
    eum = make_eum(ci, now, prefix)
    if dp_sub_ca:
        sub = make_sub_ca(ci, now)
        return Hierarchy(ci, eum, make_euicc(eum, now, eid), make_dp(sub, now, "dp-auth-v3", dp_oid),
                         make_dp(sub, now, "dp-pb-v3", dp_oid), make_dp(ci, now, "dp-tls", dp_oid), sub)
    return Hierarchy(ci, eum, make_euicc(eum, now, eid), make_dp(ci, now, "dp-auth", dp_oid),
                     make_dp(ci, now, "dp-pb", dp_oid), make_dp(ci, now, "dp-tls", dp_oid))


def _der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def _sk_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _pk_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def write_hierarchy(h: Hierarchy, out: Path, tag: str) -> list[Path]:
    """Write ``h`` in the SGP.26 folder layout with file suffix ``tag`` (NIST/BRP)."""
    files = {
        f"CertificateIssuer/CERT_CI_ECDSA_{tag}.der": _der(h.ci.cert),
        f"CertificateIssuer/CERT_CI_ECDSA_{tag}.pem": h.ci.cert.public_bytes(serialization.Encoding.PEM),
        f"CertificateIssuer/SK_CI_ECDSA_{tag}.pem": _sk_pem(h.ci.key),
    }
    for folder, stem, item in (("EUM", "EUM_ECDSA", h.eum), ("eUICC", "EUICC_ECDSA", h.euicc),
                               ("DPauth", "S_SM_DPauth_ECDSA", h.dp_auth), ("DPpb", "S_SM_DPpb_ECDSA", h.dp_pb)):
        files[f"{folder}/CERT_{stem}_{tag}.der"] = _der(item.cert)
        files[f"{folder}/PK_{stem}_{tag}.pem"] = _pk_pem(item.key)
        files[f"{folder}/SK_{stem}_{tag}.pem"] = _sk_pem(item.key)
    if h.dp_sub_ca is not None:
        files[f"DPSubCA/CERT_S_SM_DPSubCA_ECDSA_{tag}.der"] = _der(h.dp_sub_ca.cert)
    files[f"DPtls/CERT_S_SM_DP_VARO_TLS_{tag}.der"] = _der(h.dp_tls.cert)
    files[f"DPtls/PK_S_SM_DP_TLS_{tag}.pem"] = _pk_pem(h.dp_tls.key)
    files[f"DPtls/SK_S_SM_DP_TLS_{tag}.pem"] = _sk_pem(h.dp_tls.key)
    written = []
    for rel, data in files.items():
        path = Path(out) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        written.append(path)
    return written
