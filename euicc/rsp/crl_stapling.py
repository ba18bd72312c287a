"""CRL stapling on the eUICC: SGP.22 v3.1 §5.7.13 ES10b.AuthenticateServer ``crlList`` [2] (RFC 5280
CRLs the RSP Server attaches, announced by ``serverSigned1.sessionContext.crlStaplingV3Used``),
EuiccRspCapability crlStaplingV3Support (15), and the AuthenticateErrorCode values missingCrl (9),
invalidCrlSignature (10), revokedCert (11), invalidCertOrCrlTime (12) and
invalidCertOrCrlConfiguration (13).  v3 replaces ES10b.LoadCRL (:mod:`euicc.rsp.crl`) by this.

[U] The v3.1 clause text was not readable here; the rules below are this card's reading (each is
pinned by tests/rsp/test_crl_stapling.py).  They run after the certificate chain and
serverSignature1 verified (:func:`euicc.rsp.trust.check_server`), in a v3 session of a card with
the setting ``EuiccInfoSettings.crl_stapling``; otherwise ``crlList`` is ignored as before v3.

1. ``crlStaplingV3Used`` FALSE (or no sessionContext) with a ``crlList``:
   invalidCertOrCrlConfiguration (13); TRUE without one: missingCrl (9).
2. Every CRL must be an RFC 5280 CRL signed with ECDSA-SHA256 whose authorityKeyIdentifier names a
   CA of the chain (the CI or an ``otherCertsInChain`` sub-CA): else invalidCertOrCrlConfiguration.
3. Each CA that issued a certificate of the chain (CERT.XXauth, the sub-CAs) must have a CRL:
   missingCrl (9).
4. Each CRL must verify with its CA's public key: invalidCrlSignature (10).
5. thisUpdate <= the card's time <= nextUpdate (nextUpdate present), the time being the RSP
   runtime's clock (:class:`euicc.rsp.runtime.RspRuntime`): invalidCertOrCrlTime (12).
6. A certificate of the chain whose serial number its issuer's CRL lists: revokedCert (11).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes

from euicc.crypto.cert_identity import EuiccIdentity
from euicc.crypto.certificates import MALFORMED, CertificateRejected, CertResult, VerifiedCertificate
from euicc.rsp import der

MISSING_CRL, INVALID_CRL_SIGNATURE = CertResult.MISSING_CRL, CertResult.INVALID_CRL_SIGNATURE
REVOKED_CERT, INVALID_TIME = CertResult.REVOKED_CERT, CertResult.INVALID_CERT_OR_CRL_TIME
INVALID_CONFIGURATION = CertResult.INVALID_CERT_OR_CRL_CONFIGURATION
CERTIFICATE, CRL_LIST = 0x30, 0xA2


@dataclass(frozen=True)
class ChainCertificate:
    """One certificate of the server's chain: its serial number and the SKI of its issuer."""

    serial_number: int
    issuer_ski: bytes


def _aki(item: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    """authorityKeyIdentifier.keyIdentifier, b"" when absent or malformed (extensions parse lazily)."""
    try:
        return item.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier or b""
    except MALFORMED + (x509.ExtensionNotFound,):
        return b""


def chain_of(ident: EuiccIdentity, server: VerifiedCertificate,
             intermediates: Sequence[bytes]) -> tuple[list[ChainCertificate], dict[bytes, Any]]:
    """The chain's certificates and its CAs (SKI -> public key): the CI and each sub-CA.  The chain
    verified already, so the intermediates parse and the CI is a trusted one."""
    subs = [x509.load_der_x509_certificate(bytes(c)) for c in intermediates]
    cas: dict[bytes, Any] = {c.pkid: c.public_key for c in ident.trusted_cis() if c.pkid == server.ci_pkid}
    for sub in subs:
        cas[sub.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest] = sub.public_key()
    return [ChainCertificate(c.serial_number, _aki(c)) for c in (server.certificate, *subs)], cas


def check(request: dict[str, Any], raw: list[bytes], chain: list[ChainCertificate], cas: Mapping[bytes, Any],
          now: float) -> None:
    """The module docstring's rules for one AuthenticateServerRequest (decoded ``request``, its raw
    members ``raw``); raises CertificateRejected."""
    used = request["serverSigned1"].get("sessionContext", {}).get("crlStaplingV3Used", False)
    position = next(i for i in range(2, len(raw)) if raw[i][0] == CERTIFICATE)     # serverCertificate
    stapled = [r for r in raw[position + 2:] if r[0] == CRL_LIST]                  # after ctxParams1
    if not used:
        if stapled:
            raise CertificateRejected(INVALID_CONFIGURATION, "crlList without crlStaplingV3Used")
        return
    if not stapled:
        raise CertificateRejected(MISSING_CRL, "crlStaplingV3Used without crlList")
    crls: dict[bytes, tuple[x509.CertificateRevocationList, frozenset[int]]] = {}
    for item in der.children(stapled[0]):
        crl, revoked = _parse(item)
        if _aki(crl) not in cas:
            raise CertificateRejected(INVALID_CONFIGURATION, "a CRL of a CA outside the chain")
        crls[_aki(crl)] = crl, revoked
    at = dt.datetime.fromtimestamp(now, dt.timezone.utc)
    for cert in chain:
        if cert.issuer_ski not in crls:
            raise CertificateRejected(MISSING_CRL, f"no CRL of CA {cert.issuer_ski.hex()}")
        crl, revoked = crls[cert.issuer_ski]
        if not _signed_by(crl, cas[cert.issuer_ski]):
            raise CertificateRejected(INVALID_CRL_SIGNATURE, f"CRL of CA {cert.issuer_ski.hex()} does not verify")
        if crl.next_update_utc is None or not crl.last_update_utc <= at <= crl.next_update_utc:
            raise CertificateRejected(INVALID_TIME, f"CRL of CA {cert.issuer_ski.hex()} not valid at {at.isoformat()}")
        if cert.serial_number in revoked:
            raise CertificateRejected(REVOKED_CERT, f"certificate {cert.serial_number:x} revoked")


def _parse(item: bytes) -> tuple[x509.CertificateRevocationList, frozenset[int]]:
    """One stapled CRL and its revoked serial numbers, every part parsed now (cryptography parses
    lazily, so a malformed part would otherwise raise later)."""
    try:
        crl = x509.load_der_x509_crl(bytes(item))
        algorithm = crl.signature_hash_algorithm
        _ = crl.extensions, crl.last_update_utc, crl.next_update_utc
        revoked = frozenset(r.serial_number for r in crl)
    except MALFORMED + (x509.ExtensionNotFound,):
        raise CertificateRejected(INVALID_CONFIGURATION, "not an RFC 5280 CRL") from None
    if not isinstance(algorithm, hashes.SHA256) or not _aki(crl):
        raise CertificateRejected(INVALID_CONFIGURATION, "CRL not ECDSA-SHA256 or without authorityKeyIdentifier")
    return crl, revoked


def _signed_by(crl: x509.CertificateRevocationList, key: Any) -> bool:
    try:
        return crl.is_signature_valid(key)
    except (ValueError, TypeError, InvalidSignature):
        return False
