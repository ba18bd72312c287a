"""Remote Profile Management on a Multiple Enabled Profiles card (SGP.22 v3.1 §3.7, §2.12):
LoadRpmPackageRequest ``targetEsimPort`` is the port of the package's enable command, which
follows the EnableProfile port rules of each MEP option (MEP-A1: named by the LPA, MEP-A2: the
eUICC's choice, MEP-B: the port LoadRpmPackage comes in on), and the enableResult is the whole
EnableProfileResponse with the port the profile is on.

Host side only (tests.rsp.rpm_host, the published v3.1 module compiled here).  Known answers:
enableResult ok 0 / commandError 7, ProfileInfo enabledOnEsimPort, EnableProfileResponse
targetEsimPort (v3.1 module text); MANAGE LSI select '80 7C 00 <port>' as in tests/rsp/test_mep.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from euicc.card import CardConfig
from euicc.composition import open_card
from euicc.rsp import mep
from euicc.rsp.euicc_info import DEFAULT_SETTINGS
from euicc.rsp.identity import import_identity
from tests.rsp.helpers import SGP26, Lpa, split, swap, tlv
from tests.rsp.rpm_host import answer, authenticate, command, compile_v3, install, package_request
from tests.rsp.test_rpm import RpmSmdp, managed
from tests.rsp.test_v3 import V3_SVN, SmdpV3

A = "89000123456789012341"
PRELOADED = swap("89881000000000000031")      # the minimal built-in profile of a new card
OK, COMMAND_ERROR = 0, 7


@pytest.fixture(scope="module")
def v3():
    return compile_v3()


def mep_card(v3, mode: str) -> tuple:
    config = CardConfig(ports=mep.layout(mode), euicc_info=replace(DEFAULT_SETTINGS, highest_svn=V3_SVN))
    card = open_card(None, config)
    import_identity(card.store, SGP26)
    lpa = Lpa(card)
    lpa.select_isd_r()
    install(lpa, v3, SmdpV3, A, **managed())
    return card, lpa


def rpm_run(v3, lpa, kind: str, target_port: int | None = None) -> dict:
    """One RPM command on profile A; its result (EnableProfileResponse / DisableProfileResponse)."""
    smdp = RpmSmdp(v3)
    dl = authenticate(lpa, smdp, v3)
    result = answer(lpa, v3, dl, package_request(v3, smdp, dl, [command(kind, A)], target_port=target_port))
    [one] = result.results
    name, response = one["rpmCommandResultData"]
    assert name == f"{kind}Result"
    return response


def rpm_enable(v3, lpa, target_port: int | None = None) -> dict:
    return rpm_run(v3, lpa, "enable", target_port)


def ports(v3, lpa) -> dict[bytes, int | None]:
    _, infos = v3.decode("ProfileInfoListResponse", lpa.es10(bytes.fromhex("BF2D00")))
    return {i["iccid"]: i.get("enabledOnEsimPort") for i in infos}


def select_lsi(card, lsi: int) -> None:
    assert card.transmit(bytes((0x80, 0x7C, 0x00, lsi)))[-2:] == b"\x90\x00"


def test_a1_rpm_enable_on_the_named_port(v3):
    card, lpa = mep_card(v3, mep.A1)
    assert rpm_enable(v3, lpa) == {"enableResult": COMMAND_ERROR}          # A1: the port must be named
    assert rpm_enable(v3, lpa, 2) == {"enableResult": OK, "targetEsimPort": 2}
    assert ports(v3, lpa) == {PRELOADED: 1, swap(A): 2}


@pytest.mark.parametrize("port", ["0200", "02020002", "0202FF82"], ids=["no-contents-octet", "leading-zero",
                                                                       "leading-ones"])
def test_a_target_port_not_in_der_is_refused_with_6a80(v3, port):
    """targetEsimPort is a DER INTEGER: at least one contents octet (X.690 §8.3.1), the first nine
    bits neither all zero nor all one (§8.3.2).  Otherwise the request cannot be parsed: '6A80'
    (SGP.22 §5.7.2) and nothing changes; the same package with '02 01 02' enables A on port 2."""
    card, lpa = mep_card(v3, mep.A1)
    smdp = RpmSmdp(v3)
    dl = authenticate(lpa, smdp, v3)
    unported = package_request(v3, smdp, dl, [command("enable", A)])
    lpa.es10(tlv(b"\xbf\x44", b"".join(split(unported)) + bytes.fromhex(port)), expect_sw=0x6A80)
    assert ports(v3, lpa) == {PRELOADED: 1, swap(A): None}
    assert rpm_enable(v3, lpa, 2) == {"enableResult": OK, "targetEsimPort": 2}


def test_a2_rpm_enable_on_the_port_the_euicc_chooses(v3):
    card, lpa = mep_card(v3, mep.A2)
    assert rpm_enable(v3, lpa, 2) == {"enableResult": COMMAND_ERROR}       # A2: not the LPA's to name
    assert rpm_enable(v3, lpa) == {"enableResult": OK, "targetEsimPort": 2}   # port 1 holds a profile
    assert ports(v3, lpa) == {PRELOADED: 1, swap(A): 2}


def test_b_rpm_enable_on_the_port_of_the_command(v3):
    card, lpa = mep_card(v3, mep.B)
    select_lsi(card, 1)
    lpa.select_isd_r()                                                      # MEP-B: the ISD-R on port 1
    assert rpm_enable(v3, lpa, 0) == {"enableResult": COMMAND_ERROR}       # another port than the command's
    assert ports(v3, lpa) == {PRELOADED: 0, swap(A): None}
    assert rpm_enable(v3, lpa, 1) == {"enableResult": OK, "targetEsimPort": 1}
    assert ports(v3, lpa) == {PRELOADED: 0, swap(A): 1}


def test_b_rpm_disable_follows_the_disable_port_rule(v3):
    """The RPM disable is ES10c DisableProfile: on MEP-B with CAT initialised on the profile's
    port (TERMINAL PROFILE there), LoadRpmPackage must come in on that port (commandError 7 from
    another, [U] euicc.rsp.mep)."""
    card, lpa = mep_card(v3, mep.B)
    select_lsi(card, 1)
    lpa.select_isd_r()
    assert rpm_enable(v3, lpa) == {"enableResult": OK, "targetEsimPort": 1}
    assert card.transmit(bytes.fromhex("8010000003FFFFFF"))[-2:] == b"\x90\x00"     # TERMINAL PROFILE, port 1
    select_lsi(card, 0)
    assert rpm_run(v3, lpa, "disable") == {"disableResult": COMMAND_ERROR}
    select_lsi(card, 1)
    assert rpm_run(v3, lpa, "disable") == {"disableResult": OK}
    assert ports(v3, lpa) == {PRELOADED: 0, swap(A): None}


def test_single_enabled_card_ignores_the_target_port(v3):
    """Without eSIM ports EnableProfile reads the v2 request, which has no targetEsimPort: the RPM
    enable replaces the enabled profile and its answer names no port."""
    card, lpa = mep_card(v3, mep.OFF)
    assert rpm_enable(v3, lpa, 1) == {"enableResult": OK}
    assert ports(v3, lpa) == {PRELOADED: None, swap(A): None}
    _, infos = v3.decode("ProfileInfoListResponse", lpa.es10(bytes.fromhex("BF2D00")))
    assert {i["iccid"]: i["profileState"] for i in infos} == {PRELOADED: 0, swap(A): 1}
