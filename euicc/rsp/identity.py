"""The eUICC's RSP identity in the ECASD: SGP.22 v2.5 §2.2.2 (ECASD content) and §4.5.2.1.0.3.

The identity (SK.EUICC.ECDSA, CERT.EUICC.ECDSA, CERT.EUM.ECDSA per supported CI, and the trusted
CI certificates) is kept in the card's persistent store under :data:`euicc.rsp.keys.IDENTITY`;
the private scalars never leave through an APDU (only :func:`load` reads them, to sign).

First run (:func:`create_default`): the package ships the manufacturing part of a test CI + EUM
hierarchy for NIST P-256 and brainpoolP256r1 in ``euicc/test_eum`` (the CI certificates, the EUM
certificates and private keys; the whole hierarchy is the host's ``tools/pki/test_pki``), so each
new card issues its own CERT.EUICC.ECDSA over a fresh key pair (the runtime's ``generate_key``,
issued at its ``clock``) with the card's EID as subject serialNumber (inside the EUM's EID-prefix
constraint).
:func:`import_identity` replaces it by one read from a directory in the GSMA SGP.26 layout.
"""
from __future__ import annotations

import datetime as dt
from importlib import resources
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from euicc import keys as card_keys
from euicc.crypto.certificates import CertificateRejected, Role
from euicc.crypto.cert_identity import EuiccCredential, EuiccIdentity, IdentityError
from euicc.nvm import Store
from euicc.rsp import keys as rsp_keys
from euicc.rsp.runtime import RspRuntime

TEST_EUM = "test_eum"     # package data of euicc (see euicc/test_eum/README.md)
CURVE_TAGS = ("NIST", "BRP")
NO_EXPIRY = dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.timezone.utc)
"""RFC 5280 §4.1.2.5 GeneralizedTime 99991231235959Z: no well-defined expiration date."""

__all__ = ["IdentityError", "create_default", "import_identity", "load", "store_identity"]


def load(store: Store) -> EuiccIdentity:
    """The card's identity; IdentityError when none is stored."""
    state = store.get(rsp_keys.IDENTITY)
    if state is None:
        raise IdentityError("the card has no eUICC identity")
    return EuiccIdentity.from_state(state)


def store_identity(store: Store, identity: EuiccIdentity) -> str:
    """Check every chain (eUICC -> EUM -> CI, EID in the EUM range) and store; return the EID.

    The card's EID becomes the one of CERT.EUICC.ECDSA (SGP.22 §4.5.2.1.0.3).
    """
    try:
        eid = identity.check()
    except CertificateRejected as exc:
        raise IdentityError(f"identity rejected: {exc}") from None
    store.put(rsp_keys.IDENTITY, identity.to_state())
    store.put(card_keys.EID, bytes.fromhex(eid))
    return eid


def import_identity(store: Store, directory: Path) -> str:
    """Import ``eUICC/``, ``EUM/``, ``CertificateIssuer/`` of an SGP.26-layout directory
    (``euicc-emu identity import DIR``) in one transaction; return the new EID."""
    identity = EuiccIdentity.from_sgp26_layout(Path(directory))
    with store.transaction():
        return store_identity(store, identity)


def _issue_euicc_certificate(eum_key: ec.EllipticCurvePrivateKey, eum: x509.Certificate, eid: str,
                             key: ec.EllipticCurvePrivateKey, issued: dt.datetime) -> bytes:
    """CERT.EUICC.ECDSA (SGP.22 §4.5.2.1.0.3): subject C and O of the EUM, serialNumber = EID;
    AKI = EUM SKI, SKI, keyUsage digitalSignature (critical), policy id-rspRole-euicc (critical)."""
    attrs = [a for a in eum.subject if a.oid in (NameOID.COUNTRY_NAME, NameOID.ORGANIZATION_NAME)]
    subject = x509.Name(attrs + [x509.NameAttribute(NameOID.SERIAL_NUMBER, eid),
                                 x509.NameAttribute(NameOID.COMMON_NAME, "euicc-emu eUICC")])
    eum_ski = eum.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    policy = x509.CertificatePolicies([x509.PolicyInformation(Role.EUICC.oid, None)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(eum.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(issued).not_valid_after(NO_EXPIRY)
            .add_extension(x509.AuthorityKeyIdentifier(eum_ski, None, None), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(usage, True).add_extension(policy, True)
            .sign(eum_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def create_default(store: Store, eid: str, runtime: RspRuntime = RspRuntime()) -> None:
    """First run: a fresh eUICC key pair and certificate per shipped test CI (NIST, BRP)."""
    base = resources.files("euicc").joinpath(TEST_EUM)
    issued = dt.datetime.fromtimestamp(int(runtime.clock()), dt.timezone.utc)
    credentials, cis = [], []
    for tag in CURVE_TAGS:
        eum_der = base.joinpath("EUM", f"CERT_EUM_ECDSA_{tag}.der").read_bytes()
        eum_key = serialization.load_pem_private_key(
            base.joinpath("EUM", f"SK_EUM_ECDSA_{tag}.pem").read_bytes(), password=None)
        if not isinstance(eum_key, ec.EllipticCurvePrivateKey):
            raise IdentityError("the shipped test EUM key is not an EC key")
        key = runtime.generate_key(eum_key.curve)
        cert = _issue_euicc_certificate(eum_key, x509.load_der_x509_certificate(eum_der), eid, key, issued)
        credentials.append(EuiccCredential(key, cert, eum_der))
        cis.append(base.joinpath("CertificateIssuer", f"CERT_CI_ECDSA_{tag}.der").read_bytes())
    store_identity(store, EuiccIdentity(credentials, cis))
