"""ES10b download: AuthenticateServer -> PrepareDownload -> LoadBoundProfilePackage (SGP.22 v2.5
§5.7.13, §5.7.17, §5.7.6), then ES10c enable -> disable -> delete, through STORE DATA APDUs."""
from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature

from euicc.asn1 import rsp
from tests.rsp import flow
from tests.rsp.helpers import EID1, TS48, TS48_ICCID, Smdp, hash_cc, metadata, swap, verify

ISDP1 = bytes.fromhex("A0000005591010FFFFFFFF8900001100")   # after the provisioned test profile's 1000


def profiles(lpa) -> list[dict]:
    kind, infos = lpa.call("ProfileInfoListRequest", {}, "ProfileInfoListResponse")
    assert kind == "profileInfoListOk"
    return infos


@pytest.mark.parametrize("tag", ["NIST", "BRP"])
def test_full_cycle(lpa, tag):
    before = profiles(lpa)
    result = flow.full_download(lpa, Smdp(tag))
    kind, success = result["finalResult"]
    assert kind == "successResult", success
    assert success["aid"] == ISDP1
    # SGP.26 SM-DP+ OID 2.999.10 of CERT.DPpb (checked on the DER: asn1tools 0.169 decodes
    # first arcs of 2 with a second arc > 39 wrongly, e.g. as '26.39.10')
    assert b"\x06\x03\x88\x37\x0a" in rsp().encode("ProfileInstallationResultData", result)
    meta = result["notificationMetadata"]
    assert meta["notificationAddress"] == "testsmdpplus1.example.com"
    assert meta["profileManagementOperation"] == (b"\x80", 1)
    assert meta["iccid"] == swap(TS48_ICCID)
    infos = profiles(lpa)
    assert len(infos) == len(before) + 1
    new = [i for i in infos if i["iccid"] == swap(TS48_ICCID)][0]
    assert (new["isdpAid"], new["profileState"], new["profileName"]) == (ISDP1, 0, "TS.48 test profile")
    assert new["dpProprietaryData"] == {"dpOid": "1.3.6.1.4.1.99999.1"}

    enable = {"profileIdentifier": ("iccid", swap(TS48_ICCID)), "refreshFlag": False}
    assert lpa.call("EnableProfileRequest", enable, "EnableProfileResponse") == {"enableResult": 0}
    states = {i["isdpAid"]: i["profileState"] for i in profiles(lpa)}
    assert states[ISDP1] == 1 and list(states.values()).count(1) == 1
    # EF.ICCID of the enabled profile is the package's ICCID
    lpa.card.transmit(bytes.fromhex("00A40004023F00"))
    r = lpa.card.transmit(bytes.fromhex("00A40004022FE2"))
    r = lpa.card.transmit(bytes.fromhex("00B000000A"))
    assert r == swap(TS48_ICCID) + b"\x90\x00"
    lpa.select_isd_r()
    disable = {"profileIdentifier": ("isdpAid", ISDP1), "refreshFlag": False}
    assert lpa.call("DisableProfileRequest", disable, "DisableProfileResponse") == {"disableResult": 0}
    assert lpa.call("DeleteProfileRequest", ("isdpAid", ISDP1), "DeleteProfileResponse") == {"deleteResult": 0}
    assert len(profiles(lpa)) == len(before)


def test_download_with_confirmation_code_and_ppk(lpa):
    smdp = Smdp()
    dl = flow.authenticate(lpa, smdp)
    value = flow.prepare(lpa, dl, cc=b"12345678")
    assert value["euiccSigned2"]["hashCc"] == hash_cc(b"12345678", smdp.transaction_id)
    segments = smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), TS48.read_bytes(),
                                          metadata(), ppk=True)
    assert flow.load(lpa, dl, segments)["finalResult"][0] == "successResult"


def test_whole_bpp_in_one_command(lpa):
    smdp = Smdp()
    dl = flow.authenticate(lpa, smdp)
    flow.prepare(lpa, dl)
    segments = smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), TS48.read_bytes(), metadata())
    assert flow.load(lpa, dl, [b"".join(segments)])["finalResult"][0] == "successResult"


def _tampered(lpa, index: int, offset: int = -12):
    before_keys = set(lpa.card.store.keys("fs/")) | set(lpa.card.store.keys("profile/"))
    smdp = Smdp()
    dl = flow.authenticate(lpa, smdp)
    flow.prepare(lpa, dl)
    segments = smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), TS48.read_bytes(), metadata())
    seg = bytearray(segments[index])
    seg[offset] ^= 0x01
    segments[index] = bytes(seg)
    for s in segments[:index]:
        assert lpa.es10(s) == b""
    raw = lpa.es10(segments[index])
    pir = rsp().decode("ProfileInstallationResult", raw)["profileInstallationResultData"]
    after_keys = set(lpa.card.store.keys("fs/")) | set(lpa.card.store.keys("profile/"))
    return pir, before_keys, after_keys


@pytest.mark.parametrize("index,command", [(1, 1), (3, 2), (5, 5), (-1, 5)])
def test_altered_segment_fails_cleanly(lpa, index, command):
    pir, before, after = _tampered(lpa, index)
    kind, error = pir["finalResult"]
    assert kind == "errorResult"
    assert (error["bppCommandId"], error["errorReason"]) == (command, 8)   # scp03tSecurityError
    assert before == after                                                  # nothing left behind
    assert all(i["iccid"] != swap(TS48_ICCID) for i in profiles(lpa))
    # the session is over: a further segment is refused
    lpa.es10(bytes.fromhex("8603000000"), expect_sw=0x6985)


def test_bad_smdp_sign_in_initialise_secure_channel(lpa):
    pir, before, after = _tampered(lpa, 0, offset=-3)
    assert pir["finalResult"] == ("errorResult", {"bppCommandId": 0, "errorReason": 2})
    assert before == after


def test_wrong_transaction_id_in_bpp(lpa):
    smdp = Smdp()
    dl = flow.authenticate(lpa, smdp)
    flow.prepare(lpa, dl)
    smdp.transaction_id = b"\x01" * 16
    segments = smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), TS48.read_bytes(), metadata())
    raw = lpa.es10(segments[0])
    pir = rsp().decode("ProfileInstallationResult", raw)["profileInstallationResultData"]
    assert pir["finalResult"] == ("errorResult", {"bppCommandId": 0, "errorReason": 3})


def test_unsupported_crt(lpa):
    smdp = Smdp()
    dl = flow.authenticate(lpa, smdp)
    flow.prepare(lpa, dl)
    segments = smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), TS48.read_bytes(), metadata(),
                                          key_type=0x80)
    pir = rsp().decode("ProfileInstallationResult", lpa.es10(segments[0]))["profileInstallationResultData"]
    assert pir["finalResult"] == ("errorResult", {"bppCommandId": 0, "errorReason": 4})


def test_iccid_mismatch_and_already_exists(lpa):
    result = flow.full_download(lpa, meta=metadata("89000123456789012359"))
    assert result["finalResult"] == ("errorResult", {"bppCommandId": 5, "errorReason": 13})
    assert flow.full_download(lpa)["finalResult"][0] == "successResult"
    result = flow.full_download(lpa)
    assert result["finalResult"] == ("errorResult", {"bppCommandId": 2, "errorReason": 9})


def test_ppr_not_allowed_without_owner(lpa):
    result = flow.full_download(lpa, meta=metadata(profilePolicyRules=(b"\x40", 2), profileClass=2))
    assert result["finalResult"] == ("errorResult", {"bppCommandId": 2, "errorReason": 15})


def test_bad_profile_package(lpa):
    result = flow.full_download(lpa, upp=TS48.read_bytes()[:-7])
    assert result["finalResult"] == ("errorResult", {"bppCommandId": 5, "errorReason": 12})


def test_bpp_without_session_is_refused(lpa):
    lpa.es10(bytes.fromhex("A30100"), expect_sw=0x6985)
    raw = lpa.es10(bytes.fromhex("BF3603BF2300"))
    pir = rsp().decode("ProfileInstallationResult", raw)["profileInstallationResultData"]
    assert pir["finalResult"] == ("errorResult", {"bppCommandId": 0, "errorReason": 3})


def test_pir_kept_as_notification(lpa):
    result = flow.full_download(lpa)
    seq = result["notificationMetadata"]["seqNumber"]
    kind, metas = lpa.call("ListNotificationRequest", {}, "ListNotificationResponse")
    assert [m["seqNumber"] for m in metas] == [seq]
    kind, pending = lpa.call("RetrieveNotificationsListRequest", {"searchCriteria": ("seqNumber", seq)},
                             "RetrieveNotificationsListResponse")
    assert kind == "notificationList"
    assert pending[0][0] == "profileInstallationResult"
    assert pending[0][1]["profileInstallationResultData"] == result


def test_euicc_signature_is_not_the_servers(lpa):
    smdp = Smdp()
    dl = flow.authenticate(lpa, smdp)
    with pytest.raises(InvalidSignature):
        verify(dl.euicc_cert, b"other data", dl.euicc_signature1)
