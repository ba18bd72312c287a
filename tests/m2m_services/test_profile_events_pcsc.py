"""The SM-SR's notifications to the operator with a card on pcscd + vpcd, everything over the network
(SGP.02 v4.2 §5.5 ES4 Handle*Notification, filtered by the operator's ONC): the device is a terminal
simulator on the card's reader whose MO SMS go to the SM-SR service's SMSC endpoint and which
delivers the service's MT SMS (tests/m2m_services/sms_network.py).  Fall-Back and Emergency
attributes set (ES4 and ES2 -> ES3 SetEmergencyProfileAttribute, ES5 to the card), the card's
refusal of the Emergency attribute on the Fall-Back profile, the '02' of a switch confirmed, and the
Fall-Back mechanism started by the device's 'no service' (SGP.02 §3.18), which the eUICC notifies
('05') by SMS once the device is attached again and the SM-SR confirms and forwards."""
from __future__ import annotations

import re

import pytest

from tests.m2m_host.m2m_world import TS48, invoke_cli
from tests.m2m_services.sms_network import NEW_ICCID, network
from tests.m2m_services.test_smsr_service_pcsc import _register, _states, world  # noqa: F401
from tools.terminal import cat

pytestmark = pytest.mark.pcsc


def test_attribute_and_fall_back_notifications(world, capsys):  # noqa: F811
    if not TS48.exists():
        pytest.skip(f"TS.48 profile {TS48} is absent (/work/shared/reference not mounted)")
    w, new = world, NEW_ICCID
    _register(capsys, w)
    w["service"].stop()                                  # the same database, served in this process
    with network(w) as net:
        notified, sr = net.notified, ["mno", "--smsr", net.smsr_url]
        status, out = invoke_cli(capsys, ["mno", "--smdp", net.smdp.url, "download", w["eid"], new])
        assert status == 0, out + net.smdp.log.read_text()
        isdp = re.search(r"Isd-p-aid: ([0-9A-F]{32})", out)[1]
        assert invoke_cli(capsys, [*sr, "set-fallback", w["eid"], w["iccid"]])[0] == 0
        assert notified == [("HandleFallBackAttributeSetNotification", w["iccid"])]
        assert invoke_cli(capsys, [*sr, "enable", w["eid"], new])[0] == 0
        assert notified[1:] == [("HandleProfileEnabledNotification", new),
                                ("HandleProfileDisabledNotification", w["iccid"])]
        # the device attaches with the new profile: the card's '02' (and its first-attachment '01')
        # reach the SM-SR by SMS and are confirmed; they change nothing the operator was not told
        assert net.confirmed(w["eid"]) == []
        net.report(cat.NORMAL_SERVICE)
        assert len(net.confirmed(w["eid"])) >= 1 and len(notified) == 3
        # the operator does not want Disabled notifications: the Fall-Back reaches it as Enabled only
        assert invoke_cli(capsys, [*sr, "set-onc", "--exclude", "HandleProfileDisabledNotification"])[0] == 0
        del notified[:]
        net.report(cat.NO_SERVICE)                       # the card enables the Fall-Back profile ('05' queued)
        assert notified == []                            # no network: nothing could be sent
        net.report(cat.NORMAL_SERVICE)                   # attached again: '05' by SMS, confirmed, forwarded
        assert notified == [("HandleProfileEnabledNotification", w["iccid"])]
        states = _states(invoke_cli(capsys, [*sr, "audit-eis", w["eid"]])[1])
        assert (states[w["aid"]], states[isdp]) == ("Enabled", "Disabled")
        # the Emergency attribute through the SM-DP (ES2 -> ES3 -> ES5), then refused on the Fall-Back profile
        del notified[:]
        status, out = invoke_cli(capsys, ["mno", "--smdp", net.smdp.url, "set-emergency", w["eid"], new])
        assert status == 0 and "ES2.SetEmergencyProfileAttribute: Executed-Success" in out, out
        assert notified == [("HandleEmergencyProfileAttributeSetNotification", new)]
        status, out = invoke_cli(capsys, [*sr, "get-eis", w["eid"]])
        assert re.search(rf"Isd-p-aid: {isdp}\n(?:\s+\S+: .*\n)*?\s+EmergencyProfileAttribute: true", out), out
        status, out = invoke_cli(capsys, [*sr, "set-emergency", w["eid"], w["iccid"]])
        assert status == 1 and "ES4.SetEmergencyProfileAttribute: Failed 8.2.1 3.5" in out, out
        assert len(notified) == 1

