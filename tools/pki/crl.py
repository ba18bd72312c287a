"""CRLs of the test RSP PKI (host side): RFC 5280 §5 X.509 v2 CRLs signed with ECDSA-SHA256 by a CA
of the hierarchy (the CI, a sub-CA), as SGP.22 §4.6 (CRL-A / CRL-B) and v3.1 CRL stapling
(AuthenticateServer / InitiateAuthentication ``crlList``) use them: authorityKeyIdentifier (the
CA's SKI) and cRLNumber extensions, thisUpdate / nextUpdate, revoked serial numbers.

Written independently of the card code (``euicc/``).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

DEFAULT_VALIDITY = dt.timedelta(days=30)


def make_crl(issuer_cert: x509.Certificate, issuer_key: ec.EllipticCurvePrivateKey, revoked: Iterable[int] = (),
             this_update: dt.datetime | None = None, next_update: dt.datetime | None = None,
             number: int = 1) -> bytes:
    """The DER CRL of ``issuer_cert``'s CA listing ``revoked`` serial numbers, signed with
    ``issuer_key`` (another key than the CA's makes a badly signed CRL for tests).  Valid from
    ``this_update`` (default now) to ``next_update`` (default 30 days later)."""
    start = (this_update or dt.datetime.now(dt.timezone.utc)).replace(microsecond=0)
    ski = issuer_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    builder = (x509.CertificateRevocationListBuilder().issuer_name(issuer_cert.subject)
               .last_update(start).next_update(next_update or start + DEFAULT_VALIDITY)
               .add_extension(x509.AuthorityKeyIdentifier(ski, None, None), False)
               .add_extension(x509.CRLNumber(number), False))
    for serial in revoked:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(start).build())
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
