"""SGP.22 v3.1 on the card (in process): EUICCInfo1/2 in the v3 form and as a v2 LPA reads them,
the per-session version choice in AuthenticateServer, a v3 download with a service-provider
message, the v3.1 StoreMetadata refusals and CancelSession v3.

Every answer is decoded with the published modules in tests/vectors/data/asn1 (v3.1: the
reference transcription, see SOURCES.md; v2: ``sgp22/``), compiled here, not with the card's copy.
Known answers: SVNs 2.5.0 / 3.1.0 (the card's settings), EuiccRspCapability bit numbers and
ErrorReason / CancelSessionReason values from the v3.1 module text.
"""
from __future__ import annotations

import secrets
from dataclasses import replace

import asn1tools
import pytest

from euicc.card import Card, CardConfig
from euicc.composition import open_card
from euicc.rsp.euicc_info import DEFAULT_SETTINGS
from euicc.rsp.identity import import_identity
from tests.rsp.flow import Download, load, prepare
from tests.rsp.helpers import CI_PKID, EID1, SGP26, TS48, Lpa, Smdp, sign, split, swap, tlv, verify
from tests.vectors import ASN1

TS48_ICCID = "89000123456789012341"
V2_SVN, V3_SVN = bytes((2, 5, 0)), bytes((3, 1, 0))
# EuiccRspCapability (v3.1): additionalProfile 0, loadCrlSupport 1, rpmSupport 2, testProfileSupport 3,
# serviceProviderMessageSupport 7, lpaProxySupport 8, enterpriseProfilesSupport 9, deviceChangeSupport 11,
# encryptedDeviceChangeDataSupport 12, crlStaplingV3Support 15, certChainV3VerificationSupport 16,
# euiccRspCapInInfo1 18
CAPABILITY_BITS = {0, 1, 2, 3, 7, 8, 9, 11, 12, 15, 16, 18}
UNKNOWN_TLV_IN_METADATA, LPR_NOT_SUPPORTED = 26, 23
STORE_METADATA = 2
SESSION_ABORTED = 16


@pytest.fixture(scope="module")
def v3():
    """SGP.22 v3.1 RSPDefinitions as published (reference transcription), with PKIX and SAIP."""
    files = [ASN1 / "sgp22v3" / "RSPDefinitions-v3.1.edited.asn", ASN1 / "sgp22" / "PKIX1Explicit88.asn",
             ASN1 / "sgp22" / "PKIX1Implicit88.asn", ASN1 / "saip" / "PE_Definitions-3.3.1.asn"]
    return asn1tools.compile_files([str(f) for f in files], "der")


@pytest.fixture(scope="module")
def v2():
    """SGP.22 v2 RSPDefinitions as published: what a v2 LPA or SM-DP+ decodes with."""
    files = [ASN1 / "sgp22" / n for n in ("RSPDefinitions.asn", "PKIX1Explicit88.asn", "PKIX1Implicit88.asn")]
    return asn1tools.compile_files([str(f) for f in files], "der")


def open_lpa(highest_svn: bytes = V3_SVN, **settings) -> Lpa:
    config = replace(CardConfig(), euicc_info=replace(DEFAULT_SETTINGS, highest_svn=highest_svn, **settings))
    card = open_card(None, config)
    import_identity(card.store, SGP26)
    lpa = Lpa(card)
    lpa.select_isd_r()
    return lpa


def bits(value: tuple[bytes, int]) -> set[int]:
    data, size = value
    number = int.from_bytes(data, "big") if data else 0
    return {i for i in range(size) if number & (1 << (len(data) * 8 - 1 - i))}


class SmdpV3(Smdp):
    """The helpers' SM-DP+ choosing v3: serverSigned1 carries a sessionContext (v3.1 module)."""

    def __init__(self, v3_spec, ctx: tuple | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)
        self.v3 = v3_spec
        self.ctx = ctx or ("ctxParamsForCommonAuthentication", {
            "matchingId": "MATCHING-ID-1",
            "deviceInfo": {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}})

    def authenticate_server(self, challenge: bytes, **_: object) -> bytes:
        signed1 = {"transactionId": self.transaction_id, "euiccChallenge": challenge,
                   "serverAddress": self.address, "serverChallenge": secrets.token_bytes(16),
                   "sessionContext": {"serverSvn": V3_SVN, "crlStaplingV3Used": False}}
        signature = sign(self.auth_key, self.v3.encode("ServerSigned1", signed1))
        return self.v3.encode("AuthenticateServerRequest", {
            "serverSigned1": signed1, "serverSignature1": signature, "euiccCiPKIdToBeUsed": self.ci_pkid,
            "serverCertificate": self.v3.decode("Certificate", self.auth_cert), "ctxParams1": self.ctx})


def authenticate(lpa: Lpa, smdp: Smdp, spec) -> tuple[Download, dict]:
    """AuthenticateServer; euiccSignature1 checked over euiccSigned1 as received."""
    challenge = lpa.call("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]
    raw = lpa.es10(smdp.authenticate_server(challenge))
    kind, ok = spec.decode("AuthenticateServerResponse", raw)
    assert kind == "authenticateResponseOk", ok
    euicc_cert = spec.encode("Certificate", ok["euiccCertificate"])
    verify(euicc_cert, split(split(raw)[0])[0], ok["euiccSignature1"])
    return Download(smdp, euicc_cert, ok["euiccSignature1"]), ok


def v3_metadata(v3_spec, extra: bytes = b"", iccid: str = TS48_ICCID, **members) -> bytes:
    value = {"iccid": swap(iccid), "serviceProviderName": "GSMA Test", "profileName": "TS.48 test profile",
             **members}
    body = split(v3_spec.encode("StoreMetadataRequest", value))
    return tlv(b"\xbf\x25", b"".join(body) + extra)


def v3_download(lpa: Lpa, v3_spec, meta: bytes, ctx: tuple | None = None, upp: bytes | None = None) -> dict:
    smdp = SmdpV3(v3_spec, ctx)
    dl, _ = authenticate(lpa, smdp, v3_spec)
    prepare(lpa, dl)
    return load(lpa, dl, smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), upp or TS48.read_bytes(), meta))


# -- EUICCInfo1 / EUICCInfo2 ------------------------------------------------------------------------
def test_euicc_info1_v3_form(v3, v2):
    raw = open_lpa().es10(bytes.fromhex("BF2000"))
    info = v3.decode("EUICCInfo1", raw)
    assert info["lowestSvn"] == V2_SVN and info["highestSvn"] == V3_SVN
    assert bits(info["euiccRspCapability"]) == CAPABILITY_BITS
    assert info["euiccCiPKIdListForVerification"] == [CI_PKID["NIST"], CI_PKID["BRP"]]
    assert info["euiccCiPKIdListForSigning"] == [CI_PKID["NIST"], CI_PKID["BRP"]]
    assert info["euiccCiPKIdListForSigningV3"] == [CI_PKID["NIST"], CI_PKID["BRP"]]
    # a v2 LPA: the v2.5 module decodes it, svn is the lowest SVN, nothing else is lost
    old, length = v2.decode_with_length("EUICCInfo1", raw)
    assert length == len(raw)
    assert old == {"svn": V2_SVN, "euiccCiPKIdListForVerification": info["euiccCiPKIdListForVerification"],
                   "euiccCiPKIdListForSigning": info["euiccCiPKIdListForSigning"]}


def test_euicc_info2_v3_form(v3, v2):
    raw = open_lpa().es10(bytes.fromhex("BF2200"))
    info = v3.decode("EUICCInfo2", raw)
    assert (info["baseProfilePackageVersion"], info["lowestSvn"], info["highestSvn"]) == (
        bytes((2, 3, 1)), V2_SVN, V3_SVN)
    assert info["globalplatformVersion"] == bytes((2, 3, 0))
    assert bits(info["euiccRspCapability"]) == CAPABILITY_BITS
    assert info["lpaMode"] == 0                                       # lpad
    assert info["certificationDataObject"] == {"platformLabel": "euicc-emu",
                                               "discoveryBaseURL": "https://dloa.invalid/"}
    assert 22 in bits(info["uiccCapability"])                         # getIdentity
    old = v2.decode("EUICCInfo2", raw)
    assert (old["svn"], old["profileVersion"], old["ppVersion"]) == (V2_SVN, bytes((2, 3, 1)), bytes((1, 0, 0)))
    assert {0, 1, 3} <= bits(old["rspCapability"])                    # additionalProfile, crlSupport, test


def test_highest_svn_2_5_gives_the_v2_form(v3):
    lpa = open_lpa(V2_SVN)
    info1 = v3.decode("EUICCInfo1", lpa.es10(bytes.fromhex("BF2000")))
    info2 = v3.decode("EUICCInfo2", lpa.es10(bytes.fromhex("BF2200")))
    assert info1["lowestSvn"] == V2_SVN and "highestSvn" not in info1 and "euiccRspCapability" not in info1
    assert info2["lowestSvn"] == V2_SVN and {"highestSvn", "lpaMode", "certificationDataObject"}.isdisjoint(info2)


# v3.1 RSPDefinitions: the v2 members it renames (same tags), and the members it adds
V3_RENAMED = {"profileVersion": "baseProfilePackageVersion", "svn": "lowestSvn",
              "euiccFirmwareVer": "euiccFirmwareVersion", "rspCapability": "euiccRspCapability",
              "javacardVersion": "ts102241Version"}
V3_ADDED = {"certificationDataObject", "lpaMode", "euiccCiPKIdListForSigningV3", "highestSvn"}
V3_CHANGED = {"uiccCapability", "rspCapability"}   # v3: getIdentity (22); EuiccRspCapability bits


@pytest.mark.parametrize("settings", [{}, {"ts102241_version": None, "globalplatform_version": None,
                                           "euicc_category": None}], ids=["all-members", "no-optional"])
def test_euicc_info2_v2_and_v3_forms_agree_member_by_member(v3, v2, settings):
    """The v2 form (a v2.5 card) and the v3 form (a v3.1 card with the same values) carry the same
    v2 members under the v3.1 names; only the capability bit strings differ and v3 adds its four."""
    old = v2.decode("EUICCInfo2", open_lpa(V2_SVN, **settings).es10(bytes.fromhex("BF2200")))
    new = v3.decode("EUICCInfo2", open_lpa(V3_SVN, **settings).es10(bytes.fromhex("BF2200")))
    assert set(new) == {V3_RENAMED.get(name, name) for name in old} | V3_ADDED
    for name, member in old.items():
        if name not in V3_CHANGED:
            assert new[V3_RENAMED.get(name, name)] == member, name
    assert bits(new["uiccCapability"]) == bits(old["uiccCapability"]) | {22}
    assert bits(new["euiccRspCapability"]) == CAPABILITY_BITS and bits(old["rspCapability"]) == {0, 1, 3}
    assert ("javacardVersion" in old) == (not settings)


# -- the version of a session -------------------------------------------------------------------
def test_v2_server_gets_a_v2_session(v3, v2):
    """No sessionContext in serverSigned1: euiccSigned1 carries EUICCInfo2 in the v2 form."""
    _, ok = authenticate(open_lpa(), Smdp(), v2)
    info2 = ok["euiccSigned1"]["euiccInfo2"]
    assert info2["svn"] == V2_SVN and "eumCertificate" in ok
    assert "certificationDataObject" not in info2


def test_v3_server_gets_a_v3_session(v3):
    _, ok = authenticate(open_lpa(), SmdpV3(v3), v3)
    info2 = ok["euiccSigned1"]["euiccInfo2"]
    assert (info2["lowestSvn"], info2["highestSvn"]) == (V2_SVN, V3_SVN)
    assert "nextCertInChain" in ok


def test_v2_only_card_answers_a_v3_server_in_v2(v3):
    _, ok = authenticate(open_lpa(V2_SVN), SmdpV3(v3), v3)
    assert "highestSvn" not in ok["euiccSigned1"]["euiccInfo2"]


DEVICE = {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}


@pytest.mark.parametrize("ctx", [
    ("ctxParamsForCommonAuthentication", {"deviceInfo": DEVICE, "operationType": (b"\xc0", 2)}),   # both
], ids=["download-and-rpm"])
def test_v3_contexts_not_implemented_are_refused(v3, ctx):
    """One session is either a download or RPM (tests/rsp/test_rpm.py), not both: AuthenticateServer
    answers undefinedError (127) (Device Change: tests/rsp/test_device_change.py)."""
    lpa = open_lpa()
    challenge = lpa.call("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]
    smdp = SmdpV3(v3, ctx)
    kind, error = v3.decode("AuthenticateServerResponse", lpa.es10(smdp.authenticate_server(challenge)))
    assert (kind, error["authenticateErrorCode"]) == ("authenticateResponseError", 127)


@pytest.mark.parametrize("undefined", ["ctx-params1", "matching-id-source"])
def test_v3_undefined_choice_alternative_is_undefined_error(v3, undefined):
    """A CHOICE alternative v3.1 does not define (asn1tools: (None, None)) in ctxParams1: undefinedError
    (127), not an internal error (the card echoes ctxParams1 in euiccSigned1 and could not encode it)."""
    lpa = open_lpa()
    challenge = lpa.call("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]
    request = split(SmdpV3(v3).authenticate_server(challenge))
    raw = (bytes.fromhex("A4020500") if undefined == "ctx-params1"         # CtxParams1 has no [4]
           # ctxParamsForCommonAuthentication ('A0') + matchingIdSource [3] with none of its [0] [1] [2]
           else tlv(b"\xa0", b"".join(split(request[-1])) + bytes.fromhex("A3028900")))
    kind, error = v3.decode("AuthenticateServerResponse", lpa.es10(tlv(b"\xbf\x38", b"".join(request[:-1]) + raw)))
    assert (kind, error["authenticateErrorCode"]) == ("authenticateResponseError", 127)


# -- download v3 ----------------------------------------------------------------------------------
def test_v3_download_with_service_provider_message(v3):
    message = {"languageTag": "en", "message": "Welcome to GSMA Test"}
    lpa = open_lpa()
    data = v3_download(lpa, v3, v3_metadata(v3, serviceProviderMessage=message))
    kind, result = data["finalResult"]
    assert kind == "successResult", result
    # the pending install notification is a v3.1 ProfileInstallationResult (smdpOid mandatory)
    raw = lpa.es10(v3.encode("RetrieveNotificationsListRequest", {}))
    kind, pending = v3.decode("RetrieveNotificationsListResponse", raw)
    assert kind == "notificationList" and len(pending) == 1
    kind, pir = pending[0]
    assert kind == "profileInstallationResult"
    assert pir["profileInstallationResultData"]["smdpOid"]
    assert pir["profileInstallationResultData"]["transactionId"] == data["transactionId"]


@pytest.mark.parametrize(("members", "extra", "reason", "settings"), [
    ({}, tlv(b"\x9f\x7f", b"\x01"), UNKNOWN_TLV_IN_METADATA, {}),
    ({"lprConfiguration": {"pcmpAddress": "pcmp.example.com"}}, b"", LPR_NOT_SUPPORTED, {"lpa_proxy": False}),
    ({"deviceChangeConfiguration": ("requestToDp", {"smdpAddressForDc": "dc.example.com"})}, b"",
     UNKNOWN_TLV_IN_METADATA, {"device_change": False}),
], ids=["unknown-tlv", "lpr-without-lpa-proxy", "device-change-config-without-device-change"])
def test_v3_metadata_refusals(v3, members, extra, reason, settings):
    """The v3.1 StoreMetadata refusals (euicc.rsp.metadata): the download ends in an errorResult
    naming storeMetadata and the ErrorReason; no profile is installed.  A card without Device
    Change has no ErrorReason of its own for 'BF20' [U]: it refuses it as a TLV it does not define,
    as RPM updateMetadata refuses it (test_rpm)."""
    lpa = open_lpa(**settings)
    data = v3_download(lpa, v3, v3_metadata(v3, extra, **members))
    kind, result = data["finalResult"]
    assert kind == "errorResult" and (result["bppCommandId"], result["errorReason"]) == (STORE_METADATA, reason)
    profiles = lpa.call("ProfileInfoListRequest", {}, "ProfileInfoListResponse")[1]
    assert TS48_ICCID not in [p.get("iccid", b"").hex() for p in profiles]


def test_v2_session_keeps_the_v2_metadata_rules(v2):
    """A v2 session ignores a TLV the v2.5 module does not define, as before v3."""
    lpa = open_lpa()
    smdp = Smdp()
    dl, _ = authenticate(lpa, smdp, v2)
    prepare(lpa, dl)
    meta = tlv(b"\xbf\x25", b"".join(split(v2.encode("StoreMetadataRequest", {
        "iccid": swap(TS48_ICCID), "serviceProviderName": "GSMA Test", "profileName": "P"}))) + tlv(b"\x9f\x7f", b"\x01"))
    data = load(lpa, dl, smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), TS48.read_bytes(), meta))
    assert data["finalResult"][0] == "successResult"


def test_v2_metadata_the_v3_module_cannot_read_leaves_the_profile_usable(v2, v3):
    """A v2 session skips a 'BD' the v2.5 module does not define, even one that is not a v3.1
    EnterpriseConfiguration; the profile it installs can still be listed and enabled (the v3.1
    checks on kept metadata see no Enterprise Configuration, not an error)."""
    lpa = open_lpa()
    smdp = Smdp()
    dl, _ = authenticate(lpa, smdp, v2)
    prepare(lpa, dl)
    meta = tlv(b"\xbf\x25", b"".join(split(v2.encode("StoreMetadataRequest", {
        "iccid": swap(TS48_ICCID), "serviceProviderName": "GSMA Test", "profileName": "P"}))) + tlv(b"\xbd", b"\x01"))
    data = load(lpa, dl, smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), TS48.read_bytes(), meta))
    assert data["finalResult"][0] == "successResult"
    request = {"searchCriteria": ("iccid", swap(TS48_ICCID)), "tagList": bytes.fromhex("5ABD")}
    raw = lpa.es10(v3.encode("ProfileInfoListRequest", request))
    assert v3.decode("ProfileInfoListResponse", raw) == ("profileInfoListOk", [{"iccid": swap(TS48_ICCID)}])
    enable = {"profileIdentifier": ("iccid", swap(TS48_ICCID)), "refreshFlag": False}
    assert lpa.call("EnableProfileRequest", enable, "EnableProfileResponse") == {"enableResult": 0}


# -- CancelSession v3 -----------------------------------------------------------------------------
def test_cancel_session_v3_reason(v3):
    lpa = open_lpa()
    smdp = SmdpV3(v3)
    dl, _ = authenticate(lpa, smdp, v3)
    raw = lpa.es10(v3.encode("CancelSessionRequest", {"transactionId": smdp.transaction_id,
                                                      "reason": SESSION_ABORTED}))
    kind, ok = v3.decode("CancelSessionResponse", raw)
    assert kind == "cancelSessionResponseOk"
    signed = ok["euiccCancelSessionSigned"]
    assert (signed["transactionId"], signed["reason"]) == (smdp.transaction_id, SESSION_ABORTED)
    verify(dl.euicc_cert, split(split(raw)[0])[0], ok["euiccCancelSessionSignature"])
    # the session is over: a second cancel is refused with invalidTransactionId (5)
    again = lpa.es10(v3.encode("CancelSessionRequest", {"transactionId": smdp.transaction_id, "reason": 0}))
    assert v3.decode("CancelSessionResponse", again) == ("cancelSessionResponseError", 5)
