"""LoadCRL: SGP.22 v2.5 §5.7.x ES10b.LoadCRL and §4.6 (CRL-A issued by a CI; removed in v3).

The CRL must be an X.509 v2 CRL (RFC 5280 §5) signed by a CI the eUICC trusts (found by its
authorityKeyIdentifier).  The revoked serial numbers are kept per CI under
``rsp/crl/<CI PKID hex>`` and consulted when verifying SM-DP+ certificates.  Partial CRLs
(``id-rsp-partialCrlNumber``) are accepted one at a time; ``missingParts`` is not reported.
"""
from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from euicc.crypto.cert_identity import EuiccIdentity
from euicc.nvm import Store
from euicc.rsp import keys as rsp_keys

INVALID_SIGNATURE, INVALID_CRL_FORMAT, VERIFICATION_KEY_NOT_FOUND = 1, 2, 4




def load(store: Store, identity: EuiccIdentity, certificate_list: bytes) -> int:
    """Verify and keep one CRL; returns 0 or the LoadCRLResponseError code."""
    try:
        crl = x509.load_der_x509_crl(certificate_list)
        aki = crl.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
        serials = tuple(sorted(r.serial_number for r in crl))
        algorithm = crl.signature_hash_algorithm
    except (ValueError, x509.ExtensionNotFound, TypeError):
        return INVALID_CRL_FORMAT
    if not isinstance(algorithm, hashes.SHA256):
        return INVALID_CRL_FORMAT
    ci = {c.pkid: c for c in identity.trusted_cis()}.get(aki or b"")
    if ci is None:
        return VERIFICATION_KEY_NOT_FOUND
    if not isinstance(ci.public_key, ec.EllipticCurvePublicKey) or not crl.is_signature_valid(ci.public_key):
        return INVALID_SIGNATURE
    known = set(store.get(rsp_keys.crl(ci.pkid), ()))
    store.put(rsp_keys.crl(ci.pkid), tuple(sorted(known.union(serials))))
    return 0


def is_revoked(store: Store, ci_pkid: bytes, serial_number: int) -> bool:
    return serial_number in store.get(rsp_keys.crl(ci_pkid), ())
