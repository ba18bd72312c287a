"""The SM-SR's notifications to the operator with a card on pcscd + vpcd (SGP.02 v4.2 §5.5 ES4
Handle*Notification, filtered by the operator's ONC): Fall-Back and Emergency attributes set
(ES4 and ES2 -> ES3 SetEmergencyProfileAttribute, ES5 to the card), the card's refusal of the
Emergency attribute on the Fall-Back profile, and the Fall-Back mechanism started by the device's
'no service' (SGP.02 §3.18), which the eUICC notifies ('05') and the SM-SR forwards."""
from __future__ import annotations

import re
import threading

import pytest

from tests.m2m_host.m2m_world import TS48, invoke_cli
from tests.m2m_services.test_smsr_service_pcsc import Service, _register, _states, world  # noqa: F401
from tools.m2m_services.es4a import NOTIFICATIONS
from tools.m2m_services.smsr_service import SmsrService
from tools.m2m_services.smsr_store import SmsrStore
from tools.m2m_services.transport import Provider, address, attach, serve
from tools.terminal import cat

pytestmark = pytest.mark.pcsc


def _serve(provider_of) -> tuple:
    server = serve("127.0.0.1", 0)
    url = address(server, "127.0.0.1")
    provider = provider_of(url)
    attach(server, provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, url


def test_attribute_and_fall_back_notifications(world, capsys):  # noqa: F811
    if not TS48.exists():
        pytest.skip(f"TS.48 profile {TS48} is absent (/work/shared/reference not mounted)")
    w, pki, new = world, world["tmp"] / "pki", "8944000000000000001"
    _register(capsys, w)
    w["service"].stop()                                  # the same database, served in this process
    notified: list[tuple[str, str | None]] = []

    def operator(url: str) -> Provider:
        provider = Provider(url)
        for name in NOTIFICATIONS:
            provider.register("ES4", name, lambda r, name=name: notified.append((name, r.get("Iccid"))) or [],
                              one_way=True)
        return provider
    mno_server, mno_url = _serve(operator)
    store = SmsrStore(w["db"])
    holder: dict[str, SmsrService] = {}
    smsr_server, smsr_url = _serve(lambda url: holder.setdefault(
        "s", SmsrService(store, w["reader"], url, endpoints={"MNO": mno_url})).provider)
    service = holder["s"]
    smdp = Service(w["tmp"] / "smdp.db", "", w["tmp"] / "smdp.log", [
        "smdp-service", "serve", "--db", str(w["tmp"] / "smdp.db"), "--port", "0", "--smsr", smsr_url,
        "--key", str(pki / "SK_DP.pem"), "--cert", str(pki / "CERT_DP.hex"), "--profile", f"{new}={TS48}"])
    sr = ["mno", "--smsr", smsr_url]
    try:
        status, out = invoke_cli(capsys, ["mno", "--smdp", smdp.url, "download", w["eid"], new])
        assert status == 0, out + smdp.log.read_text()
        isdp = re.search(r"Isd-p-aid: ([0-9A-F]{32})", out)[1]
        assert invoke_cli(capsys, [*sr, "set-fallback", w["eid"], w["iccid"]])[0] == 0
        assert notified == [("HandleFallBackAttributeSetNotification", w["iccid"])]
        assert invoke_cli(capsys, [*sr, "enable", w["eid"], new])[0] == 0
        assert notified[1:] == [("HandleProfileEnabledNotification", new),
                                ("HandleProfileDisabledNotification", w["iccid"])]
        # the operator does not want Disabled notifications: the Fall-Back reaches it as Enabled only
        assert invoke_cli(capsys, [*sr, "set-onc", "--exclude", "HandleProfileDisabledNotification"])[0] == 0
        del notified[:]
        events = service.network_event(w["eid"], [cat.NO_SERVICE, cat.NORMAL_SERVICE])
        assert [(r.iccid, n) for r, n in events] == [(w["iccid"], "HandleProfileEnabledNotification"),
                                                     (new, "HandleProfileDisabledNotification")]
        assert notified == [("HandleProfileEnabledNotification", w["iccid"])]
        states = _states(invoke_cli(capsys, [*sr, "audit-eis", w["eid"]])[1])
        assert (states[w["aid"]], states[isdp]) == ("Enabled", "Disabled")
        # the Emergency attribute through the SM-DP (ES2 -> ES3 -> ES5), then refused on the Fall-Back profile
        del notified[:]
        status, out = invoke_cli(capsys, ["mno", "--smdp", smdp.url, "set-emergency", w["eid"], new])
        assert status == 0 and "ES2.SetEmergencyProfileAttribute: Executed-Success" in out, out
        assert notified == [("HandleEmergencyProfileAttributeSetNotification", new)]
        status, out = invoke_cli(capsys, [*sr, "get-eis", w["eid"]])
        assert re.search(rf"Isd-p-aid: {isdp}\n(?:\s+\S+: .*\n)*?\s+EmergencyProfileAttribute: true", out), out
        status, out = invoke_cli(capsys, [*sr, "set-emergency", w["eid"], w["iccid"]])
        assert status == 1 and "ES4.SetEmergencyProfileAttribute: Failed 8.2.1 3.5" in out, out
        assert len(notified) == 1
    finally:
        smdp.stop()
        for server in (smsr_server, mno_server):
            server.shutdown()
            server.server_close()
        service.close()
        store.close()
