"""SGP.22 §4.5.2 chain rules on the card, against the published SGP.26 test PKI.

Positive cases are the GSMA-published certificates; negative cases are certificates re-issued
host-side (tools.pki, cryptography) with the published SGP.26 private keys.
"""
from __future__ import annotations

import datetime as dt
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from hypothesis import given, settings
from hypothesis import strategies as st

from euicc.crypto.certificates import (
    SERVER_AUTH_ROLES,
    CertificateRejected,
    CertificateRules,
    CertificateVerifier,
    CertResult,
    DownloadErrorCode,
    Role,
    TrustedCi,
    der_to_rs,
    eid_is_valid,
    rs_to_der,
)
from tests.pki.pki_helpers import CI_PKID, EID1, sgp26_ci, sgp26_eum
from tools.pki import hierarchy as h

NOW = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)


def verifier(ref, **rules) -> CertificateVerifier:
    return CertificateVerifier.from_cis([TrustedCi.from_certificate(ref.ci)], CertificateRules(**rules))


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.DER)


def rejected(call, *args, **kwargs) -> CertificateRejected:
    with pytest.raises(CertificateRejected) as info:
        call(*args, **kwargs)
    return info.value


def dp_cert(issuer, *, role="dp-auth", key=None, aki=None, issuer_name=None):
    """A DPauth-profile certificate (§4.5.2.1.0.4) signed by ``issuer``, with optional defects:
    another curve's ``key``, a wrong ``aki``, or an ``issuer_name`` other than the issuer's subject."""
    key = key or ec.generate_private_key(issuer.key.curve)
    exts = [(aki or h.aki_of(issuer), False), (h.ski_of(key), False), (h.registered_id("2.999.10"), False),
            (h.key_usage(sign=True), True), (h.policies(role), True)]
    if issuer_name is not None:
        issuer = h.Issued(issuer.key, _renamed(issuer_name))
    return h.issue(h.name(O="ACME", CN="TEST SM-DP+"), key, exts, issuer, NOW, NOW + dt.timedelta(days=30))


def _renamed(subject: x509.Name) -> x509.Certificate:
    """A throw-away certificate whose subject is ``subject`` (only its name is used as issuer)."""
    key = ec.generate_private_key(ec.SECP256R1())
    return (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(1).not_valid_before(NOW).not_valid_after(NOW + dt.timedelta(days=1))
            .sign(key, hashes.SHA256()))


# --- the published chain verifies -----------------------------------------------------------

def test_ci_pkid_is_published_ski(ref):
    ci = TrustedCi.from_certificate(ref.ci)
    assert ci.pkid == CI_PKID[ref.tag]
    assert ci.public_key.curve.name == {"NIST": "secp256r1", "BRP": "brainpoolP256r1"}[ref.tag]


@pytest.mark.parametrize("attr, roles, expected", [
    ("dp_auth", SERVER_AUTH_ROLES, Role.DP_AUTH),
    ("dp_pb", (Role.DP_PB,), Role.DP_PB),
    ("dp2_pb", (Role.DP_PB,), Role.DP_PB),
    ("dp_tls", (Role.DP_TLS,), Role.DP_TLS),
])
def test_sgp26_server_certificates_verify(ref, attr, roles, expected):
    result = verifier(ref, validity_time=NOW).verify_chain(getattr(ref, attr), roles, CI_PKID[ref.tag])
    assert result.role is expected
    assert result.ci_pkid == CI_PKID[ref.tag]


def test_sgp26_dp_oids(ref):
    v = verifier(ref)
    assert v.verify_chain(ref.dp_auth, SERVER_AUTH_ROLES).rsp_oid.dotted_string == "2.999.10"
    assert v.verify_chain(ref.dp2_pb, (Role.DP_PB,)).rsp_oid.dotted_string == "2.999.12"


def test_sgp26_euicc_chain_verifies(ref):
    euicc, eid = verifier(ref, validity_time=NOW).verify_euicc_chain(ref.euicc, ref.eum)
    assert eid == EID1
    assert euicc.role is Role.EUICC and euicc.ci_pkid == CI_PKID[ref.tag]


def test_role_oid_values():
    # SGP.22 RSPDefinitions: id-rspRole = {id-rsp cert-objects(2) 1}, id-rsp = 2.23.146.1
    assert {r.name: r.oid.dotted_string for r in Role} == {
        "CI": "2.23.146.1.2.1.0", "EUICC": "2.23.146.1.2.1.1", "EUM": "2.23.146.1.2.1.2",
        "DP_TLS": "2.23.146.1.2.1.3", "DP_AUTH": "2.23.146.1.2.1.4", "DP_PB": "2.23.146.1.2.1.5",
        "DS_TLS": "2.23.146.1.2.1.6", "DS_AUTH": "2.23.146.1.2.1.7"}


def test_result_codes_are_authenticate_error_codes():
    # AuthenticateErrorCode / DownloadErrorCode in RSPDefinitions (SGP.22 v2.5; 9-13 are v3.1)
    assert [(c.name, c.value) for c in CertResult if c] == [
        ("INVALID_CERTIFICATE", 1), ("INVALID_SIGNATURE", 2), ("UNSUPPORTED_CURVE", 3), ("INVALID_OID", 5),
        ("CI_PK_UNKNOWN", 7), ("MISSING_CRL", 9), ("INVALID_CRL_SIGNATURE", 10), ("REVOKED_CERT", 11),
        ("INVALID_CERT_OR_CRL_TIME", 12), ("INVALID_CERT_OR_CRL_CONFIGURATION", 13), ("UNDEFINED_ERROR", 127)]
    assert [c.value for c in DownloadErrorCode] == [1, 2, 3, 4, 5, 127]


# --- each failure with its code ---------------------------------------------------------------

def test_tampered_certificate_signature(ref):
    data = bytearray(ref.dp_auth)
    data[-1] ^= 0x01  # last byte of s in the DER signature
    err = rejected(verifier(ref).verify_chain, bytes(data), SERVER_AUTH_ROLES, CI_PKID[ref.tag])
    assert err.result is CertResult.INVALID_CERTIFICATE
    assert err.download_error is DownloadErrorCode.INVALID_CERTIFICATE


def test_chain_to_unknown_ci(ref):
    other_ci = h.make_ci(ref.cert("CertificateIssuer/CERT_CI_ECDSA_{t}.der").public_key().curve, NOW)
    cert = der(dp_cert(other_ci).cert)
    assert rejected(verifier(ref).verify_chain, cert, SERVER_AUTH_ROLES).result is CertResult.CI_PK_UNKNOWN
    err = rejected(verifier(ref).verify_chain, ref.dp_auth, SERVER_AUTH_ROLES, other_ci.ski)
    assert err.result is CertResult.CI_PK_UNKNOWN
    assert err.download_error is DownloadErrorCode.INVALID_CERTIFICATE


def test_ci_to_be_used_differs_from_issuer(sgp26):
    from tests.pki.pki_helpers import Sgp26
    nist, brp = Sgp26(sgp26, "NIST"), Sgp26(sgp26, "BRP")
    both = CertificateVerifier.from_cis([TrustedCi.from_certificate(nist.ci), TrustedCi.from_certificate(brp.ci)])
    err = rejected(both.verify_chain, nist.dp_auth, SERVER_AUTH_ROLES, CI_PKID["BRP"])
    assert err.result is CertResult.INVALID_CERTIFICATE


def test_wrong_role_pb_where_auth_required(ref):
    err = rejected(verifier(ref).verify_chain, ref.dp_pb, SERVER_AUTH_ROLES, CI_PKID[ref.tag])
    assert err.result is CertResult.INVALID_OID
    assert err.download_error is DownloadErrorCode.INVALID_CERTIFICATE
    err = rejected(verifier(ref, wrong_role_result=CertResult.INVALID_CERTIFICATE).verify_chain,
                   ref.dp_pb, SERVER_AUTH_ROLES)
    assert err.result is CertResult.INVALID_CERTIFICATE
    assert rejected(verifier(ref).verify_chain, ref.dp_auth, (Role.DP_PB,)).result is CertResult.INVALID_OID


@pytest.mark.parametrize("when, v3, code", [
    (dt.datetime(2030, 3, 31, tzinfo=dt.timezone.utc), False, CertResult.INVALID_CERTIFICATE),
    (dt.datetime(2030, 3, 31, tzinfo=dt.timezone.utc), True, CertResult.INVALID_CERT_OR_CRL_TIME),
    (dt.datetime(2020, 3, 31), False, CertResult.INVALID_CERTIFICATE),  # naive = UTC, not yet valid
])
def test_expired_with_validity_checking_on(ref, when, v3, code):
    # SGP.26 DPauth: valid 2020-04-01 .. 2030-03-30
    err = rejected(verifier(ref, validity_time=when, v3_error_codes=v3).verify_chain, ref.dp_auth, SERVER_AUTH_ROLES)
    assert err.result is code
    assert err.download_error is DownloadErrorCode.INVALID_CERTIFICATE


def test_validity_skipped_without_clock(ref):
    rules = CertificateRules()
    assert rules.validity_time is None
    assert verifier(ref).verify_chain(ref.dp_auth, SERVER_AUTH_ROLES).role is Role.DP_AUTH
    late = verifier(ref, validity_time=dt.datetime(2030, 3, 29, tzinfo=dt.timezone.utc))
    assert late.verify_chain(ref.dp_auth, SERVER_AUTH_ROLES).role is Role.DP_AUTH


def test_unsupported_curve_p384(sgp26):
    from tests.pki.pki_helpers import Sgp26
    ref = Sgp26(sgp26, "NIST")
    cert = der(dp_cert(sgp26_ci(ref), key=ec.generate_private_key(ec.SECP384R1())).cert)
    err = rejected(verifier(ref).verify_chain, cert, SERVER_AUTH_ROLES, CI_PKID["NIST"])
    assert err.result is CertResult.UNSUPPORTED_CURVE
    assert err.download_error is DownloadErrorCode.UNSUPPORTED_CURVE


def test_curve_setting_restricts(ref):
    only_nist = verifier(ref, supported_curves=frozenset({"secp256r1"}))
    if ref.tag == "BRP":
        assert rejected(only_nist.verify_chain, ref.dp_auth, SERVER_AUTH_ROLES).result is CertResult.UNSUPPORTED_CURVE
    else:
        assert only_nist.verify_chain(ref.dp_auth, SERVER_AUTH_ROLES).role is Role.DP_AUTH


def test_broken_aki_ski_link_euicc(ref):
    eum = sgp26_eum(ref)
    key = ec.generate_private_key(eum.key.curve)
    bad_aki = x509.AuthorityKeyIdentifier(bytes(20), None, None)
    exts = [(bad_aki, False), (h.ski_of(key), False), (h.key_usage(sign=True), True), (h.policies("euicc"), True)]
    subject = h.name(C="ES", O="RSP Test EUM", serialNumber=EID1, CN="Test eUICC")
    cert = der(h.issue(subject, key, exts, eum, NOW, h.NO_EXPIRY).cert)
    err = rejected(verifier(ref).verify_euicc_chain, cert, ref.eum)
    assert err.result is CertResult.INVALID_CERTIFICATE and "authorityKeyIdentifier" in err.reason


def test_broken_aki_ski_link_intermediate(ref):
    ci = sgp26_ci(ref)
    sub_key = ec.generate_private_key(ci.key.curve)
    sub_exts = [(h.aki_of(ci), False), (h.ski_of(sub_key), False), (x509.BasicConstraints(True, 0), True),
                (h.key_usage(cert_sign=True, crl_sign=True), True), (h.policies("dp-subca"), True)]
    sub = h.issue(h.name(C="IT", O="RSPTEST", CN="Test SubCA"), sub_key, sub_exts, ci, NOW,
                  NOW + dt.timedelta(days=99))
    # SGP.22 v3.1: a sub-CA chain carries the v3 role OIDs (id-rspRole-dpSubCa, id-rspRole-dp-auth)
    good = der(dp_cert(sub, role="dp-auth-v3").cert)
    v = verifier(ref)
    assert v.verify_chain(good, SERVER_AUTH_ROLES, CI_PKID[ref.tag], [der(sub.cert)]).role is Role.DP_AUTH
    assert rejected(v.verify_chain, good, SERVER_AUTH_ROLES).result is CertResult.CI_PK_UNKNOWN  # no sub-CA
    broken = der(dp_cert(sub, role="dp-auth-v3", aki=x509.AuthorityKeyIdentifier(b"\x01" * 20, None, None)).cert)
    err = rejected(v.verify_chain, broken, SERVER_AUTH_ROLES, None, [der(sub.cert)])
    assert err.result is CertResult.INVALID_CERTIFICATE


def test_issuer_name_mismatch(ref):
    cert = der(dp_cert(sgp26_ci(ref), issuer_name=h.name(C="IT", O="RSPTEST", CN="Other CI")).cert)
    err = rejected(verifier(ref).verify_chain, cert, SERVER_AUTH_ROLES)
    assert err.result is CertResult.INVALID_CERTIFICATE and "issuer name" in err.reason


def test_good_reissued_dp_auth_verifies(ref):
    # the negative tests' generator makes valid certificates when no defect is asked for
    assert verifier(ref).verify_chain(der(dp_cert(sgp26_ci(ref)).cert), SERVER_AUTH_ROLES).role is Role.DP_AUTH


@pytest.mark.parametrize("eid, organisation", [
    ("89049033123451234512345678901200", "RSP Test EUM"),  # prefix 89049033 not permitted
    (EID1, "Other EUM"),  # O differs from the permitted subtree
])
def test_eid_outside_eum_constraints(ref, eid, organisation):
    from tools.pki.eid import complete
    eid = complete(eid[:30])
    cert = der(h.make_euicc(sgp26_eum(ref), NOW, eid, organisation).cert)
    err = rejected(verifier(ref).verify_euicc_chain, cert, ref.eum)
    assert err.result is CertResult.INVALID_CERTIFICATE and "name constraints" in err.reason


def test_eid_with_bad_check_digits_rejected(ref):
    cert = der(h.make_euicc(sgp26_eum(ref), NOW, EID1[:30] + "00").cert)
    assert "not a valid EID" in rejected(verifier(ref).verify_euicc_chain, cert, ref.eum).reason


def test_euicc_chain_under_wrong_eum_key(ref):
    other_eum = h.make_eum(sgp26_ci(ref), NOW, "89049032")
    cert = der(h.make_euicc(other_eum, NOW, EID1).cert)
    assert rejected(verifier(ref).verify_euicc_chain, cert, ref.eum).result is CertResult.INVALID_CERTIFICATE


def test_end_entity_claiming_ca_rejected(ref):
    ci = sgp26_ci(ref)
    key = ec.generate_private_key(ci.key.curve)
    exts = [(h.aki_of(ci), False), (h.ski_of(key), False), (x509.BasicConstraints(True, None), True),
            (h.key_usage(sign=True), True), (h.policies("dp-auth"), True)]
    cert = der(h.issue(h.name(CN="x"), key, exts, ci, NOW, NOW + dt.timedelta(days=1)).cert)
    assert rejected(verifier(ref).verify_chain, cert, SERVER_AUTH_ROLES).result is CertResult.INVALID_CERTIFICATE


def test_missing_key_usage_rejected(ref):
    ci = sgp26_ci(ref)
    key = ec.generate_private_key(ci.key.curve)
    exts = [(h.aki_of(ci), False), (h.ski_of(key), False), (h.policies("dp-auth"), True)]
    cert = der(h.issue(h.name(CN="x"), key, exts, ci, NOW, NOW + dt.timedelta(days=1)).cert)
    assert "keyUsage" in rejected(verifier(ref).verify_chain, cert, SERVER_AUTH_ROLES).reason


# --- malformed input never escapes as anything but CertificateRejected ------------------------

@pytest.mark.parametrize("blob", [b"", b"\x30\x00", b"\x30\x82\xff\xff", os.urandom(64)])
def test_malformed_der_is_invalid_certificate(ref, blob):
    assert rejected(verifier(ref).verify_chain, blob, SERVER_AUTH_ROLES).result is CertResult.INVALID_CERTIFICATE


def test_truncated_certificate(ref):
    err = rejected(verifier(ref).verify_chain, ref.dp_auth[:-10], SERVER_AUTH_ROLES)
    assert err.result is CertResult.INVALID_CERTIFICATE


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_mutated_certificates_only_raise_rejections(sgp26, data):
    from tests.pki.pki_helpers import Sgp26
    cert = bytearray(Sgp26(sgp26, "NIST").dp_auth)
    for _ in range(data.draw(st.integers(1, 4))):
        cert[data.draw(st.integers(0, len(cert) - 1))] = data.draw(st.integers(0, 255))
    v = CertificateVerifier.from_cis([TrustedCi.from_certificate(Sgp26(sgp26, "NIST").ci)])
    try:
        v.verify_chain(bytes(cert), SERVER_AUTH_ROLES)
    except CertificateRejected as exc:
        assert exc.result in CertResult


# --- r||s format ------------------------------------------------------------------------------

def test_rs_der_conversion_known_answer():
    rs = bytes(range(1, 33)) + bytes(range(33, 65))
    der_sig = rs_to_der(rs)
    assert der_sig[:4] == bytes.fromhex("30440220") and der_sig[4:36] == rs[:32]
    assert der_sig[36:38] == bytes.fromhex("0220") and der_sig[38:] == rs[32:]
    assert der_to_rs(der_sig) == rs
    high = b"\x80" + bytes(31) + b"\x00" * 31 + b"\x01"  # r needs a 00 pad byte, s is short
    assert rs_to_der(high) == bytes.fromhex("3026022100" + "80" + "00" * 31 + "020101")
    assert der_to_rs(rs_to_der(high)) == high


@pytest.mark.parametrize("size", [0, 63, 65, 72])
def test_rs_wrong_length_is_invalid_signature(size):
    with pytest.raises(CertificateRejected) as info:
        rs_to_der(bytes(size))
    assert info.value.result is CertResult.INVALID_SIGNATURE


def test_card_eid_check_on_published_examples():
    assert eid_is_valid(EID1)
    assert eid_is_valid("89049044900000000000000000102355")
    assert not eid_is_valid("89049044900000000000000000102356")
    assert not eid_is_valid("8904904490000000000000000010235")
    assert not eid_is_valid("８９049044900000000000000000102355")  # non-ASCII digits
