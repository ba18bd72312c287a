"""SGP.22 v3.1 Remote Profile Management on the card (in process): ES10b.LoadRpmPackage 'BF44'
with each RPM command, the authorisation of the SM-DP+ by the profile's rpmConfiguration, every
refusal path, the signed / unsigned results and the RPM notifications.

Host side only (tests.rsp.rpm_host): requests built and answers decoded with the published v3.1
module compiled here, signatures made with the SGP.26 DPauth key and checked with the eUICC
certificate the card sent.  Known answers: the result, error and event values of the v3.1 module
text (enableResult ok 0 / iccidOrAidNotFound 1 / profileNotInDisabledState 2 /
disallowedForRpm 9, deleteResult commandError 7, LoadRpmPackageErrorCodeSigned invalidSignature 2 /
invalidTransactionId 5, NotSigned noSession 4, rpmProcessingTerminated 2/4/5/6,
UpdateMetadataResponse 12/14/15, ContactPcmpResponse 2/13, NotificationEvent bits 4-7).
"""
from __future__ import annotations

import pytest

from tests.rsp.helpers import swap
from tests.rsp.rpm_host import (ALL_TYPES, DEVICE, OWNER_OID, RPM, answer, authenticate, command, compile_v3,
                                dpauth_oid, install, package_request, rpm_configuration)
from tests.rsp.test_v3 import V2_SVN, SmdpV3, open_lpa

A, B = "89000123456789012341", "89000123456789012358"
NOTIFY_ALL = [{"profileManagementOperation": (b"\xff", 8), "notificationAddress": "notify.example"}]
ENABLE_BIT, RPM_ENABLE, RPM_DISABLE, RPM_DELETE, LOAD_RPM_RESULT = 0x40, 0x08, 0x04, 0x02, 0x01


@pytest.fixture(scope="module")
def v3():
    return compile_v3()


class RpmSmdp(SmdpV3):
    """The v3 SM-DP+ of tests/rsp asking for operationType {rpm}."""

    def __init__(self, v3_spec, **kwargs) -> None:
        super().__init__(v3_spec, ("ctxParamsForCommonAuthentication", {"deviceInfo": DEVICE, "operationType": RPM}),
                         **kwargs)


def card_with(v3, settings: dict | None = None, **profiles):
    """A v3 card (EuiccInfoSettings ``settings``) holding one profile per ICCID in ``profiles``
    (value: extra metadata members)."""
    lpa = open_lpa(**(settings or {}))
    for iccid, members in profiles.items():
        install(lpa, v3, SmdpV3, iccid, **members)
    return lpa


def managed(**extra) -> dict:
    return {"rpmConfiguration": rpm_configuration(**extra), "notificationConfigurationInfo": NOTIFY_ALL}


def run(lpa, v3, commands, **kwargs):
    smdp = RpmSmdp(v3)
    dl = authenticate(lpa, smdp, v3)
    return answer(lpa, v3, dl, package_request(v3, smdp, dl, commands, **kwargs))


def states(lpa, v3) -> dict[str, int]:
    """State of the test's profiles A and B (the card's own test profile left out)."""
    raw = lpa.es10(v3.encode("ProfileInfoListRequest", {}))
    _, infos = v3.decode("ProfileInfoListResponse", raw)
    return {i["iccid"].hex(): i["profileState"] for i in infos if i["iccid"] in (swap(A), swap(B))}


def notifications(lpa, v3) -> list[dict]:
    _, metas = v3.decode("ListNotificationResponse", lpa.es10(v3.encode("ListNotificationRequest", {})))
    return metas


# -- each command -----------------------------------------------------------------------------------
def test_enable_by_rpm(v3):
    lpa = card_with(v3, **{A: managed()})
    result = run(lpa, v3, [command("enable", A)])
    assert result.kind == "loadRpmPackageResultSigned"
    assert result.results == [{"iccid": swap(A), "rpmCommandResultData": ("enableResult", {"enableResult": 0})}]
    assert result.data["smdpOid"] in (dpauth_oid(), "26.39.10")       # asn1tools: arc 2.999 decodes so
    meta = result.data["notificationMetadata"]
    assert meta["profileManagementOperation"] == (bytes((LOAD_RPM_RESULT,)), 8)
    assert meta["notificationAddress"] == "testsmdpplus1.example.com"
    assert states(lpa, v3)[swap(A).hex()] == 1
    events = [(n["profileManagementOperation"][0][0], n.get("iccid")) for n in notifications(lpa, v3)]
    assert (RPM_ENABLE, swap(A)) in events and (ENABLE_BIT, swap(A)) not in events
    assert events[-1] == (LOAD_RPM_RESULT, None)


def test_enable_disables_the_enabled_profile_with_rpm_disable_notification(v3):
    lpa = card_with(v3, **{A: managed(), B: managed()})
    assert run(lpa, v3, [command("enable", A)]).results[0]["rpmCommandResultData"][1]["enableResult"] == 0
    assert run(lpa, v3, [command("enable", B)]).results[0]["rpmCommandResultData"][1]["enableResult"] == 0
    assert states(lpa, v3) == {swap(A).hex(): 0, swap(B).hex(): 1}
    events = [(n["profileManagementOperation"][0][0], n.get("iccid")) for n in notifications(lpa, v3)]
    assert (RPM_DISABLE, swap(A)) in events


def test_disable_then_delete_in_one_package(v3):
    lpa = card_with(v3, **{A: managed()})
    run(lpa, v3, [command("enable", A)])
    result = run(lpa, v3, [command("disable", A), command("delete", A)])
    assert [r["rpmCommandResultData"] for r in result.results] == [
        ("disableResult", {"disableResult": 0}), ("deleteResult", {"deleteResult": 0})]
    assert states(lpa, v3) == {}
    events = [n["profileManagementOperation"][0][0] for n in notifications(lpa, v3)]
    assert RPM_DISABLE in events and RPM_DELETE in events


def test_list_profile_info_by_iccid_and_by_owner_with_tag_list(v3):
    lpa = card_with(v3, **{A: managed(), B: {}})
    by_iccid, by_owner = run(lpa, v3, [command("listProfileInfo", searchCriteria=("iccid", swap(A))),
                                       command("listProfileInfo", searchCriteria=("profileOwnerOid", OWNER_OID),
                                               tagList=bytes.fromhex("5A9F70BA"))]).results
    assert "iccid" not in by_iccid
    kind, (ok, infos) = by_iccid["rpmCommandResultData"]
    assert (kind, ok, len(infos)) == ("listProfileInfoResult", "profileInfoListOk", 1)
    assert infos[0]["iccid"] == swap(A) and infos[0]["profileName"] == f"Profile {A}"
    assert infos[0]["rpmConfiguration"]["managingDpList"][0]["rpmType"] == ALL_TYPES
    _, (_, owned) = by_owner["rpmCommandResultData"]
    assert [set(i) for i in owned] == [{"iccid", "profileState", "rpmConfiguration"}]   # B is not managed


def test_update_metadata(v3):
    lpa = card_with(v3, **{A: managed()})
    update = {"profileName": "Renamed by RPM", "hriServerAddress": "hri.example",
              "tagsForDeletion": bytes.fromhex("B6")}
    result = run(lpa, v3, [command("updateMetadata", A, updateMetadataRequest=update)])
    assert result.results == [{"iccid": swap(A), "rpmCommandResultData": ("updateMetadataResult", 0)}]
    request = v3.encode("ProfileInfoListRequest", {"searchCriteria": ("iccid", swap(A))})
    _, (info,) = v3.decode("ProfileInfoListResponse", lpa.es10(request))
    assert info["profileName"] == "Renamed by RPM" and "notificationConfigurationInfo" not in info
    (info,) = run(lpa, v3, [command("listProfileInfo", searchCriteria=("iccid", swap(A)))]).results
    assert info["rpmCommandResultData"][1][1][0]["hriServerAddress"] == "hri.example"


@pytest.mark.parametrize("update, code", [
    ({"profilePolicyRules": (b"\x40", 2)}, 12),                                   # set PPR1: only unset
    ({"rpmConfiguration": {**rpm_configuration(), "profileOwnerOid": "1.2.3"}}, 14),  # owner changes
    ({"tagsForDeletion": bytes.fromhex("92")}, 15),                               # profileName is mandatory
    ({"enterpriseConfiguration": {"enterpriseOid": "1.2.3", "enterpriseName": "E"}}, 6),
], ids=["ppr-set", "owner-change", "delete-mandatory", "enterprise"])
def test_update_metadata_refusals_change_nothing(v3, update, code):
    lpa = card_with(v3, **{A: managed()})
    before = lpa.es10(v3.encode("ProfileInfoListRequest", {}))
    result = run(lpa, v3, [command("updateMetadata", A, updateMetadataRequest=update)])
    assert result.results[0]["rpmCommandResultData"] == ("updateMetadataResult", code)
    assert lpa.es10(v3.encode("ProfileInfoListRequest", {})) == before


def test_update_metadata_outside_the_tag_list_is_a_command_error(v3):
    config = rpm_configuration()
    config["managingDpList"][0]["tagList"] = bytes.fromhex("92")        # may change profileName only
    lpa = card_with(v3, **{A: {"rpmConfiguration": config}})
    ok, refused = run(lpa, v3, [command("updateMetadata", A, True, updateMetadataRequest={"profileName": "N"}),
                                command("updateMetadata", A, updateMetadataRequest={"hriServerAddress": "h"})]).results
    assert ok["rpmCommandResultData"] == ("updateMetadataResult", 0)
    assert refused["rpmCommandResultData"] == ("updateMetadataResult", 7)


def test_contact_pcmp_refusals(v3):
    lpa = card_with(v3, **{A: managed()})
    (disabled,) = run(lpa, v3, [command("contactPcmp", A, dpiRpm="dpi")]).results
    assert disabled["rpmCommandResultData"] == ("contactPcmpResult", ("contactPcmpResponseError", 2))
    run(lpa, v3, [command("enable", A)])
    (no_lpr,) = run(lpa, v3, [command("contactPcmp", A)]).results
    assert no_lpr["rpmCommandResultData"] == ("contactPcmpResult", ("contactPcmpResponseError", 13))


# -- authorisation ------------------------------------------------------------------------------------
@pytest.mark.parametrize("members, update", [
    ({}, 7),                                                                 # no rpmConfiguration
    ({"rpmConfiguration": rpm_configuration(oid="1.3.6.1.4.1.99999.7")}, 7),  # another Managing SM-DP+
    ({"rpmConfiguration": rpm_configuration(rpm_type=(b"\x40", 2))}, 0),      # rpmType: disable only
    ({"rpmConfiguration": rpm_configuration(allowedCiPKId=bytes(20))}, 7),    # another CI
], ids=["no-rpm-configuration", "other-smdp", "wrong-rpm-type", "other-ci"])
def test_unauthorised_smdp_is_refused_per_command(v3, members, update):
    """updateMetadata has no RpmType bit: a Managing SM-DP+ of any rpmType may run it (rpm_config)."""
    lpa = card_with(v3, **{A: members})
    results = run(lpa, v3, [command("enable", A, True), command("delete", A, True),
                            command("updateMetadata", A, True, updateMetadataRequest={"profileName": "X"}),
                            command("listProfileInfo", searchCriteria=("iccid", swap(A)), continue_on_failure=True),
                            command("contactPcmp", A, True)]).results
    assert [r["rpmCommandResultData"] for r in results] == [
        ("enableResult", {"enableResult": 9}), ("deleteResult", {"deleteResult": 7}),
        ("updateMetadataResult", update), ("listProfileInfoResult", ("profileInfoListOk", [])),
        ("contactPcmpResult", ("contactPcmpResponseError", 7))]
    assert states(lpa, v3) == {swap(A).hex(): 0}


def test_profile_not_found_and_wrong_state(v3):
    lpa = card_with(v3, **{A: managed()})
    results = run(lpa, v3, [command("enable", B, True), command("delete", B, True)]).results
    assert [r["rpmCommandResultData"][1] for r in results] == [{"enableResult": 1}, {"deleteResult": 1}]
    (result,) = run(lpa, v3, [command("disable", A)]).results
    assert result["rpmCommandResultData"][1] == {"disableResult": 2}


def test_a_failed_command_ends_the_package_without_continue_on_failure(v3):
    lpa = card_with(v3, **{A: managed()})
    results = run(lpa, v3, [command("enable", B), command("updateMetadata", A, updateMetadataRequest={
        "profileName": "not reached"})]).results
    assert [r["iccid"] for r in results] == [swap(B)]
    (info,) = run(lpa, v3, [command("listProfileInfo", searchCriteria=("iccid", swap(A)))]).results
    assert info["rpmCommandResultData"][1][1][0]["profileName"] == f"Profile {A}"


@pytest.mark.parametrize("commands, code", [
    ([command("contactPcmp", A), command("listProfileInfo", searchCriteria=("iccid", swap(A)))], 5),
    ([command("enable", A), command("disable", A)], 4),
    ([command("listProfileInfo", searchCriteria=("iccid", swap(A)))] * 17, 6),
], ids=["after-contact-pcmp", "refresh-exceeded", "too-large"])
def test_package_checks_terminate_before_any_command(v3, commands, code):
    lpa = card_with(v3, **{A: managed()})
    assert run(lpa, v3, commands).results == [{"rpmCommandResultData": ("rpmProcessingTerminated", code)}]
    assert states(lpa, v3) == {swap(A).hex(): 0}


@pytest.mark.parametrize("damage", ["3003A70100", "3005A003"], ids=["unknown-alternative", "broken-tlv"])
def test_damaged_command(v3, damage):
    lpa = card_with(v3, **{A: managed()})
    good = v3.encode("RpmCommand", command("enable", A))
    result = run(lpa, v3, [], raw_commands=good + bytes.fromhex(damage))
    assert result.results == [{"rpmCommandResultData": ("rpmProcessingTerminated", 2)}]
    assert states(lpa, v3) == {swap(A).hex(): 0}


# -- the package's signature and session --------------------------------------------------------------
def test_wrong_signature_and_transaction_id_give_signed_errors(v3):
    lpa = card_with(v3, **{A: managed()})
    bad = run(lpa, v3, [command("enable", A)], corrupt=True)
    assert bad.data["finalResult"] == ("loadRpmPackageErrorCodeSigned", 2)
    other = run(lpa, v3, [command("enable", A)], transaction_id=bytes(16))
    assert other.data["finalResult"] == ("loadRpmPackageErrorCodeSigned", 5)
    assert states(lpa, v3) == {swap(A).hex(): 0}


def test_without_an_rpm_session_the_result_is_unsigned_no_session(v3):
    lpa = card_with(v3, **{A: managed()})
    smdp = SmdpV3(v3)                                   # a download session (operationType default)
    dl = authenticate(lpa, smdp, v3)
    result = answer(lpa, v3, dl, package_request(v3, smdp, dl, [command("enable", A)]))
    assert (result.kind, result.value["loadRpmPackageErrorCodeNotSigned"]) == ("loadRpmPackageResultNotSigned", 4)
    assert result.value["transactionId"] == smdp.transaction_id
    # the session that ran a package is over: a second package has no session either
    smdp = RpmSmdp(v3)
    dl = authenticate(lpa, smdp, v3)
    assert answer(lpa, v3, dl, package_request(v3, smdp, dl, [command("enable", A)])).kind.endswith("Signed")
    again = answer(lpa, v3, dl, package_request(v3, smdp, dl, [command("enable", A)]))
    assert again.kind == "loadRpmPackageResultNotSigned"


def test_prepare_download_in_an_rpm_session_is_refused(v3):
    lpa = open_lpa()
    smdp = RpmSmdp(v3)
    dl = authenticate(lpa, smdp, v3)
    kind, error = v3.decode("PrepareDownloadResponse", lpa.es10(smdp.prepare_download(dl.euicc_signature1)))
    assert (kind, error["downloadErrorCode"]) == ("downloadResponseError", 4)


def test_v2_only_card_does_not_know_load_rpm_package(v3):
    lpa = open_lpa(V2_SVN)
    lpa.es10(bytes.fromhex("BF4403300100"), expect_sw=0x6A88)


@pytest.mark.parametrize("request_hex", ["BF4400", "BF44053003800101", "BF440A3008800101A1003003"])
def test_malformed_request_is_refused_with_6a80(v3, request_hex):
    lpa = open_lpa()
    lpa.es10(bytes.fromhex(request_hex), expect_sw=0x6A80)


# -- notifications ------------------------------------------------------------------------------------
def test_rpm_result_notification_is_retrieved_and_removed_like_the_others(v3):
    lpa = card_with(v3, **{A: managed()})
    result = run(lpa, v3, [command("enable", A)])
    seq = result.data["notificationMetadata"]["seqNumber"]
    raw = lpa.es10(v3.encode("RetrieveNotificationsListRequest", {"searchCriteria": ("seqNumber", seq)}))
    kind, (pending,) = v3.decode("RetrieveNotificationsListResponse", raw)
    assert pending == ("loadRpmPackageResultSigned", result.value)
    by_event = lpa.es10(v3.encode("RetrieveNotificationsListRequest",
                                  {"searchCriteria": ("profileManagementOperation", (b"\x01", 8))}))
    assert v3.decode("RetrieveNotificationsListResponse", by_event)[1] == [pending]
    status = v3.decode("NotificationSentResponse", lpa.es10(v3.encode("NotificationSentRequest", {"seqNumber": seq})))
    assert status == {"deleteNotificationStatus": 0}
    assert seq not in [n["seqNumber"] for n in notifications(lpa, v3)]


PCMP = "pcmp.example.com"


def pcmp(lpa, v3) -> tuple:
    (result,) = run(lpa, v3, [command("contactPcmp", A, dpiRpm="dpi-1")]).results
    assert result["iccid"] == swap(A)
    return result["rpmCommandResultData"][1]


def test_contact_pcmp_answers_the_pcmp_address_of_the_downloaded_lpr_configuration(v3):
    """The lprConfiguration comes with the profile's metadata (StoreMetadata 'BC', kept with the
    profile); RPM updateMetadata replaces it and tagsForDeletion 'BC' removes it."""
    lpa = card_with(v3, **{A: {**managed(), "lprConfiguration": {"pcmpAddress": PCMP}}})
    run(lpa, v3, [command("enable", A)])
    assert pcmp(lpa, v3) == ("contactPcmpResponseOk", {"pcmpAddress": PCMP})
    update = {"lprConfiguration": {"pcmpAddress": "pcmp2.example.com", "triggerLprOnEnableProfile": None}}
    (updated,) = run(lpa, v3, [command("updateMetadata", A, updateMetadataRequest=update)]).results
    assert updated["rpmCommandResultData"] == ("updateMetadataResult", 0)
    assert pcmp(lpa, v3) == ("contactPcmpResponseOk", {"pcmpAddress": "pcmp2.example.com"})
    deletion = {"tagsForDeletion": bytes.fromhex("BC")}
    (deleted,) = run(lpa, v3, [command("updateMetadata", A, updateMetadataRequest=deletion)]).results
    assert deleted["rpmCommandResultData"] == ("updateMetadataResult", 0)
    assert pcmp(lpa, v3) == ("contactPcmpResponseError", 13)                  # noLprConfiguration


def test_without_lpa_proxy_rpm_cannot_add_an_lpr_configuration(v3):
    lpa = card_with(v3, settings={"lpa_proxy": False}, **{A: managed()})
    update = {"lprConfiguration": {"pcmpAddress": PCMP}}
    (refused,) = run(lpa, v3, [command("updateMetadata", A, updateMetadataRequest=update)]).results
    assert refused["rpmCommandResultData"] == ("updateMetadataResult", 7)     # commandError
    run(lpa, v3, [command("enable", A)])
    assert pcmp(lpa, v3) == ("contactPcmpResponseError", 13)


DEVICE_CHANGE = ("requestToDp", {"smdpAddressForDc": "dc.example.com", "eidRequired": None})


def device_change_info(lpa, v3) -> bytes:
    """GetProfilesInfo of A with the tagList '5A BF20' (ICCID, deviceChangeConfiguration)."""
    return lpa.es10(v3.encode("ProfileInfoListRequest", {"searchCriteria": ("iccid", swap(A)),
                                                         "tagList": bytes.fromhex("5ABF20")}))


def test_update_metadata_sets_the_device_change_configuration(v3):
    """On a card supporting Device Change (SGP.22 v3.1 §3.11) RPM updateMetadata stores the
    deviceChangeConfiguration 'BF20' like StoreMetadata does: GetProfilesInfo gives it (known answer
    encoded here with the v3.1 module), and tagsForDeletion 'BF20' removes it again."""
    lpa = card_with(v3, **{A: managed()})
    update = {"deviceChangeConfiguration": DEVICE_CHANGE}
    (updated,) = run(lpa, v3, [command("updateMetadata", A, updateMetadataRequest=update)]).results
    assert updated["rpmCommandResultData"] == ("updateMetadataResult", 0)
    assert device_change_info(lpa, v3) == v3.encode("ProfileInfoListResponse", ("profileInfoListOk", [
        {"iccid": swap(A), "deviceChangeConfiguration": DEVICE_CHANGE}]))
    deletion = {"tagsForDeletion": bytes.fromhex("BF20")}
    (deleted,) = run(lpa, v3, [command("updateMetadata", A, updateMetadataRequest=deletion)]).results
    assert deleted["rpmCommandResultData"] == ("updateMetadataResult", 0)
    assert device_change_info(lpa, v3) == v3.encode("ProfileInfoListResponse", ("profileInfoListOk", [
        {"iccid": swap(A)}]))


def test_without_device_change_rpm_cannot_set_a_device_change_configuration(v3):
    lpa = card_with(v3, settings={"device_change": False}, **{A: managed()})
    before = lpa.es10(v3.encode("ProfileInfoListRequest", {}))
    update = {"deviceChangeConfiguration": DEVICE_CHANGE}
    (refused,) = run(lpa, v3, [command("updateMetadata", A, updateMetadataRequest=update)]).results
    assert refused["rpmCommandResultData"] == ("updateMetadataResult", 7)     # commandError
    assert lpa.es10(v3.encode("ProfileInfoListRequest", {})) == before
    assert device_change_info(lpa, v3) == v3.encode("ProfileInfoListResponse", ("profileInfoListOk", [
        {"iccid": swap(A)}]))


def test_a_result_over_the_size_limit_ends_the_package_with_result_size_overflow(v3):
    """Five listProfileInfo results of a profile with a 1024-byte icon exceed the card's 4096-byte
    package result (euicc.rsp.rpm.MAX_RESULT_SIZE, [U] a setting): the fourth is replaced."""
    lpa = card_with(v3, **{A: {**managed(), "iconType": 1, "icon": bytes(1024)}})
    listing = command("listProfileInfo", searchCriteria=("iccid", swap(A)))
    results = run(lpa, v3, [listing] * 5).results
    assert [r["rpmCommandResultData"][0] for r in results] == ["listProfileInfoResult"] * 3 + [
        "rpmProcessingTerminated"]
    assert results[-1]["rpmCommandResultData"][1] == 1
