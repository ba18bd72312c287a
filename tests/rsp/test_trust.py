"""Which servers the eUICC trusts (SGP.22 v3.1 §5.7.13, §4.5.2): SM-DP+ certificates issued by
sub-CAs (otherCertsInChain, the v3.1 id-rspRole tree), the CI key lists for verification and
signing (euiccCiPKIdListForSigningV3, sessionContext euiccCiPKIdToBeUsedV3), and
VerifySmdsResponse / VerifySmdpResponse, with every refusal.

The chains are made here with the project's host PKI (tools.pki.hierarchy) under the published
SGP.26 test CI; requests and answers use the published v3.1 module; signatures are made and checked
with ``cryptography`` (tests.rsp.helpers).  Known answers: the AuthenticateErrorCode and
Verify*Response error values of the v3.1 module.
"""
from __future__ import annotations

import datetime as dt
import secrets

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from tests.rsp.flow import load, prepare
from tests.rsp.helpers import CI_PKID, EID1, SGP26, TS48, load_key, sign
from tests.rsp.test_v3 import V3_SVN, SmdpV3, authenticate, open_lpa, v3, v3_metadata  # noqa: F401
from tools.pki.hierarchy import Issued, make_ci, make_dp, make_sub_ca

INVALID_CERTIFICATE, CI_PK_UNKNOWN = 1, 7
INVALID_SIGNATURE, NO_SESSION, INVALID_TRANSACTION_ID = 2, 4, 5
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def der(item: Issued) -> bytes:
    return item.cert.public_bytes(serialization.Encoding.DER)


def sgp26_ci(tag: str = "NIST") -> Issued:
    cert = x509.load_der_x509_certificate((SGP26 / "CertificateIssuer" / f"CERT_CI_ECDSA_{tag}.der").read_bytes())
    return Issued(load_key(SGP26 / "CertificateIssuer" / f"SK_CI_ECDSA_{tag}.pem"), cert)


class ChainSmdp(SmdpV3):
    """A v3 SM-DP+ (or SM-DS) whose auth / pb certificates are ``auth`` / ``pb``, sending ``chain``
    as otherCertsInChain, ``crls`` (DER CRLs) as crlList and ``context`` members in its
    sessionContext."""

    def __init__(self, spec, auth: Issued, pb: Issued | None = None, chain: list[Issued] = (),
                 ci_pkid: bytes = CI_PKID["NIST"], crls: list[bytes] | None = None, **context) -> None:
        super().__init__(spec)
        self.auth_cert, self.auth_key = der(auth), auth.key
        if pb is not None:
            self.pb_cert, self.pb_key = der(pb), pb.key
        self.chain, self.ci_pkid, self.context = [der(c) for c in chain], ci_pkid, context
        self.crls = crls

    def authenticate_server(self, challenge: bytes, **_: object) -> bytes:
        signed1 = {"transactionId": self.transaction_id, "euiccChallenge": challenge,
                   "serverAddress": self.address, "serverChallenge": secrets.token_bytes(16),
                   "sessionContext": {"serverSvn": V3_SVN, "crlStaplingV3Used": False, **self.context}}
        request = {"serverSigned1": signed1, "serverSignature1": sign(self.auth_key, self.v3.encode("ServerSigned1", signed1)),
                   "euiccCiPKIdToBeUsed": self.ci_pkid,
                   "serverCertificate": self.v3.decode("Certificate", self.auth_cert), "ctxParams1": self.ctx}
        if self.chain:
            request["otherCertsInChain"] = [self.v3.decode("Certificate", c) for c in self.chain]
        if self.crls is not None:
            request["crlList"] = [self.v3.decode("CertificateList", c) for c in self.crls]
        return self.v3.encode("AuthenticateServerRequest", request)


def authenticate_error(lpa, smdp, spec) -> int:
    challenge = lpa.call("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]
    kind, value = spec.decode("AuthenticateServerResponse", lpa.es10(smdp.authenticate_server(challenge)))
    assert kind == "authenticateResponseError", value
    return value["authenticateErrorCode"]


@pytest.fixture(scope="module")
def dp_sub_ca():
    ci = sgp26_ci()
    sub = make_sub_ca(ci, NOW)
    return ci, sub, make_dp(sub, NOW, "dp-auth-v3"), make_dp(sub, NOW, "dp-pb-v3")


# -- chains with sub-CAs ------------------------------------------------------------------------------
def test_download_from_an_smdp_certified_by_a_sub_ca(v3, dp_sub_ca):
    _, sub, auth, pb = dp_sub_ca
    lpa = open_lpa()
    smdp = ChainSmdp(v3, auth, pb, [sub])
    dl, ok = authenticate(lpa, smdp, v3)
    prepare(lpa, dl)      # CERT.DPpb verified through the sub-CA of the session
    data = load(lpa, dl, smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), TS48.read_bytes(),
                                                    v3_metadata(v3)))
    assert data["finalResult"][0] == "successResult"


def test_two_sub_cas(v3):
    ci_sub = make_sub_ca(sgp26_ci(), NOW, "ci-subca", "Test CI SubCA")
    dp_sub = make_sub_ca(ci_sub, NOW)
    _, ok = authenticate(open_lpa(), ChainSmdp(v3, make_dp(dp_sub, NOW, "dp-auth-v3"), chain=[dp_sub, ci_sub]), v3)
    assert ok["euiccSigned1"]["euiccInfo2"]["highestSvn"] == V3_SVN


@pytest.mark.parametrize("case", ["missing", "reversed", "not-a-sub-ca", "v2-oid-leaf", "too-long"])
def test_wrong_chains_are_refused(v3, dp_sub_ca, case):
    ci, sub, auth, _ = dp_sub_ca
    ci_sub = make_sub_ca(ci, NOW, "ci-subca")
    deep = make_sub_ca(ci_sub, NOW)
    end_entity = make_dp(ci, NOW, "dp-auth")                    # a CERT.DPauth as "intermediate"
    smdp, expected = {
        "missing": (ChainSmdp(v3, auth), CI_PK_UNKNOWN),            # the chain ends at no CI the eUICC knows
        "reversed": (ChainSmdp(v3, make_dp(deep, NOW, "dp-auth-v3"), chain=[ci_sub, deep]), INVALID_CERTIFICATE),
        "not-a-sub-ca": (ChainSmdp(v3, make_dp(end_entity, NOW, "dp-auth-v3"), chain=[end_entity]), INVALID_CERTIFICATE),
        "v2-oid-leaf": (ChainSmdp(v3, make_dp(sub, NOW, "dp-auth"), chain=[sub]), INVALID_CERTIFICATE),
        "too-long": (ChainSmdp(v3, auth, chain=[sub, ci_sub, deep]), INVALID_CERTIFICATE),
    }[case]
    assert authenticate_error(open_lpa(), smdp, v3) == expected


def test_sub_ca_chains_need_the_capability(v3, dp_sub_ca):
    _, sub, auth, _ = dp_sub_ca
    assert authenticate_error(open_lpa(cert_chain_v3=False), ChainSmdp(v3, auth, chain=[sub]), v3) == INVALID_CERTIFICATE


# -- CI key lists ---------------------------------------------------------------------------------
def test_untrusted_ci_is_refused(v3):
    stranger = make_ci(sgp26_ci().key.curve, NOW)
    assert authenticate_error(open_lpa(), ChainSmdp(v3, make_dp(stranger, NOW, "dp-auth")), v3) == CI_PK_UNKNOWN


def test_ci_outside_the_verification_list_is_refused(v3):
    brp = sgp26_ci("BRP")
    lpa = open_lpa(ci_pkids_for_verification=(CI_PKID["NIST"],))
    assert authenticate_error(lpa, ChainSmdp(v3, make_dp(brp, NOW, "dp-auth"), ci_pkid=CI_PKID["BRP"]), v3) == CI_PK_UNKNOWN


def test_ci_outside_the_signing_list_is_refused(v3, dp_sub_ca):
    _, sub, auth, _ = dp_sub_ca
    assert authenticate_error(open_lpa(), ChainSmdp(v3, auth, chain=[sub], ci_pkid=bytes(20)), v3) == CI_PK_UNKNOWN
    lpa = open_lpa(ci_pkids_for_signing_v3=(CI_PKID["NIST"],))
    smdp = ChainSmdp(v3, auth, chain=[sub], euiccCiPKIdToBeUsedV3=CI_PKID["BRP"])
    assert authenticate_error(lpa, smdp, v3) == CI_PK_UNKNOWN


def test_signing_v3_list_reported_and_used(v3, dp_sub_ca):
    _, sub, auth, _ = dp_sub_ca
    lpa = open_lpa(ci_pkids_for_signing_v3=(CI_PKID["BRP"],))
    info1 = v3.decode("EUICCInfo1", lpa.es10(bytes.fromhex("BF2000")))
    assert info1["euiccCiPKIdListForSigningV3"] == [CI_PKID["BRP"]]
    assert info1["euiccCiPKIdListForSigning"] == [CI_PKID["NIST"], CI_PKID["BRP"]]
    _, ok = authenticate(lpa, ChainSmdp(v3, auth, chain=[sub], euiccCiPKIdToBeUsedV3=CI_PKID["BRP"]), v3)
    eum = x509.load_der_x509_certificate(v3.encode("Certificate", ok["nextCertInChain"]))
    aki = eum.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value.key_identifier
    assert aki == CI_PKID["BRP"]          # the eUICC signed with its brainpoolP256r1 credential


# -- VerifySmdsResponse / VerifySmdpResponse --------------------------------------------------------
SMDS = ("VerifySmdsResponse", "smdsSigned2", "smdsSignature2",
        lambda tid: {"transactionId": tid, "requestSpecificData": ("eventList", {"eventEntries": []})})
SMDP = ("VerifySmdpResponse", "smdpSigned6", "smdpSignature6",
        lambda tid: {"transactionId": tid, "requestSpecificData": ("retryData", {"retryDelay": 5,
                                                                                 "dcSessionId": b"\x01"})})


def verify_request(spec, kind, key, tid: bytes, euicc_signature1: bytes, corrupt: bool = False) -> bytes:
    name, signed_name, signature_name, build = kind
    signed = build(tid)
    signature = sign(key, spec.encode(signed_name[0].upper() + signed_name[1:], signed) + b"\x5f\x37\x40"
                     + euicc_signature1)
    if corrupt:
        signature = bytes([signature[0] ^ 1]) + signature[1:]
    return spec.encode(name + "Request", {signed_name: signed, signature_name: signature})


@pytest.mark.parametrize(("kind", "role"), [(SMDS, "ds-auth"), (SMDP, "dp-auth")], ids=["smds", "smdp"])
def test_verify_server_response(v3, kind, role):
    server = make_dp(sgp26_ci(), NOW, role)
    name = kind[0]
    ok, error = ("verify" + name[6:] + "Ok", None), "verify" + name[6:] + "Error"
    lpa = open_lpa()
    assert v3.decode(name + "Response", lpa.es10(verify_request(v3, kind, server.key, bytes(16), bytes(64)))) == (
        error, NO_SESSION)
    smdp = ChainSmdp(v3, server)
    dl, _ = authenticate(lpa, smdp, v3)
    sig1, tid = dl.euicc_signature1, smdp.transaction_id
    answers = [v3.decode(name + "Response", lpa.es10(r)) for r in (
        verify_request(v3, kind, server.key, bytes(16), sig1),
        verify_request(v3, kind, server.key, tid, sig1, corrupt=True),
        verify_request(v3, kind, server.key, tid, sig1))]
    assert answers == [(error, INVALID_TRANSACTION_ID), (error, INVALID_SIGNATURE), ok]


def test_verify_smds_response_needs_an_smds_session(v3):
    dp = make_dp(sgp26_ci(), NOW, "dp-auth")
    lpa = open_lpa()
    smdp = ChainSmdp(v3, dp)
    dl, _ = authenticate(lpa, smdp, v3)
    raw = lpa.es10(verify_request(v3, SMDS, dp.key, smdp.transaction_id, dl.euicc_signature1))
    assert v3.decode("VerifySmdsResponseResponse", raw) == ("verifySmdsResponseError", NO_SESSION)


def test_answer_bytes(v3):
    """VerifySmdsResponse noSession: 'BF45' CHOICE alternative [1] INTEGER 4 (X.690 DER, by hand)."""
    raw = open_lpa().es10(verify_request(v3, SMDS, sgp26_ci().key, bytes(16), bytes(64)))
    assert raw == bytes.fromhex("BF4503810104")
