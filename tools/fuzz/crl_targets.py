"""Fuzz target for CRL stapling on the card (SGP.22 v3.1 AuthenticateServer ``crlList``;
euicc.rsp.crl_stapling): the input is the content of ``crlList`` (DER CRLs one after the other),
checked against a fixed chain, the shipped test PKI's CERT.DPauth under its CI
(tools/pki/test_pki), with crlStaplingV3Used TRUE.

Checked: the rules end in acceptance or a CertificateRejected whose code is one of the five CRL
codes of the v3.1 AuthenticateErrorCode (missingCrl 9 .. invalidCertOrCrlConfiguration 13); an
accepted list has a CRL of the CI that verifies with the CI's key (pyca/cryptography's own check).
"""
from __future__ import annotations

from functools import cached_property
from pathlib import Path

from cryptography import x509

from euicc import tlv
from euicc.apdu import SwError
from euicc.crypto.certificates import CertificateRejected, CertResult
from euicc.rsp import crl_stapling, der
from tools.fuzz.invariants import InvariantViolation

PKI = Path(__file__).resolve().parents[1] / "pki" / "test_pki"
CRL_CODES = frozenset(range(CertResult.MISSING_CRL, CertResult.INVALID_CERT_OR_CRL_CONFIGURATION + 1))
NOW = 1_800_000_000.0          # 2027-01-15: inside the seeds' CRLs' validity [fixed, reproducible]


class CrlStaplingTarget:
    """crl_stapling.check over a fuzzed crlList (module docstring)."""

    @cached_property
    def ci(self) -> x509.Certificate:
        return x509.load_der_x509_certificate((PKI / "CertificateIssuer" / "CERT_CI_ECDSA_NIST.der").read_bytes())

    @cached_property
    def server(self) -> bytes:
        return (PKI / "DPauth" / "CERT_S_SM_DPauth_ECDSA_NIST.der").read_bytes()

    def __call__(self, data: bytes) -> None:
        raw = [b"", b"", self.server, b"\xa0\x00", tlv.tlv(crl_stapling.CRL_LIST, bytes(data))]
        try:
            crls = der.children(raw[-1])
        except SwError:
            return
        ski = self.ci.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        cert = x509.load_der_x509_certificate(self.server)
        chain = [crl_stapling.ChainCertificate(cert.serial_number, ski)]
        request = {"serverSigned1": {"sessionContext": {"crlStaplingV3Used": True}}}
        try:
            crl_stapling.check(request, raw, chain, {ski: self.ci.public_key()}, NOW)
        except CertificateRejected as exc:
            if exc.result not in CRL_CODES:
                raise InvariantViolation(f"crlList refused with {exc.result}") from None
            return
        if not any(_verifies(c, self.ci) for c in crls):
            raise InvariantViolation("a crlList without a valid CI CRL was accepted")


def _verifies(item: bytes, ci: x509.Certificate) -> bool:
    try:
        return x509.load_der_x509_crl(item).is_signature_valid(ci.public_key())
    except (ValueError, TypeError):
        return False


def seeds() -> list[bytes]:
    """Good, revoking, expired and badly signed CRLs of the shipped test CI (tools.pki.crl)."""
    import datetime as dt

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from tools.pki.crl import make_crl
    target = CrlStaplingTarget()
    key = serialization.load_pem_private_key((PKI / "CertificateIssuer" / "SK_CI_ECDSA_NIST.pem").read_bytes(), None)
    serial = x509.load_der_x509_certificate(target.server).serial_number
    start = dt.datetime.fromtimestamp(NOW, dt.timezone.utc) - dt.timedelta(days=1)
    good = make_crl(target.ci, key, [serial + 1], start)
    return [good, make_crl(target.ci, key, [serial], start),
            make_crl(target.ci, key, (), start - dt.timedelta(days=90), start - dt.timedelta(days=60)),
            make_crl(target.ci, ec.generate_private_key(ec.SECP256R1()), (), start), good + good, b""]
