"""SGP.22 v3.1 download with the host tools: the test SM-DP+ set to 3.1.0 chooses v3 with the card
(default highest SVN 3.1.0) and sends a service-provider message in the metadata; the LPA shows
it.  The same SM-DP+ against a card run with ``--svn 2.5.0`` falls back to v2 (no message can
travel), and a v2 SM-DP+ against the v3 card is the v2 download every other test here runs.

The card's side is checked independently: the installed profile through ES10c GetProfilesInfo,
the ProfileInstallationResult verified by the SM-DP+ (HandleNotification).
"""
from __future__ import annotations

import json
from dataclasses import replace

import pytest

from euicc.card import Card, CardConfig
from euicc.composition import open_card
from euicc.rsp.euicc_info import DEFAULT_SETTINGS
from tests.e2e.pcsc_host import reader_name
from tests.rsp_host.conftest import SHIPPED_PKI, TS48_ICCID, make_lpa
from tools.lpa import cli
from tools.lpa.activation_code import parse
from tools.lpa.lpa import iccid_digits
from tools.lpa.transport import PcscTransmit
from tools.smdpp.certificates import load_folder
from tools.smdpp.es9plus import SVN_V3, SmDpPlus
from tools.smdpp.http_binding import Es9PlusServer
from tools.smdpp.orders import INSTALLED, order_from_upp

MESSAGE = "Welcome to GSMA Test: your plan is active"


@pytest.fixture
def smdp_v3():
    """The test SM-DP+ at SVN 3.1.0 with the certificates of the card's shipped test CI."""
    server = Es9PlusServer(SmDpPlus("placeholder", load_folder(SHIPPED_PKI, ("NIST",)), svn=SVN_V3))
    server.smdp.address = f"127.0.0.1:{server.port}"
    with server:
        yield server.smdp


def download(lpa, smdp, upp, matching_id: str):
    smdp.add_order(order_from_upp(matching_id, upp, service_provider_message=MESSAGE))
    result = lpa.download(parse(f"LPA:1${smdp.address}${matching_id}"))
    assert iccid_digits(result.iccid) == TS48_ICCID
    assert smdp.orders[matching_id].state == INSTALLED and smdp.notifications[-1].verified
    listed = [iccid_digits(p["iccid"]) for p in lpa.es10.get_profiles_info() if "iccid" in p]
    assert TS48_ICCID in listed
    return result


def in_process_lpa(highest_svn: bytes = SVN_V3):
    config = replace(CardConfig(), euicc_info=replace(DEFAULT_SETTINGS, highest_svn=highest_svn))
    lpa = make_lpa(open_card(None, config).transmit)
    lpa.es10.transport.open()
    return lpa


def test_v3_download_shows_the_service_provider_message(smdp_v3, upp):
    result = download(in_process_lpa(), smdp_v3, upp, "V3-1")
    assert result.metadata["serviceProviderMessage"] == {"languageTag": "en", "message": MESSAGE}
    assert all(s.v3 for s in smdp_v3.sessions.values())


def test_v3_server_and_v2_only_card_fall_back_to_v2(smdp_v3, upp):
    result = download(in_process_lpa(bytes((2, 5, 0))), smdp_v3, upp, "V3-2")
    assert "serviceProviderMessage" not in result.metadata
    assert not any(s.v3 for s in smdp_v3.sessions.values())


@pytest.mark.pcsc
def test_v3_download_through_pcsc(start_card, pcscd, smdp_v3, upp):
    start_card()
    transmit = PcscTransmit(reader_name(pcscd))
    try:
        lpa = make_lpa(transmit)
        lpa.es10.transport.open()
        result = download(lpa, smdp_v3, upp, "V3-PCSC")
        assert result.metadata["serviceProviderMessage"]["message"] == MESSAGE
        lpa.es10.transport.close()
    finally:
        transmit.close()


def test_lpa_cli_prints_the_service_provider_message(smdp_v3, upp, tmp_path, capsys):
    """`euicc-emu lpa download` against a card state file (default card: highest SVN 3.1.0)."""
    state = tmp_path / "card.state"
    open_card(state).close()
    smdp_v3.add_order(order_from_upp("V3-CLI", upp, service_provider_message=MESSAGE))
    assert cli.main(["--card-state", str(state), "--http", "download", "--activation-code",
                     f"LPA:1${smdp_v3.address}$V3-CLI"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["iccid"] == TS48_ICCID
    assert shown["serviceProviderMessage"] == {"languageTag": "en", "message": MESSAGE}
