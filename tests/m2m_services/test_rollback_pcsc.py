"""A profile switch whose network attachment fails is rolled back by the card and the rollback
reaches the profiles' owner, everything over the network with a card on pcscd + vpcd (SGP.02 v4.2
§3.2 rollback of an unconfirmed switch, notification '03' (SPEC_NOTES §2.8), §5.5 ES4
Handle*Notification): the operator enables the downloaded profile through the SM-SR service (ES5 as
MT SMS through the device), the device finds only limited service with it, the card's timer
(TIMER MANAGEMENT, run by the device) rolls the switch back after the validity period, and once the
device is attached again the '03' goes by SMS to the SM-SR's SMSC endpoint, which confirms it and
tells the operator that the original profile is enabled again and the new one disabled."""
from __future__ import annotations

import re

import pytest

from tests.m2m_host.m2m_world import TS48, invoke_cli
from tests.m2m_services.sms_network import NEW_ICCID, network
from tests.m2m_services.test_smsr_service_pcsc import _register, _states, world  # noqa: F401
from tools.terminal import cat

pytestmark = pytest.mark.pcsc
VALIDITY = 3.0
"""The card's validity period of an unconfirmed switch (``run --m2m-validity-period``), seconds."""


@pytest.fixture
def card_args() -> list[str]:
    return ["--m2m-validity-period", str(VALIDITY)]


def test_a_switch_without_network_is_rolled_back_and_reported(world, capsys):  # noqa: F811
    if not TS48.exists():
        pytest.skip(f"TS.48 profile {TS48} is absent (/work/shared/reference not mounted)")
    w, new = world, NEW_ICCID
    _register(capsys, w)
    w["service"].stop()
    with network(w) as net:
        notified, sr = net.notified, ["mno", "--smsr", net.smsr_url]
        status, out = invoke_cli(capsys, ["mno", "--smdp", net.smdp.url, "download", w["eid"], new])
        assert status == 0, out + net.smdp.log.read_text()
        isdp = re.search(r"Isd-p-aid: ([0-9A-F]{32})", out)[1]
        assert invoke_cli(capsys, [*sr, "enable", w["eid"], new])[0] == 0
        assert notified == [("HandleProfileEnabledNotification", new),
                            ("HandleProfileDisabledNotification", w["iccid"])]
        net.report(cat.LIMITED_SERVICE)                  # the new profile does not attach: no '02' sent
        confirmed = list(net.confirmed(w["eid"]))
        resets = net.device.terminal.record.resets
        net.serve(VALIDITY + 2)                          # the card's rollback timer expires: REFRESH
        assert net.device.terminal.record.resets > resets, "the card did not roll the switch back"
        assert len(notified) == 2 and net.confirmed(w["eid"]) == confirmed
        net.report(cat.NORMAL_SERVICE)                   # attached again: the '03' by SMS, confirmed
        assert len(net.confirmed(w["eid"])) > len(confirmed)
        assert notified[2:] == [("HandleProfileEnabledNotification", w["iccid"]),
                                ("HandleProfileDisabledNotification", new)]
        status, out = invoke_cli(capsys, [*sr, "get-eis", w["eid"]])
        assert re.search(rf"Isd-p-aid: {w['aid']}\n(?:\s+\S+: .*\n)*?\s+State: Enabled", out), out
        states = _states(invoke_cli(capsys, [*sr, "audit-eis", w["eid"]])[1])
        assert (states[w["aid"]], states[isdp]) == ("Enabled", "Disabled")
