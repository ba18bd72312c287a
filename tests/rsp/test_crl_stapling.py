"""CRL stapling on the card (SGP.22 v3.1 §5.7.13 AuthenticateServer ``crlList``,
``sessionContext.crlStaplingV3Used``; euicc.rsp.crl_stapling, whose rules are [U] readings pinned
here).

The CRLs are made by the test PKI (tools.pki.crl, ``cryptography``) with the SGP.26 CI key, or for
a sub-CA chain with tools.pki.hierarchy; the request is built with the published v3.1 module.
Known answers: AuthenticateErrorCode missingCrl 9, invalidCrlSignature 10, revokedCert 11,
invalidCertOrCrlTime 12, invalidCertOrCrlConfiguration 13 (v3.1 module text).
"""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.rsp.helpers import SGP26, load_key
from tests.rsp.test_trust import ChainSmdp
from tests.rsp.test_v3 import open_lpa, v3  # noqa: F401
from tools.pki.crl import make_crl
from tools.pki.hierarchy import Issued, make_dp, make_sub_ca

MISSING_CRL, INVALID_CRL_SIGNATURE, REVOKED_CERT, INVALID_TIME, INVALID_CONFIGURATION = 9, 10, 11, 12, 13
NOW = dt.datetime.now(dt.timezone.utc)


def sgp26(folder: str, stem: str) -> Issued:
    cert = x509.load_der_x509_certificate((SGP26 / folder / f"CERT_{stem}_ECDSA_NIST.der").read_bytes())
    return Issued(load_key(SGP26 / folder / f"SK_{stem}_ECDSA_NIST.pem"), cert)


CI, DPAUTH = sgp26("CertificateIssuer", "CI"), sgp26("DPauth", "S_SM_DPauth")


def authenticate(v3_spec, crls: list[bytes] | None, used: bool = True, auth: Issued = DPAUTH,
                 chain: list[Issued] = (), **settings) -> tuple[str, object]:
    """AuthenticateServer of an SM-DP+ with CERT.DPauth ``auth`` (and sub-CAs ``chain``) stapling
    ``crls`` with crlStaplingV3Used ``used``: ("authenticateResponseOk", value) or the error code."""
    lpa = open_lpa(**settings)
    challenge = lpa.call("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]
    smdp = ChainSmdp(v3_spec, auth, chain=list(chain), crls=crls, crlStaplingV3Used=used)
    kind, value = v3_spec.decode("AuthenticateServerResponse", lpa.es10(smdp.authenticate_server(challenge)))
    return kind, value if kind == "authenticateResponseOk" else value["authenticateErrorCode"]


def dpauth_serial() -> int:
    return DPAUTH.cert.serial_number


def sha384_crl() -> bytes:
    crl = x509.load_der_x509_crl(make_crl(CI.cert, CI.key))
    builder = x509.CertificateRevocationListBuilder(crl.issuer, crl.last_update_utc, crl.next_update_utc,
                                                    list(crl.extensions))
    return builder.sign(CI.key, hashes.SHA384()).public_bytes(serialization.Encoding.DER)


def test_good_crl_is_accepted(v3):
    kind, _ = authenticate(v3, [make_crl(CI.cert, CI.key, revoked=[dpauth_serial() + 1])])
    assert kind == "authenticateResponseOk"


@pytest.mark.parametrize(("crls", "expected"), [
    (lambda: [make_crl(CI.cert, CI.key, revoked=[12345, dpauth_serial()])], REVOKED_CERT),
    (lambda: [make_crl(CI.cert, ec.generate_private_key(ec.SECP256R1()))], INVALID_CRL_SIGNATURE),
    (lambda: [make_crl(CI.cert, CI.key, this_update=NOW - dt.timedelta(days=60),
                       next_update=NOW - dt.timedelta(days=30))], INVALID_TIME),
    (lambda: [make_crl(CI.cert, CI.key, this_update=NOW + dt.timedelta(days=2))], INVALID_TIME),   # not yet valid
    (lambda: [], MISSING_CRL),
    (lambda: None, MISSING_CRL),
    (lambda: [sha384_crl()], INVALID_CONFIGURATION),                           # not ECDSA-SHA256
], ids=["revoked", "bad-signature", "expired", "not-yet-valid", "empty-list", "no-list", "sha384"])
def test_stapled_crl_refusals(v3, crls, expected):
    assert authenticate(v3, crls()) == ("authenticateResponseError", expected)


def test_crl_of_a_ca_outside_the_chain_is_a_configuration_error(v3):
    other = ec.generate_private_key(ec.SECP256R1())
    builder = (x509.CertificateBuilder().subject_name(CI.cert.subject).issuer_name(CI.cert.subject)
               .public_key(other.public_key()).serial_number(1).not_valid_before(NOW).not_valid_after(NOW)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(other.public_key()), False))
    stranger = builder.sign(other, hashes.SHA256())
    crls = [make_crl(CI.cert, CI.key), make_crl(stranger, other)]
    assert authenticate(v3, crls) == ("authenticateResponseError", INVALID_CONFIGURATION)


def test_crl_list_without_crl_stapling_used_is_a_configuration_error(v3):
    assert authenticate(v3, [make_crl(CI.cert, CI.key)], used=False) == ("authenticateResponseError",
                                                                         INVALID_CONFIGURATION)


def test_card_without_crl_stapling_ignores_the_list(v3):
    revoked = [make_crl(CI.cert, CI.key, revoked=[dpauth_serial()])]
    assert authenticate(v3, revoked, crl_stapling=False)[0] == "authenticateResponseOk"
    assert authenticate(v3, None, crl_stapling=False)[0] == "authenticateResponseOk"


def test_sub_ca_chain_needs_the_crl_of_each_issuing_ca(v3):
    """CERT.DPauth issued by an SM-DP+ sub-CA: the sub-CA's CRL (issuer of CERT.DPauth) and the
    CI's (issuer of the sub-CA) must both be stapled; the sub-CA's lists CERT.DPauth's serial."""
    sub = make_sub_ca(CI, NOW - dt.timedelta(days=1))
    auth = make_dp(sub, NOW - dt.timedelta(days=1), "dp-auth-v3")
    ci_crl = make_crl(CI.cert, CI.key)
    assert authenticate(v3, [ci_crl, make_crl(sub.cert, sub.key)], auth=auth, chain=[sub])[0] == (
        "authenticateResponseOk")
    assert authenticate(v3, [ci_crl], auth=auth, chain=[sub]) == ("authenticateResponseError", MISSING_CRL)
    revoking = make_crl(sub.cert, sub.key, revoked=[auth.cert.serial_number])
    assert authenticate(v3, [revoking, ci_crl], auth=auth, chain=[sub]) == ("authenticateResponseError",
                                                                          REVOKED_CERT)
    sub_revoked = make_crl(CI.cert, CI.key, revoked=[sub.cert.serial_number])
    assert authenticate(v3, [sub_revoked, make_crl(sub.cert, sub.key)], auth=auth, chain=[sub]) == (
        "authenticateResponseError", REVOKED_CERT)
