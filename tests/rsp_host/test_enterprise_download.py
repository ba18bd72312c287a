"""Enterprise orders with the host tools (SGP.22 v3.1 §2.4a.1.7, §3.1.3): the test SM-DP+ puts an
EnterpriseConfiguration ('BD') into the metadata of a v3 session, the LPA shows it and declares an
Enterprise Capable Device (DeviceInfo lpaRspCapability), and the card enforces the rules: a later
non-Enterprise Profile is refused with enterpriseProfilesOnly (22), rules on a Device that is not
Enterprise Capable with enterpriseRulesNotAllowed (18) (ErrorReason values of the v3.1 module).
The SM-DP+ receives the signed ProfileInstallationResult and verifies it (HandleNotification).
"""
from __future__ import annotations

import argparse
from dataclasses import replace

import pytest

from tests.e2e.pcsc_host import reader_name
from tests.rsp_host.conftest import make_lpa
from tests.rsp_host.test_v3_download import in_process_lpa, smdp_v3  # noqa: F401
from tools.lpa.activation_code import parse
from tools.lpa.lpa import DownloadError
from tools.lpa.transport import PcscTransmit
from tools.profile_builder import DEFAULT_TEST_PARAMETERS, build_upp
from tools.smdpp import cli as smdpp_cli
from tools.smdpp.bpp import EnterpriseOrder
from tools.smdpp.orders import FAILED, INSTALLED, order_from_upp

ACME = "1.3.6.1.4.1.99999.7"
CORPORATE = EnterpriseOrder(ACME, "ACME Corp", ("reference", "only-enterprise"), 0)
ENTERPRISE_RULES_NOT_ALLOWED, ENTERPRISE_PROFILES_ONLY = 18, 22


def upp_with(iccid: str) -> bytes:
    return build_upp(replace(DEFAULT_TEST_PARAMETERS, iccid=iccid))


def order(smdp, matching_id: str, iccid: str, enterprise: EnterpriseOrder | None = None):
    smdp.add_order(order_from_upp(matching_id, upp_with(iccid), enterprise=enterprise))
    return parse(f"LPA:1${smdp.address}${matching_id}")


def test_enterprise_order_then_a_consumer_profile_is_refused(smdp_v3):
    lpa = in_process_lpa()
    result = lpa.download(order(smdp_v3, "ENT-1", "89001000000000001203", CORPORATE))
    assert result.metadata["enterpriseConfiguration"] == {
        "enterpriseOid": ACME, "enterpriseName": "ACME Corp",
        "enterpriseRules": {"enterpriseRuleBits": (b"\xa0", 3), "numberOfNonEnterpriseProfiles": 0}}
    assert smdp_v3.orders["ENT-1"].state == INSTALLED and smdp_v3.notifications[-1].verified
    with pytest.raises(DownloadError) as refused:
        lpa.download(order(smdp_v3, "CONSUMER-1", "89001000000000001211"))
    assert refused.value.result["errorReason"] == ENTERPRISE_PROFILES_ONLY
    assert smdp_v3.orders["CONSUMER-1"].state == FAILED and smdp_v3.notifications[-1].verified


def test_rules_on_a_device_that_is_not_enterprise_capable(smdp_v3):
    lpa = in_process_lpa()
    lpa.enterprise_capable = False
    with pytest.raises(DownloadError) as refused:
        lpa.download(order(smdp_v3, "ENT-2", "89001000000000001203", CORPORATE))
    assert refused.value.result["errorReason"] == ENTERPRISE_RULES_NOT_ALLOWED


def test_smdpp_command_line_describes_the_enterprise_order():
    parser = argparse.ArgumentParser()
    smdpp_cli.add_arguments(parser)
    args = parser.parse_args(["serve", "--certs", ".", "--upp", "p.der", "--matching-id", "M",
                              "--enterprise-oid", ACME, "--enterprise-name", "ACME Corp",
                              "--enterprise-rule", "reference", "--enterprise-rule", "only-enterprise",
                              "--non-enterprise-profiles", "0"])
    assert smdpp_cli.enterprise_order(args) == CORPORATE
    plain = parser.parse_args(["serve", "--certs", ".", "--upp", "p.der", "--matching-id", "M"])
    assert smdpp_cli.enterprise_order(plain) is None


@pytest.mark.pcsc
def test_enterprise_rules_through_pcsc(start_card, pcscd, smdp_v3):
    """Through pcscd + vpcd + pyscard: an Enterprise Profile with only-enterprise rules, then a
    consumer download refused (22) and the card's profile list unchanged."""
    start_card()
    transmit = PcscTransmit(reader_name(pcscd))
    try:
        lpa = make_lpa(transmit)
        lpa.es10.transport.open()
        lpa.download(order(smdp_v3, "ENT-PCSC", "89001000000000001203", CORPORATE))
        before = lpa.es10.get_profiles_info()
        with pytest.raises(DownloadError) as refused:
            lpa.download(order(smdp_v3, "CONSUMER-PCSC", "89001000000000001211"))
        assert refused.value.result["errorReason"] == ENTERPRISE_PROFILES_ONLY
        assert lpa.es10.get_profiles_info() == before
        lpa.es10.transport.close()
    finally:
        transmit.close()
