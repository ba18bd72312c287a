"""Server certificate and signature checks of ES10b AuthenticateServer and PrepareDownload.

SGP.22 v2.5 §5.7.13 (AuthenticateServer) and §5.7.17 (PrepareDownload), certificate and
signature steps only; the session checks (euiccChallenge, transactionId) belong to the ISD-R.
Signed data per §5.7.13/§5.7.17 (and SGP.22 §3.1.3 / §3.1.3.2):

* serverSignature1 is over the DER of serverSigned1;
* smdpSignature2 is over DER(smdpSigned2) || ``5F37 40`` || euiccSignature1.

Failures raise :class:`~euicc.crypto.certificates.CertificateRejected`; ``.result`` is the
AuthenticateErrorCode, ``.download_error`` the PrepareDownload DownloadErrorCode.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from euicc.crypto.certificates import (
    SERVER_AUTH_ROLES,
    CertificateRejected,
    CertificateVerifier,
    CertResult,
    Role,
    VerifiedCertificate,
    verify_signature,
)

EUICC_SIGNATURE1_PREFIX = bytes.fromhex("5F3740")
"""Tag 5F37 and length 64 of euiccSignature1, part of the smdpSignature2 input (§5.7.17)."""


def check_authenticate_server(
    verifier: CertificateVerifier,
    server_certificate: bytes,
    euicc_ci_pkid_to_be_used: bytes,
    server_signed1: bytes,
    server_signature1: bytes,
    signing_pkids: Iterable[bytes] | None = None,
    other_certs_in_chain: Sequence[bytes] = (),
) -> VerifiedCertificate:
    """§5.7.13: CERT.XXauth.ECDSA (dp-auth or ds-auth) chains to the CI to be used, then
    serverSignature1 verifies.  ``signing_pkids`` is euiccCiPKIdListForSigning: a CI for which the
    eUICC holds no certificate -> ciPKUnknown.  An empty euiccCiPKIdToBeUsed (v3) lets the
    certificate's own AKI choose the CI."""
    pkid = bytes(euicc_ci_pkid_to_be_used) or None
    if pkid is not None and signing_pkids is not None and pkid not in {bytes(p) for p in signing_pkids}:
        raise CertificateRejected(CertResult.CI_PK_UNKNOWN, "no eUICC certificate for this CI")
    server = verifier.verify_chain(server_certificate, SERVER_AUTH_ROLES, pkid, other_certs_in_chain)
    verify_signature(server.public_key, server_signed1, server_signature1)
    return server


def check_prepare_download(
    verifier: CertificateVerifier,
    dp_auth: VerifiedCertificate,
    dp_pb_certificate: bytes,
    smdp_signed2: bytes,
    smdp_signature2: bytes,
    euicc_signature1: bytes,
    other_certs_in_chain: Sequence[bytes] = (),
) -> VerifiedCertificate:
    """§5.7.17: CERT.DPpb.ECDSA chains to the same CI as CERT.DPauth.ECDSA, carries the same
    SM-DP+ OID (subjectAltName registeredID), and smdpSignature2 verifies.  Codes are those of
    DownloadErrorCode via ``CertificateRejected.download_error``."""
    dp_pb = verifier.verify_chain(dp_pb_certificate, (Role.DP_PB,), dp_auth.ci_pkid, other_certs_in_chain)
    if dp_auth.rsp_oid is None or dp_pb.rsp_oid != dp_auth.rsp_oid:
        raise CertificateRejected(CertResult.INVALID_CERTIFICATE, "CERT.DPpb OID differs from CERT.DPauth")
    signed = bytes(smdp_signed2) + EUICC_SIGNATURE1_PREFIX + bytes(euicc_signature1)
    verify_signature(dp_pb.public_key, signed, smdp_signature2)
    return dp_pb
