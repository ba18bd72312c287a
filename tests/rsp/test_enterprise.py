"""Enterprise Profiles (SGP.22 v3.1 §2.4a.1.7 EnterpriseConfiguration, §2.4.12 Enterprise Rules,
§3.1.3 download checks, §5.7.16/§5.7.17 disallowedByEnterpriseRule): the card accepts and keeps an
Enterprise Configuration, refuses downloads with the v3.1 ErrorReason values 17-22 and refuses enable
and disable against the Reference Enterprise Rule.

Known answers: the ErrorReason / EnableProfile / DisableProfile values and the EuiccRspCapability /
LpaRspCapability bit numbers of the published v3.1 module (tests/vectors/data/asn1/sgp22v3), with
which every request is built and every answer decoded here (not with the card's codec).
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from euicc.profiles.manager import ProfileManager
from euicc.profiles.model import PPR1
from tests.rsp.flow import Download, load, prepare
from tests.rsp.helpers import EID1, Lpa, Smdp, swap
from tests.rsp.test_v3 import (TS48_ICCID, authenticate, bits, open_lpa, v2, v3, v3_download,  # noqa: F401
                               v3_metadata)
from tools.profile_builder import DEFAULT_TEST_PARAMETERS, build_upp
from tools.profile_builder.coding import luhn_check_digit

OK, DISALLOWED_BY_ENTERPRISE_RULE = 0, 6
STORE_METADATA = 2
NOT_SUPPORTED, RULES_NOT_ALLOWED, PROFILE_NOT_ALLOWED, OID_MISMATCH, RULES_ERROR, PROFILES_ONLY = range(17, 23)
ENTERPRISE_PROFILES_SUPPORT = 9                 # EuiccRspCapability
ACME, OTHER = "1.3.6.1.4.1.99999.7", "1.3.6.1.4.1.88888.1"
REFERENCE, PRIORITY, ONLY = 0, 1, 2             # enterpriseRuleBits
PLAIN_DEVICE = {"tac": bytes.fromhex("35290611"), "deviceCapabilities": {}}
# LpaRspCapability enterpriseCapableDevice (3)
ENTERPRISE_DEVICE = {**PLAIN_DEVICE, "lpaRspCapability": (b"\x10", 4)}


def ctx(device: dict) -> tuple:
    return ("ctxParamsForCommonAuthentication", {"matchingId": "M", "deviceInfo": device})


def rule_bits(*names: int) -> tuple[bytes, int]:
    return bytes((sum(0x80 >> n for n in names),)), max(names) + 1


def config(oid: str = ACME, *rules: int, limit: int = 1) -> dict:
    value: dict = {"enterpriseOid": oid, "enterpriseName": "ACME Corp"}
    if rules:
        value["enterpriseRules"] = {"enterpriseRuleBits": rule_bits(*rules), "numberOfNonEnterpriseProfiles": limit}
    return value


def iccid(n: int) -> str:
    body = f"8900100000000001{n:02d}"
    return body + luhn_check_digit(body)


class Card:
    """One v3 card with the downloads and ES10c calls of these tests (v3.1 reference module)."""

    def __init__(self, spec, **settings) -> None:
        self.spec = spec
        self.lpa: Lpa = open_lpa(**settings)

    def download(self, n: int, enterprise: dict | None = None, device: dict = ENTERPRISE_DEVICE, **members) -> dict:
        if enterprise is not None:
            members["enterpriseConfiguration"] = enterprise
        upp = build_upp(replace(DEFAULT_TEST_PARAMETERS, iccid=iccid(n)))
        return v3_download(self.lpa, self.spec, v3_metadata(self.spec, iccid=iccid(n), **members), ctx(device), upp)

    def install(self, n: int, enterprise: dict | None = None, **kwargs) -> None:
        kind, result = self.download(n, enterprise, **kwargs)["finalResult"]
        assert kind == "successResult", result

    def refused(self, n: int, enterprise: dict | None = None, **kwargs) -> int:
        kind, result = self.download(n, enterprise, **kwargs)["finalResult"]
        assert kind == "errorResult" and result["bppCommandId"] == STORE_METADATA, result
        assert iccid(n) not in self.iccids()        # nothing installed
        return result["errorReason"]

    def es10(self, request: str, value, response: str):
        return self.spec.decode(response, self.lpa.es10(self.spec.encode(request, value)))

    def profiles(self) -> list[dict]:
        return self.es10("ProfileInfoListRequest", {}, "ProfileInfoListResponse")[1]

    def iccids(self) -> list[str]:
        return [swap(p["iccid"].hex()).hex().upper().rstrip("F") for p in self.profiles()]

    def enabled(self) -> set[str]:
        return {swap(p["iccid"].hex()).hex().upper().rstrip("F") for p in self.profiles() if p["profileState"]}

    def enable(self, n: int) -> int:
        return self.es10("EnableProfileRequest", {"profileIdentifier": ("iccid", swap(iccid(n))),
                                                  "refreshFlag": False}, "EnableProfileResponse")["enableResult"]

    def disable(self, n: int) -> int:
        return self.es10("DisableProfileRequest", {"profileIdentifier": ("iccid", swap(iccid(n))),
                                                   "refreshFlag": False}, "DisableProfileResponse")["disableResult"]

    def delete(self, n: int) -> int:
        return self.es10("DeleteProfileRequest", ("iccid", swap(iccid(n))), "DeleteProfileResponse")["deleteResult"]


# -- the setting ------------------------------------------------------------------------------------
def test_capability_bit_follows_the_setting(v3):
    for setting, expected in ((True, True), (False, False)):
        lpa = open_lpa(enterprise_profiles=setting)
        for name, tag in (("EUICCInfo1", "BF2000"), ("EUICCInfo2", "BF2200")):
            info = v3.decode(name, lpa.es10(bytes.fromhex(tag)))
            assert (ENTERPRISE_PROFILES_SUPPORT in bits(info["euiccRspCapability"])) is expected


def test_a_card_without_enterprise_support_refuses_the_configuration(v3):
    assert Card(v3, enterprise_profiles=False).refused(1, config()) == NOT_SUPPORTED


# -- download -----------------------------------------------------------------------------------------
def test_enterprise_profile_is_installed_and_its_configuration_kept(v3):
    card = Card(v3)
    card.install(1, config(ACME, REFERENCE, PRIORITY, limit=0))
    card.install(2, config(ACME))                   # a second Enterprise Profile of the same enterprise
    assert {iccid(1), iccid(2)} <= set(card.iccids())


def test_rules_need_an_enterprise_capable_device(v3):
    card = Card(v3)
    assert card.refused(1, config(ACME, REFERENCE), device=PLAIN_DEVICE) == RULES_NOT_ALLOWED
    card.install(1, config(ACME), device=PLAIN_DEVICE)          # no rules: any device


def test_another_enterprise_is_refused(v3):
    card = Card(v3)
    card.install(1, config(ACME))
    assert card.refused(2, config(OTHER)) == OID_MISMATCH


@pytest.mark.parametrize("second", [config(ACME, REFERENCE), config(ACME, REFERENCE, ONLY)], ids=["ref", "ref-only"])
def test_a_second_reference_rule_is_refused(v3, second):
    card = Card(v3)
    card.install(1, config(ACME, REFERENCE))
    assert card.refused(2, second) == RULES_ERROR


def test_negative_number_of_non_enterprise_profiles_is_refused(v3):
    assert Card(v3).refused(1, config(ACME, REFERENCE, limit=-1)) == RULES_ERROR


def test_an_enterprise_test_profile_is_refused(v3):
    assert Card(v3).refused(1, config(), profileClass=0) == PROFILE_NOT_ALLOWED


def test_only_enterprise_profiles_can_be_installed(v3, v2):
    card = Card(v3)
    card.install(1, config(ACME, REFERENCE, ONLY, limit=0))
    assert card.refused(2) == PROFILES_ONLY
    card.install(2, config(ACME))
    # a v2 session is bound by the same rule (its ErrorReason is the v3.1 value)
    smdp = Smdp()
    dl, _ = authenticate(card.lpa, smdp, v2)
    prepare(card.lpa, dl)
    meta = {"iccid": swap(iccid(3)), "serviceProviderName": "SP", "profileName": "P"}
    upp = build_upp(replace(DEFAULT_TEST_PARAMETERS, iccid=iccid(3)))
    data = load(card.lpa, Download(smdp, dl.euicc_cert, dl.euicc_signature1, dl.euicc_otpk),
                smdp.bound_profile_package(dl.euicc_otpk, bytes.fromhex(EID1), upp, meta))
    assert data["finalResult"] == ("errorResult", {"bppCommandId": STORE_METADATA, "errorReason": PROFILES_ONLY})


# -- enable, disable, delete --------------------------------------------------------------------------
def test_priority_enterprise_profile(v3):
    card = Card(v3)
    card.install(1, config(ACME, REFERENCE, PRIORITY, limit=1))
    card.install(2)                                  # a non-Enterprise Profile
    card.install(3, config(ACME))                    # another Enterprise Profile
    assert card.enable(2) == DISALLOWED_BY_ENTERPRISE_RULE       # the priority profile is not enabled
    assert card.enable(3) == DISALLOWED_BY_ENTERPRISE_RULE
    before = card.enabled()
    assert card.enable(1) == OK and card.enabled() == {iccid(1)}
    # single enabled profile: enabling another one would disable the priority profile
    assert card.enable(2) == DISALLOWED_BY_ENTERPRISE_RULE
    assert card.disable(1) == DISALLOWED_BY_ENTERPRISE_RULE
    assert card.delete(1) == 2                       # profileNotInDisabledState: it stays
    assert card.enabled() == {iccid(1)} and before != card.enabled()


def test_number_of_non_enterprise_profiles(v3):
    card = Card(v3)
    card.install(1, config(ACME, REFERENCE, limit=0))
    card.install(2)
    card.install(3, config(ACME))
    assert card.enable(2) == DISALLOWED_BY_ENTERPRISE_RULE       # 0 non-Enterprise Profiles may be enabled
    assert card.enable(3) == OK                                  # an Enterprise Profile may
    assert card.disable(3) == OK                                 # no priority rule: it may be disabled
    # deleting the profile holding the Reference Enterprise Rule lifts its rules
    assert card.delete(1) == OK
    assert card.enable(2) == OK and card.enabled() == {iccid(2)}


def test_rules_without_the_reference_bit_are_not_in_force(v3):
    card = Card(v3)
    card.install(1, config(ACME, PRIORITY, ONLY, limit=0))
    card.install(2)
    assert card.enable(2) == OK


def test_profiles_info_gives_the_configuration_when_asked(v3):
    card = Card(v3)
    configuration = config(ACME, REFERENCE, PRIORITY, limit=1)
    card.install(1, configuration)
    request = {"searchCriteria": ("iccid", swap(iccid(1))), "tagList": bytes.fromhex("5ABD")}
    kind, infos = card.es10("ProfileInfoListRequest", request, "ProfileInfoListResponse")
    assert kind == "profileInfoListOk"
    assert infos == [{"iccid": swap(iccid(1)), "enterpriseConfiguration": configuration}]
    # without 'BD' in the tagList (a v2 LPA) the member is not there
    assert all("enterpriseConfiguration" not in p for p in card.profiles())


def test_an_installed_ppr1_profile_forbids_enterprise_profiles(v3):
    card = Card(v3)
    card.install(1)
    manager = ProfileManager(card.lpa.card.store)
    manager.update(replace(manager.by_iccid(swap(iccid(1))), ppr=PPR1))     # as if the RAT had allowed PPR1
    assert card.refused(2, config()) == PROFILE_NOT_ALLOWED
    card.install(2)                                                          # a consumer profile still installs
