"""ES10a, ES10c, notifications, GetRAT, LoadCRL, EUICCInfo and refusals (SGP.22 v2.5 §5.7)."""
from __future__ import annotations

import datetime as dt

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from euicc.asn1 import rsp
from tests.rsp import flow
from tests.rsp.helpers import CI_PKID, SGP26, TS48_ICCID, Smdp, load_key, metadata, split, swap, verify

PRELOADED = bytes.fromhex("A0000005591010FFFFFFFF8900001000")   # provisioned test profile, enabled
ISDP1 = bytes.fromhex("A0000005591010FFFFFFFF8900001100")
ICCID = swap(TS48_ICCID)
NOTIFY_ALL = [{"profileManagementOperation": (b"\xf0", 4), "notificationAddress": "notify.example.com"}]


def enable(lpa, ident, refresh=False) -> int:
    return lpa.call("EnableProfileRequest", {"profileIdentifier": ident, "refreshFlag": refresh},
                    "EnableProfileResponse")["enableResult"]


def disable(lpa, ident, refresh=False) -> int:
    return lpa.call("DisableProfileRequest", {"profileIdentifier": ident, "refreshFlag": refresh},
                    "DisableProfileResponse")["disableResult"]


def delete(lpa, ident) -> int:
    return lpa.call("DeleteProfileRequest", ident, "DeleteProfileResponse")["deleteResult"]


def install(lpa, **meta) -> None:
    assert flow.full_download(lpa, meta=metadata(**meta))["finalResult"][0] == "successResult"


def test_euicc_info(lpa):
    info1 = lpa.call("GetEuiccInfo1Request", {}, "EUICCInfo1")
    assert info1["svn"] == bytes((2, 5, 0))
    assert set(info1["euiccCiPKIdListForSigning"]) == set(CI_PKID.values())
    info2 = lpa.call("GetEuiccInfo2Request", {}, "EUICCInfo2")
    assert info2["svn"] >= bytes((2, 5, 0))
    assert set(info2["euiccCiPKIdListForVerification"]) == set(CI_PKID.values())


def test_get_eid_and_refusals(lpa):
    assert lpa.es10(bytes.fromhex("BF3E035C015A")) == bytes.fromhex("BF3E125A10") + bytes.fromhex(
        "89049032123451234512345678901235")
    lpa.es10(bytes.fromhex("BF3E035C014F"), expect_sw=0x6A80)
    lpa.es10(bytes.fromhex("BF5600"), expect_sw=0x6A88)          # SGP.32 GetCerts: not an IoT eUICC
    lpa.es10(bytes.fromhex("BF3E055C015A"), expect_sw=0x6A80)     # truncated
    lpa.es10(bytes.fromhex("BF2E0000"), expect_sw=0x6A80)         # trailing byte


def test_configured_addresses(lpa):
    assert lpa.call("EuiccConfiguredAddressesRequest", {}, "EuiccConfiguredAddressesResponse") == {
        "rootDsAddress": "lpa.ds.gsma.com"}
    assert lpa.call("SetDefaultDpAddressRequest", {"defaultDpAddress": "smdp.example.com"},
                    "SetDefaultDpAddressResponse") == {"setDefaultDpAddressResult": 0}
    assert lpa.call("EuiccConfiguredAddressesRequest", {}, "EuiccConfiguredAddressesResponse")[
        "defaultDpAddress"] == "smdp.example.com"
    assert lpa.call("EuiccMemoryResetRequest", {"resetOptions": (b"\x20", 3)},
                    "EuiccMemoryResetResponse") == {"resetResult": 0}
    assert "defaultDpAddress" not in lpa.call("EuiccConfiguredAddressesRequest", {},
                                              "EuiccConfiguredAddressesResponse")


def test_state_rules_and_notifications(lpa):
    install(lpa, notificationConfigurationInfo=NOTIFY_ALL)
    assert enable(lpa, ("iccid", swap("8900000000000000000"))) == 1          # iccidOrAidNotFound
    assert enable(lpa, ("isdpAid", PRELOADED)) == 2                         # already enabled
    assert disable(lpa, ("isdpAid", ISDP1)) == 2                            # profileNotInEnabledState
    assert delete(lpa, ("isdpAid", PRELOADED)) == 2                         # enabled: not deleted
    assert enable(lpa, ("iccid", ICCID)) == 0
    assert delete(lpa, ("iccid", ICCID)) == 2
    assert disable(lpa, ("iccid", ICCID)) == 0
    assert delete(lpa, ("iccid", ICCID)) == 0
    assert delete(lpa, ("iccid", ICCID)) == 1
    kind, metas = lpa.call("ListNotificationRequest", {}, "ListNotificationResponse")
    ops = [(m["profileManagementOperation"], m["notificationAddress"]) for m in metas]
    assert ops == [((b"\x80", 1), "testsmdpplus1.example.com"), ((b"\x40", 2), "notify.example.com"),
                   ((b"\x20", 3), "notify.example.com"), ((b"\x10", 4), "notify.example.com")]
    seqs = [m["seqNumber"] for m in metas]
    assert seqs == sorted(seqs) and len(set(seqs)) == 4
    kind, only_enable = lpa.call("ListNotificationRequest", {"profileManagementOperation": (b"\x40", 2)},
                                 "ListNotificationResponse")
    assert [m["seqNumber"] for m in only_enable] == [seqs[1]]
    raw = lpa.es10(rsp().encode("RetrieveNotificationsListRequest",
                                {"searchCriteria": ("seqNumber", seqs[3])}))
    kind, pending = rsp().decode("RetrieveNotificationsListResponse", raw)
    other = pending[0][1]
    cert = rsp().encode("Certificate", other["euiccCertificate"])
    tbs = split(split(split(raw)[0])[0])[0]                              # BF2B { A0 { 30 { BF2F ...
    verify(cert, tbs, other["euiccNotificationSignature"])
    assert lpa.call("NotificationSentRequest", {"seqNumber": seqs[3]}, "NotificationSentResponse") == {
        "deleteNotificationStatus": 0}
    assert lpa.call("NotificationSentRequest", {"seqNumber": seqs[3]}, "NotificationSentResponse") == {
        "deleteNotificationStatus": 1}
    assert lpa.call("RetrieveNotificationsListRequest", {"searchCriteria": ("seqNumber", seqs[3])},
                    "RetrieveNotificationsListResponse") == ("notificationsListResultError", 1)


def test_ppr1_ppr2_for_operational_profiles(lpa):
    owner = {"mccMnc": bytes.fromhex("00F110")}
    install(lpa, profileClass=2, profilePolicyRules=(b"\x60", 3), profileOwner=owner)
    assert enable(lpa, ("iccid", ICCID)) == 0
    assert disable(lpa, ("iccid", ICCID)) == 3                                # PPR1
    assert enable(lpa, ("isdpAid", PRELOADED)) == 3                           # would disable it
    assert lpa.call("EuiccMemoryResetRequest", {"resetOptions": (b"\x80", 1)},
                    "EuiccMemoryResetResponse") == {"resetResult": 0}
    assert all(i["iccid"] != ICCID for i in
               lpa.call("ProfileInfoListRequest", {}, "ProfileInfoListResponse")[1])


def test_refresh_and_cat_busy(lpa):
    install(lpa)
    card = lpa.card
    sw = card.transmit(bytes.fromhex("801000000AFFFFFFFFFFFFFFFFFFFF"))[-2:]
    if sw[0] == 0x91:   # an SGP.02 card registers the location status event first (TS 102 223 §6.4.16)
        assert card.transmit(bytes([0x80, 0x12, 0, 0, sw[1]]))[:11] == bytes.fromhex("D00C810301050082028182")
        assert card.transmit(bytes.fromhex("801400000C810301050082028281830100")) == b"\x90\x00"
    else:
        assert sw == b"\x90\x00"
    assert enable(lpa, ("iccid", ICCID), refresh=True) == 0
    assert lpa.sws[-1] >> 8 == 0x91                                         # REFRESH pending
    assert disable(lpa, ("iccid", ICCID), refresh=True) == 5                 # catBusy
    r = card.transmit(bytes([0x80, 0x12, 0, 0, lpa.sws[-2] & 0xFF]))
    assert r[0] == 0xD0 and r[2:4] == b"\x81\x03" and r[5:7] == b"\x01\x09"   # REFRESH, qualifier 09
    assert disable(lpa, ("iccid", ICCID), refresh=True) == 5                 # fetched, not answered
    assert disable(lpa, ("iccid", ICCID), refresh=False) == 0


def test_profiles_info_criteria_and_tags(lpa):
    install(lpa)
    assert lpa.call("SetNicknameRequest", {"iccid": ICCID, "profileNickname": "work"},
                    "SetNicknameResponse") == {"setNicknameResult": 0}
    assert lpa.call("SetNicknameRequest", {"iccid": swap("8900000000000000000"), "profileNickname": "x"},
                    "SetNicknameResponse") == {"setNicknameResult": 1}
    raw = lpa.es10(rsp().encode("ProfileInfoListRequest",
                                {"searchCriteria": ("iccid", ICCID), "tagList": bytes.fromhex("5A909F70")}))
    assert raw == bytes.fromhex("BF2D1AA018E316") + bytes.fromhex("5A0A") + ICCID + bytes.fromhex(
        "9F700100") + b"\x90\x04work"
    kind, infos = lpa.call("ProfileInfoListRequest", {"searchCriteria": ("profileClass", 0)},
                           "ProfileInfoListResponse")
    assert [i["isdpAid"] for i in infos] == [PRELOADED]
    kind, infos = lpa.call("ProfileInfoListRequest", {"searchCriteria": ("isdpAid", bytes(16))},
                           "ProfileInfoListResponse")
    assert infos == []
    assert lpa.call("ProfileInfoListRequest", {"tagList": b"\x9f"}, "ProfileInfoListResponse") == (
        "profileInfoListError", 1)


def test_memory_reset_options(lpa):
    assert lpa.call("EuiccMemoryResetRequest", {"resetOptions": (b"\xc0", 2)},
                    "EuiccMemoryResetResponse") == {"resetResult": 1}       # preloaded test profile kept
    install(lpa, profileClass=0)
    assert lpa.call("EuiccMemoryResetRequest", {"resetOptions": (b"\x40", 2)},
                    "EuiccMemoryResetResponse") == {"resetResult": 0}
    kind, infos = lpa.call("ProfileInfoListRequest", {}, "ProfileInfoListResponse")
    assert [i["isdpAid"] for i in infos] == [PRELOADED]


def test_get_rat(lpa):
    rat = lpa.call("GetRatRequest", {}, "GetRatResponse")["rat"]
    assert rat[0]["pprIds"] == (b"\x60", 3)


def _crl(key, aki: bytes, serials: list[int]) -> bytes:
    ci = x509.load_der_x509_certificate((SGP26 / "CertificateIssuer" / "CERT_CI_ECDSA_NIST.der").read_bytes())
    now = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(ci.subject).last_update(now)
               .next_update(now + dt.timedelta(days=30))
               .add_extension(x509.AuthorityKeyIdentifier(aki, None, None), False)
               .add_extension(x509.CRLNumber(1), False))
    for s in serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(s).revocation_date(now).build())
    from cryptography.hazmat.primitives import serialization
    return builder.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_load_crl(lpa):
    ci_key = load_key(SGP26 / "CertificateIssuer" / "SK_CI_ECDSA_NIST.pem")
    smdp = Smdp()
    dp_serial = x509.load_der_x509_certificate(smdp.auth_cert).serial_number

    def load(crl: bytes):
        return lpa.call("LoadCRLRequest", {"crl": rsp().decode("CertificateList", crl)}, "LoadCRLResponse")

    assert load(_crl(ec.generate_private_key(ec.SECP256R1()), CI_PKID["NIST"], [5])) == ("loadCRLResponseError", 1)
    assert load(_crl(ci_key, bytes(20), [5])) == ("loadCRLResponseError", 4)
    assert load(_crl(ci_key, CI_PKID["NIST"], [dp_serial])) == ("loadCRLResponseOk", {})
    c = lpa.call("GetEuiccChallengeRequest", {}, "GetEuiccChallengeResponse")["euiccChallenge"]
    kind, err = rsp().decode("AuthenticateServerResponse", lpa.es10(smdp.authenticate_server(c)))
    assert (kind, err["authenticateErrorCode"]) == ("authenticateResponseError", 1)   # revoked
    lpa.es10(bytes.fromhex("BF350430020500"), expect_sw=0x6A80)


@pytest.mark.parametrize("request_hex", ["BF3100", "BF2D03A00100", "BF33025A00", "BF2903000000", "BF38820100",
                                         # searchCriteria with an alternative SGP.22 does not define (found
                                         # by the card_session_mep fuzz harness: an internal error before)
                                         "BF2B11A00C5A0A98000100000000000001810100",
                                         # a CHOICE alternative SGP.22 does not define ('82' is none of
                                         # isdpAid '4F', iccid '5A', profileClass '95'), asn1tools decodes it
                                         # as (None, None): GetProfilesInfo searchCriteria (an internal error
                                         # before), Enable/Disable profileIdentifier, DeleteProfileRequest
                                         "BF2D05A003820100", "BF3108A003820100810100",
                                         "BF3208A003820100810100", "BF3303820100"])
def test_malformed_requests_give_6a80(lpa, request_hex):
    lpa.es10(bytes.fromhex(request_hex), expect_sw=0x6A80)
