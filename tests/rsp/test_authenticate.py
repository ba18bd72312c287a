"""ES10b AuthenticateServer / PrepareDownload / CancelSession error paths (SGP.22 v2.5 §5.7.13,
§5.7.17, §5.7.14), and the eUICC identity (§2.2.2, §4.5.2.1.0.3)."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from euicc.asn1 import rsp
from euicc.composition import open_card
from euicc.rsp.identity import IdentityError, import_identity
from tests.rsp import flow
from tests.rsp.helpers import CI_PKID, EID1, SGP26, Lpa, Smdp, load_key, split, tlv, verify


def challenge(lpa) -> bytes:
    return lpa.call("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]


def auth_error(lpa, request: bytes) -> int:
    kind, value = rsp().decode("AuthenticateServerResponse", lpa.es10(request))
    assert kind == "authenticateResponseError"
    return value["authenticateErrorCode"]


def test_challenge_is_fresh(lpa):
    a, b = challenge(lpa), challenge(lpa)
    assert len(a) == 16 and a != b


def test_authenticate_ok_content(lpa):
    smdp = Smdp("BRP")
    dl = flow.authenticate(lpa, smdp)
    assert x509.load_der_x509_certificate(dl.euicc_cert).subject.get_attributes_for_oid(
        x509.NameOID.SERIAL_NUMBER)[0].value == EID1
    assert dl.euicc_cert == (SGP26 / "eUICC" / "CERT_EUICC_ECDSA_BRP.der").read_bytes()


@pytest.mark.parametrize("case,code", [
    ("signature", 2), ("challenge", 6), ("no_session", 4), ("ci_unknown", 7),
    ("bad_certificate", 1), ("role", 5), ("curve", 3)])
def test_authenticate_errors(lpa, case, code):
    smdp = Smdp()
    c = challenge(lpa) if case != "no_session" else bytes(16)
    kwargs: dict = {}
    if case == "signature":
        kwargs["corrupt_signature"] = True
    elif case == "challenge":
        c = bytes(16)
    elif case == "ci_unknown":
        kwargs["ci_pkid"] = bytes(20)
    elif case == "bad_certificate":
        cert = bytearray(smdp.auth_cert)
        cert[-5] ^= 0x01                      # break the CI's signature on CERT.DPauth
        kwargs["certificate"] = bytes(cert)
    elif case == "role":
        kwargs["certificate"] = smdp.pb_cert  # a dp-pb certificate where dp-auth is required
    elif case == "curve":
        kwargs["certificate"] = p384_server_certificate()
    assert auth_error(lpa, smdp.authenticate_server(c, **kwargs)) == code


def test_undefined_ctx_params1_alternative_is_undefined_error(lpa):
    """CtxParams1 (v2.5) defines ctxParamsForCommonAuthentication ('A0') only; the module is
    EXTENSIBILITY IMPLIED, so asn1tools decodes another alternative ('85') as (None, None): the card
    refuses it with undefinedError (127) (an internal error before), as a v3 card does a context it
    does not serve."""
    request = split(Smdp().authenticate_server(challenge(lpa)))
    assert request[-1][0] == 0xA0                                    # ctxParams1, the last member
    assert auth_error(lpa, tlv(b"\xbf\x38", b"".join(request[:-1]) + bytes.fromhex("850100"))) == 127


def p384_server_certificate() -> bytes:
    """A dp-auth certificate for a P-384 key, issued with the SGP.26 CI key (host side)."""
    ci_key = load_key(SGP26 / "CertificateIssuer" / "SK_CI_ECDSA_NIST.pem")
    ci = x509.load_der_x509_certificate((SGP26 / "CertificateIssuer" / "CERT_CI_ECDSA_NIST.der").read_bytes())
    key = ec.generate_private_key(ec.SECP384R1())
    now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(x509.NameOID.COMMON_NAME, "X")]))
            .issuer_name(ci.subject).public_key(key.public_key()).serial_number(7)
            .not_valid_before(now).not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.AuthorityKeyIdentifier(CI_PKID["NIST"], None, None), False)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False, False, False), True)
            .add_extension(x509.CertificatePolicies([x509.PolicyInformation(
                x509.ObjectIdentifier("2.23.146.1.2.1.4"), None)]), True)
            .sign(ci_key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.DER)


def download_error(lpa, dl, **kwargs) -> int:
    raw = lpa.es10(dl.smdp.prepare_download(dl.euicc_signature1, **kwargs))
    kind, value = rsp().decode("PrepareDownloadResponse", raw)
    assert kind == "downloadResponseError"
    return value["downloadErrorCode"]


def test_prepare_download_errors(lpa):
    smdp = Smdp()
    raw = lpa.es10(smdp.prepare_download(bytes(64)))
    assert rsp().decode("PrepareDownloadResponse", raw)[1]["downloadErrorCode"] == 4   # noSessionContext
    dl = flow.authenticate(lpa, smdp)
    assert download_error(lpa, dl, corrupt=True) == 2                               # invalidSignature
    assert download_error(lpa, dl, transaction_id=b"\x02" * 16) == 5                # invalidTransactionId
    assert download_error(lpa, dl, cc_required=True) == 127                        # hashCc missing


def test_one_time_key_reuse(lpa):
    smdp = Smdp()
    dl = flow.authenticate(lpa, smdp)
    first = flow.prepare(lpa, dl)["euiccSigned2"]["euiccOtpk"]
    dl = flow.authenticate(lpa, smdp)
    assert flow.prepare(lpa, dl, otpk=first)["euiccSigned2"]["euiccOtpk"] == first
    dl = flow.authenticate(lpa, smdp)
    assert flow.prepare(lpa, dl, otpk=bytes(65))["euiccSigned2"]["euiccOtpk"] != first


def test_cancel_session(lpa):
    smdp = Smdp()
    request = {"transactionId": smdp.transaction_id, "reason": 1}
    kind, _ = lpa.call("CancelSessionRequest", request, "CancelSessionResponse")
    assert kind == "cancelSessionResponseError"
    dl = flow.authenticate(lpa, smdp)
    raw = lpa.es10(rsp().encode("CancelSessionRequest", request))
    kind, ok = rsp().decode("CancelSessionResponse", raw)
    assert kind == "cancelSessionResponseOk"
    assert ok["euiccCancelSessionSigned"]["reason"] == 1
    verify(dl.euicc_cert, split(split(raw)[0])[0], ok["euiccCancelSessionSignature"])
    assert b"\x81\x03\x88\x37\x0a" in raw                     # smdpOid [1] 2.999.10 of CERT.DPauth
    assert lpa.call("CancelSessionRequest", request, "CancelSessionResponse") == ("cancelSessionResponseError", 5)


def test_private_key_never_leaves(lpa, card):
    dl = flow.authenticate(lpa, Smdp())
    scalar = load_key(SGP26 / "eUICC" / "SK_EUICC_ECDSA_NIST.pem").private_numbers().private_value.to_bytes(32, "big")
    assert dl.euicc_cert and scalar not in dl.euicc_cert
    for sw_data in (lpa.es10(bytes.fromhex("BF2200")), lpa.es10(bytes.fromhex("BF2000"))):
        assert scalar not in sw_data


def test_default_identity_chains_to_shipped_ci():
    """A new card issues its own CERT.EUICC under the shipped test EUM, with its EID."""
    from importlib import resources
    card = open_card(None)
    lpa = Lpa(card)
    lpa.select_isd_r()
    base = resources.files("tools.pki").joinpath("test_pki")   # host copy of the test CI / EUM
    eid = lpa.call("GetEuiccDataRequest", {"tagList": b"\x5a"}, "GetEuiccDataResponse")["eidValue"]
    info1 = lpa.call("GetEuiccInfo1Request", {}, "EUICCInfo1")
    for tag in ("NIST", "BRP"):
        ci = x509.load_der_x509_certificate(base.joinpath("CertificateIssuer", f"CERT_CI_ECDSA_{tag}.der").read_bytes())
        eum = x509.load_der_x509_certificate(base.joinpath("EUM", f"CERT_EUM_ECDSA_{tag}.der").read_bytes())
        ski = ci.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
        assert ski in info1["euiccCiPKIdListForSigning"]
        state = card.store.get("ecasd/identity")
        cred = [c for c in state["credentials"] if c["cert_eum"] == eum.public_bytes(serialization.Encoding.DER)][0]
        euicc = x509.load_der_x509_certificate(cred["cert_euicc"])
        euicc.verify_directly_issued_by(eum)
        eum.verify_directly_issued_by(ci)
        assert euicc.subject.get_attributes_for_oid(x509.NameOID.SERIAL_NUMBER)[0].value == eid.hex()
    card.close()


def test_import_identity(sgp26, tmp_path):
    card = open_card(None)
    assert import_identity(card.store, sgp26) == EID1
    assert card.services.eid.hex() == EID1
    with pytest.raises(IdentityError):
        import_identity(card.store, tmp_path)
    (tmp_path / "eUICC").mkdir()
    (tmp_path / "eUICC" / "SK_EUICC_ECDSA_NIST.pem").write_bytes(b"not a key")
    with pytest.raises(IdentityError):
        import_identity(card.store, tmp_path)
    assert card.services.eid.hex() == EID1
    card.close()
