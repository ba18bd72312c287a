"""ES10c.GetProfilesInfo (SGP.22 v3.1 §5.7.15) with the v3.1 ProfileInfo members the card holds:
serviceSpecificDataStoredInEuicc 'BF22', rpmConfiguration 'BA', hriServerAddress '9B',
enterpriseConfiguration 'BD', serviceDescription '9F1F', deviceChangeConfiguration 'BF20' (kept
from the profile's metadata), given when the tagList names them, in the order of the v3.1
ProfileInfo SEQUENCE; without a tagList the answer is the v2 set it always was, and a v2-only
card never gives them.

Known answers: the expected bytes are encoded here with asn1tools from the published v3.1 module
(tests/vectors/data/asn1/sgp22v3, compiled by tests.rsp.test_v3), not with the card's codec.
"""
from __future__ import annotations

from tests.rsp import flow
from tests.rsp.helpers import Smdp, swap
from tests.rsp.test_v3 import TS48_ICCID, V2_SVN, open_lpa, v2, v3, v3_download, v3_metadata  # noqa: F401

ICCID = swap(TS48_ICCID)
RPM_CONFIGURATION = {"managingDpList": [{"managingDpOid": "1.3.6.1.4.1.99999.5", "rpmType": (b"\xc0", 2)}],
                     "pollingAddress": "rpm.example.com", "profileOwnerOid": "1.3.6.1.4.1.99999.6"}
V3_VALUES = {
    "profileOwner": {"mccMnc": bytes.fromhex("00F110")},
    "serviceSpecificDataStoredInEuicc": [{"vendorOid": "1.3.6.1.4.1.99999.9",
                                          "vendorSpecificData": bytes.fromhex("0402CAFE")}],
    "rpmConfiguration": RPM_CONFIGURATION,
    "hriServerAddress": "hri.example.com",
    "enterpriseConfiguration": {"enterpriseOid": "1.3.6.1.4.1.99999.7", "enterpriseName": "ACME Corp"},
    "serviceDescription": (b"\x80", 1),
    "deviceChangeConfiguration": ("requestToDp", {"smdpAddressForDc": "dc.example.com"}),
}
ALL_V3_TAGS = "B7 BF22 BA 9B BD 9F1F BF20"


def installed(v3):
    lpa = open_lpa()
    kind, result = v3_download(lpa, v3, v3_metadata(v3, **V3_VALUES))["finalResult"]
    assert kind == "successResult", result
    return lpa


def profiles_info(v3, lpa, tag_list: str | None) -> bytes:
    request: dict = {"searchCriteria": ("iccid", ICCID)}
    if tag_list is not None:
        request["tagList"] = bytes.fromhex(tag_list)
    return lpa.es10(v3.encode("ProfileInfoListRequest", request))


def expected(v3, **members) -> bytes:
    return v3.encode("ProfileInfoListResponse", ("profileInfoListOk", [members]))


def test_the_tag_list_names_every_v3_member(v3):
    lpa = installed(v3)
    raw = profiles_info(v3, lpa, "9F20 BD 9F70 BA 5A " + ALL_V3_TAGS)     # any order, an unknown tag
    assert raw == expected(v3, iccid=ICCID, profileState=0, **V3_VALUES)


def test_one_v3_member(v3):
    lpa = installed(v3)
    assert profiles_info(v3, lpa, "BA") == expected(v3, rpmConfiguration=RPM_CONFIGURATION)
    assert profiles_info(v3, lpa, "BF20 5A") == expected(
        v3, iccid=ICCID, deviceChangeConfiguration=V3_VALUES["deviceChangeConfiguration"])


def test_without_a_tag_list_the_v2_members_only(v3, v2):
    lpa = installed(v3)
    raw = profiles_info(v3, lpa, None)
    _, (info,) = v2.decode("ProfileInfoListResponse", raw)
    assert raw == v2.encode("ProfileInfoListResponse", ("profileInfoListOk", [info]))   # nothing v2 skips
    assert info["profileOwner"] == V3_VALUES["profileOwner"]


def test_a_v2_only_card_gives_no_v3_member(v3):
    """The same metadata held by a card that speaks SGP.22 v2 only (--svn 2.5.0): a v2 session
    keeps the 'BF25' as received; its v3.1 members are not given, even when asked for."""
    lpa = open_lpa(highest_svn=V2_SVN)
    assert flow.full_download(lpa, Smdp(), meta=v3_metadata(v3, **V3_VALUES))["finalResult"][0] == "successResult"
    assert profiles_info(v3, lpa, "5A " + ALL_V3_TAGS) == expected(v3, iccid=ICCID,
                                                                 profileOwner=V3_VALUES["profileOwner"])
