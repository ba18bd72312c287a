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
from euicc.card import CardConfig
from euicc.composition import open_card
from euicc.rsp.euicc_info import DEFAULT_SETTINGS
from tests.rsp_host.conftest import SHIPPED_PKI, make_lpa
from tests.rsp_host.test_v3_download import in_process_lpa, smdp_v3  # noqa: F401
from tools.lpa.activation_code import parse
from tools.lpa.lpa import DownloadError
from tools.lpa.transport import PcscTransmit
from tools.profile_builder import DEFAULT_TEST_PARAMETERS, build_upp
from tools.smdpp import cli as smdpp_cli
from tools.smdpp.bpp import EnterpriseOrder
from tools.smdpp.certificates import load_folder
from tools.smdpp.es9plus import SVN_V3, SmDpPlus
from tools.smdpp.http_binding import Es9PlusServer
from tools.smdpp.orders import CANCELLED, FAILED, INSTALLED, order_from_upp

ACME = "1.3.6.1.4.1.99999.7"
CORPORATE = EnterpriseOrder(ACME, "ACME Corp", ("reference", "only-enterprise"), 0)
ENTERPRISE_PROFILES_NOT_SUPPORTED, ENTERPRISE_RULES_NOT_ALLOWED, ENTERPRISE_PROFILES_ONLY = 17, 18, 22


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
    """The LPA cancels the session (CancelSession reason 18, verified by the SM-DP+); the card's own
    refusal of the same metadata is tests/rsp/test_enterprise.py::test_rules_need_an_enterprise_capable_device."""
    lpa = in_process_lpa()
    lpa.enterprise_capable = False
    with pytest.raises(DownloadError, match="CancelSession reason 18"):
        lpa.download(order(smdp_v3, "ENT-2", "89001000000000001203", CORPORATE))
    assert smdp_v3.orders["ENT-2"].state == CANCELLED
    assert smdp_v3.orders["ENT-2"].result["cancelSessionReason"] == ENTERPRISE_RULES_NOT_ALLOWED


def test_card_without_enterprise_support(upp):
    """A card whose setting turns Enterprise Profiles off: the LPA cancels with reason 17."""
    server = Es9PlusServer(SmDpPlus("placeholder", load_folder(SHIPPED_PKI, ("NIST",)), svn=SVN_V3))
    server.smdp.address = f"127.0.0.1:{server.port}"
    config = replace(CardConfig(), euicc_info=replace(DEFAULT_SETTINGS, enterprise_profiles=False))
    lpa = make_lpa(open_card(None, config).transmit)
    lpa.es10.transport.open()
    with server:
        with pytest.raises(DownloadError, match="CancelSession reason 17"):
            lpa.download(order(server.smdp, "ENT-3", "89001000000000001203", EnterpriseOrder(ACME, "ACME Corp")))
        assert server.smdp.orders["ENT-3"].result["cancelSessionReason"] == ENTERPRISE_PROFILES_NOT_SUPPORTED


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
