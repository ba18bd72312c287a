"""§5.7.13 AuthenticateServer / §5.7.17 PrepareDownload certificate + signature steps.

Signatures are made host-side (cryptography, r||s built in the test) with the published SGP.26
SM-DP+ keys, so the card's r||s handling is checked against an independent encoder.
"""
from __future__ import annotations

import pytest

from euicc.crypto.cert_server import check_authenticate_server, check_prepare_download
from euicc.crypto.certificates import (
    CertificateRejected,
    CertificateVerifier,
    CertResult,
    DownloadErrorCode,
    Role,
    TrustedCi,
)
from tests.pki.pki_helpers import CI_PKID, host_sign

# A serverSigned1-shaped DER blob: 30 { 80 txId, 81 euiccChallenge, 83 serverAddress, 84 serverChallenge }
SERVER_SIGNED1 = bytes.fromhex(
    "303b" "8010" "00112233445566778899aabbccddeeff" "8110" + "0f" * 16 + "8303616263" "8410" + "a5" * 16)
SMDP_SIGNED2 = bytes.fromhex("3015" "8010" + "00112233445566778899aabbccddeeff" + "010100")
EUICC_SIGNATURE1 = bytes(range(64))


def verifier(ref) -> CertificateVerifier:
    return CertificateVerifier.from_cis([TrustedCi.from_certificate(ref.ci)])


def auth_key(ref):
    return ref.key("DPauth/SK_S_SM_DPauth_ECDSA_{t}.pem")


def pb_key(ref):
    return ref.key("DPpb/SK_S_SM_DPpb_ECDSA_{t}.pem")


def authenticate(ref, **overrides):
    args = dict(verifier=verifier(ref), server_certificate=ref.dp_auth, euicc_ci_pkid_to_be_used=CI_PKID[ref.tag],
                server_signed1=SERVER_SIGNED1, server_signature1=host_sign(auth_key(ref), SERVER_SIGNED1))
    args.update(overrides)
    return check_authenticate_server(**args)


def test_authenticate_server_nominal(ref):
    dp = authenticate(ref, signing_pkids=[CI_PKID[ref.tag]])
    assert dp.role is Role.DP_AUTH and dp.ci_pkid == CI_PKID[ref.tag]


def test_authenticate_server_empty_ci_pkid_uses_certificate_aki(ref):
    assert authenticate(ref, euicc_ci_pkid_to_be_used=b"").ci_pkid == CI_PKID[ref.tag]


def test_authenticate_server_tampered_signature(ref):
    sig = bytearray(host_sign(auth_key(ref), SERVER_SIGNED1))
    sig[10] ^= 0x40
    with pytest.raises(CertificateRejected) as info:
        authenticate(ref, server_signature1=bytes(sig))
    assert info.value.result is CertResult.INVALID_SIGNATURE


def test_authenticate_server_signature_over_other_data(ref):
    with pytest.raises(CertificateRejected) as info:
        authenticate(ref, server_signed1=SERVER_SIGNED1 + b"\x00")
    assert info.value.result is CertResult.INVALID_SIGNATURE


def test_authenticate_server_der_signature_is_not_accepted(ref):
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    der = auth_key(ref).sign(SERVER_SIGNED1, ec.ECDSA(hashes.SHA256()))  # 70..72 bytes, not r||s
    with pytest.raises(CertificateRejected) as info:
        authenticate(ref, server_signature1=der)
    assert info.value.result is CertResult.INVALID_SIGNATURE


def test_authenticate_server_ci_not_for_signing(ref):
    with pytest.raises(CertificateRejected) as info:
        authenticate(ref, signing_pkids=[bytes(20)])
    assert info.value.result is CertResult.CI_PK_UNKNOWN


def test_authenticate_server_unknown_ci_pkid(ref):
    with pytest.raises(CertificateRejected) as info:
        authenticate(ref, euicc_ci_pkid_to_be_used=bytes(20))
    assert info.value.result is CertResult.CI_PK_UNKNOWN


def test_authenticate_server_pb_certificate_is_invalid_oid(ref):
    sig = host_sign(pb_key(ref), SERVER_SIGNED1)
    with pytest.raises(CertificateRejected) as info:
        authenticate(ref, server_certificate=ref.dp_pb, server_signature1=sig)
    assert info.value.result is CertResult.INVALID_OID


def prepare(ref, dp_auth, **overrides):
    signed = SMDP_SIGNED2 + bytes.fromhex("5F3740") + EUICC_SIGNATURE1  # §5.7.17 input, built here
    args = dict(verifier=verifier(ref), dp_auth=dp_auth, dp_pb_certificate=ref.dp_pb, smdp_signed2=SMDP_SIGNED2,
                smdp_signature2=host_sign(pb_key(ref), signed), euicc_signature1=EUICC_SIGNATURE1)
    args.update(overrides)
    return check_prepare_download(**args)


def test_prepare_download_nominal(ref):
    dp_pb = prepare(ref, authenticate(ref))
    assert dp_pb.role is Role.DP_PB and dp_pb.rsp_oid.dotted_string == "2.999.10"


def test_prepare_download_other_smdp_oid(ref):
    # CERT.DP2pb (SM-DP+2, OID 2.999.12) with the session's CERT.DPauth (2.999.10)
    with pytest.raises(CertificateRejected) as info:
        prepare(ref, authenticate(ref), dp_pb_certificate=ref.dp2_pb)
    assert info.value.download_error is DownloadErrorCode.INVALID_CERTIFICATE


def test_prepare_download_signature_without_euicc_signature1(ref):
    sig = host_sign(pb_key(ref), SMDP_SIGNED2)  # signed only smdpSigned2: wrong input
    with pytest.raises(CertificateRejected) as info:
        prepare(ref, authenticate(ref), smdp_signature2=sig)
    assert info.value.download_error is DownloadErrorCode.INVALID_SIGNATURE


def test_prepare_download_auth_cert_in_pb_place(ref):
    with pytest.raises(CertificateRejected) as info:
        prepare(ref, authenticate(ref), dp_pb_certificate=ref.dp_auth)
    assert info.value.download_error is DownloadErrorCode.INVALID_CERTIFICATE


def test_prepare_download_pb_from_other_ci(sgp26):
    from tests.pki.pki_helpers import Sgp26
    nist, brp = Sgp26(sgp26, "NIST"), Sgp26(sgp26, "BRP")
    both = CertificateVerifier.from_cis([TrustedCi.from_certificate(nist.ci), TrustedCi.from_certificate(brp.ci)])
    dp_auth = authenticate(nist, verifier=both)
    with pytest.raises(CertificateRejected) as info:
        prepare(nist, dp_auth, verifier=both, dp_pb_certificate=brp.dp_pb)
    assert info.value.download_error is DownloadErrorCode.INVALID_CERTIFICATE
