"""CRL stapling at the test SM-DP+: SGP.22 v3.1 ES9+.InitiateAuthentication ``crlList`` [2] and
``serverSigned1.sessionContext.crlStaplingV3Used``.

The SM-DP+ holds DER CRLs (``smdpp serve --crl FILE``, made e.g. with ``euicc-emu pki crl``).  In a
v3 session with an eUICC whose EUICCInfo1 ``euiccRspCapability`` has crlStaplingV3Support (15) it
staples the CRLs of the CAs of its chain (the CI and the sub-CAs of ``otherCertsInChain``, matched
by the CRL's authorityKeyIdentifier) and sets crlStaplingV3Used TRUE; else it sends none and
crlStaplingV3Used FALSE.  [U] The v3.1 clause text was not readable here (it also weighs the LPA's
lpaRspCapability, which this SM-DP+ does not receive).
"""
from __future__ import annotations

from collections.abc import Sequence

import asn1tools
from cryptography import x509

from euicc.asn1 import rsp3
from tools.smdpp.certificates import CredentialSet, subject_key_id

CRL_STAPLING_V3_SUPPORT = 15        # EuiccRspCapability crlStaplingV3Support


def euicc_supports(euicc_info1: bytes) -> bool:
    """EUICCInfo1 (v3 form) announces crlStaplingV3Support."""
    try:
        data, size = rsp3().decode("EUICCInfo1", euicc_info1).get("euiccRspCapability", (b"", 0))
    except (asn1tools.Error, ValueError, KeyError, IndexError, TypeError):
        return False
    bit = CRL_STAPLING_V3_SUPPORT
    return size > bit and len(data) > bit // 8 and bool(data[bit // 8] & (0x80 >> bit % 8))


def crl_list(crls: Sequence[bytes], cred: CredentialSet) -> list[bytes]:
    """The CRLs (DER) of the CAs of ``cred``'s chain, in the order they were given."""
    cas = {cred.ci_pkid} | {subject_key_id(c) for c in cred.chain}
    return [c for c in crls if _aki(c) in cas]


def _aki(crl: bytes) -> bytes | None:
    try:
        return x509.load_der_x509_crl(crl).extensions.get_extension_for_class(
            x509.AuthorityKeyIdentifier).value.key_identifier
    except (ValueError, x509.ExtensionNotFound):
        return None
