"""The operator's functions through the SM-DP (ES2 -> ES3 -> ES5) and the notifications back
(SM-SR -ES3-> SM-DP -ES2-> operator), the ES3-only DeleteISDP and UpdateConnectivityParameters,
with a card on pcscd + vpcd (SGP.02 v4.2 §5.3, §5.4).  SM-SR and SM-DP are served in this process
on loopback (their ports are bound first: each needs the other's address)."""
from __future__ import annotations

import re
import sqlite3
import threading

import pytest

from tests.m2m_host.m2m_world import TS48, invoke_cli
from tests.m2m_services.test_smsr_service_pcsc import _register, _states, world  # noqa: F401
from tools.m2m_services.es4a import NOTIFICATIONS
from tools.m2m_services.smdp_service import SmdpService
from tools.m2m_services.smdp_store import SmdpStore
from tools.m2m_services.smsr_service import SmsrService
from tools.m2m_services.smsr_store import SmsrStore
from tools.m2m_services.transport import Provider, Requester, address, attach, serve
from tools.smdp_m2m.smdp import sms_connectivity_parameters
from tools.smsr.pki_files import load_private_key, load_public_key

pytestmark = pytest.mark.pcsc


def test_es2_relays_es3_functions_and_notifications(world, capsys):  # noqa: F811
    if not TS48.exists():
        pytest.skip(f"TS.48 profile {TS48} is absent (/work/shared/reference not mounted)")
    w, pki, new = world, world["tmp"] / "pki", "8944000000000000001"
    _register(capsys, w)
    w["service"].stop()
    servers = {name: serve("127.0.0.1", 0) for name in ("smsr", "smdp", "mno")}
    urls = {name: address(server, "127.0.0.1") for name, server in servers.items()}
    notified: list[tuple[str, str, str | None]] = []
    operator = Provider(urls["mno"])
    for interface in ("ES2", "ES4"):
        for name in NOTIFICATIONS:
            operator.register(interface, name, lambda r, i=interface, n=name: notified.append((i, n, r.get("Iccid")))
                              or [], one_way=True)
    smsr_store, smdp_store = SmsrStore(w["db"]), SmdpStore(w["tmp"] / "smdp.db")
    smsr = SmsrService(smsr_store, w["reader"], urls["smsr"], endpoints={"SM-DP": urls["smdp"]})
    smdp = SmdpService(smdp_store, urls["smsr"], urls["smdp"], load_private_key(pki / "SK_DP.pem"),
                       bytes.fromhex((pki / "CERT_DP.hex").read_text().strip()), load_public_key(pki / "PK_EUM.pem"),
                       {new: TS48.read_bytes()}, endpoints={"MNO": urls["mno"]})
    for name, provider in (("smsr", smsr.provider), ("smdp", smdp.provider), ("mno", operator)):
        attach(servers[name], provider)
        threading.Thread(target=servers[name].serve_forever, daemon=True).start()
    dp, sr = ["mno", "--smdp", urls["smdp"]], ["mno", "--smsr", urls["smsr"]]
    try:
        status, out = invoke_cli(capsys, [*dp, "download", w["eid"], new])
        assert status == 0, out
        isdp = re.search(r"Isd-p-aid: ([0-9A-F]{32})", out)[1]
        status, out = invoke_cli(capsys, [*dp, "audit-eis", w["eid"]])                       # ES2.AuditEIS
        assert status == 0 and _states(out)[isdp] == "Disabled", out
        status, out = invoke_cli(capsys, [*dp, "update-subscription-address", w["eid"], new, "--msisdn", "33612345678"])
        assert status == 0 and "ES2.UpdateSubscriptionAddress: Executed-Success" in out, out
        assert "Msisdn: 33612345678" in invoke_cli(capsys, [*dp, "get-eis", w["eid"]])[1]
        assert invoke_cli(capsys, [*dp, "update-policy-rules", w["eid"], new, "--rule", "DELETE=Not-Allowed"])[0] == 0
        status, out = invoke_cli(capsys, [*dp, "delete", w["eid"], new])                    # POL2 through ES2 -> ES3
        assert status == 1 and "ES2.DeleteProfile: Failed 8.2.3 3.8" in out, out
        assert invoke_cli(capsys, [*dp, "update-policy-rules", w["eid"], new])[0] == 0
        status, out = invoke_cli(capsys, ["mno", "--smdp", urls["smdp"], "--id", "MNO2", "disable", w["eid"], new])
        assert status == 1 and "Failed 8.2.1 1.2" in out                                   # not its profile
        assert notified == []
        assert invoke_cli(capsys, [*dp, "set-fallback", w["eid"], new])[0] == 0            # ES2.SetFallBackAttribute
        assert invoke_cli(capsys, [*sr, "set-fallback", w["eid"], w["iccid"]])[0] == 0     # ES4, moves it back
        assert notified == [("ES2", "HandleFallBackAttributeSetNotification", new),
                            ("ES2", "HandleFallBackAttributeUnsetNotification", new)]
        del notified[:]
        assert invoke_cli(capsys, [*dp, "enable", w["eid"], new])[0] == 0
        response = Requester(urls["smdp"], "MNO").call("ES2", "UpdateConnectivityParameters", [
            ("Eid", w["eid"]), ("Iccid", new), ("ConnectivityParameters", sms_connectivity_parameters("33689924111").hex())])
        assert response.status.ok, str(response.status)
        status, out = invoke_cli(capsys, [*dp, "disable", w["eid"], new])                   # ES2.DisableProfile
        assert status == 0, out
        status, out = invoke_cli(capsys, [*dp, "delete", w["eid"], new])                    # ES2.DeleteProfile
        assert status == 0, out
        assert smdp_store.download(w["eid"], new).state == "DELETED"                        # the SM-DP's view
        assert notified == [("ES2", "HandleProfileEnabledNotification", new),
                            ("ES2", "HandleProfileDisabledNotification", new),
                            ("ES2", "HandleProfileDeletedNotification", new)]
        states = _states(invoke_cli(capsys, [*sr, "audit-eis", w["eid"]])[1])
        assert isdp not in states and states[w["aid"]] == "Enabled"
        with sqlite3.connect(w["db"]) as con:
            calls = con.execute("SELECT interface, function, status FROM call WHERE function = "
                                "'UpdateConnectivityParameters'").fetchall()
        assert calls == [("ES3", "UpdateConnectivityParameters", "Executed-Success")]
        # ES3.DeleteISDP: only by the SM-DP that created the ISD-P
        sm_dp = Requester(urls["smsr"], "SM-DP")
        created = sm_dp.call("ES3", "CreateISDP", [("Eid", w["eid"]), ("Iccid", "8900100000000000777"),
                                                    ("Mno-id", "MNO")])
        assert created.status.ok, str(created.status)
        other = Requester(urls["smsr"], "SMDP2").call("ES3", "DeleteISDP", [("Eid", w["eid"]),
                                                                            ("Iccid", "8900100000000000777")])
        assert str(other.status).startswith("Failed 8.2.1 1.2")
        assert sm_dp.call("ES3", "DeleteISDP", [("Eid", w["eid"]), ("Iccid", "8900100000000000777")]).status.ok
        assert created.get("Isd-p-aid") not in _states(invoke_cli(capsys, [*sr, "audit-eis", w["eid"]])[1])
        assert len(notified) == 3                                  # DeleteISDP notifies no operator
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()
        smsr.close()
        smsr_store.close()
        smdp_store.close()
