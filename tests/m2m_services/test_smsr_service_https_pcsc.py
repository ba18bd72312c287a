"""``smsr-service serve --transport https`` with a card on real pcscd + vpcd (SGP.02 v4.2 §2.4.4,
GP Amd B; issue #15): the card's SCP81 key set is put by the command-line SM-SR by SMS before the
EUM registers the EIS (which carries it), then ES4 AuditEIS and EnableProfile reach the card only in
HTTPS administration sessions with that PSK; the card (``--m2m-notification-transport https``)
delivers its notifications in its own HTTPS sessions, which the service confirms and takes into the
EIS.  The card's state is read afterwards by the command-line SM-SR by SMS, not by the service."""
from __future__ import annotations

import json
import re
import sqlite3

import pytest

from euicc.composition import open_card
from tests.e2e.pcsc_host import reader_name
from tests.m2m.conftest import add_profile
from tests.m2m_host.m2m_world import DEFAULT_KIC, DEFAULT_KID, audit_states, invoke_cli
from tests.m2m_host.test_cli_https import DEFAULT_DEK, PSK, PSK_DEK
from tests.m2m_services.test_smsr_service_pcsc import Service, _counter, _states
from tools.cli import main

pytestmark = pytest.mark.pcsc
SECOND_ICCID = "8988100000000000011"
OPEN_CHANNEL = re.compile(r"<< D0[0-9A-F]{2,4}8103..40", re.I)
"""A proactive OPEN CHANNEL (TS 102 223 §6.6.27: command details '81 03 nn 40') in the APDU trace."""


def test_audit_and_enable_over_https(start_card, pcscd, tmp_path, capsys):
    state, trace, reader = tmp_path / "card.state", tmp_path / "apdu.trace", reader_name(pcscd)
    start_card(state).stop()
    card = open_card(state)
    try:
        second = add_profile(card, 0x20, SECOND_ICCID).hex().upper()
    finally:
        card.close()
    status, info = invoke_cli(capsys, ["info", "--state", str(state)])
    assert status == 0, info
    eid = re.search(r"EID:\s+(\d{32})", info)[1]
    first, iccid = re.search(r"isdp_aid=([0-9A-F]{32})\s+iccid=(\d+)", info).groups()
    assert first != second
    start_card(state, extra=["--trace", str(trace), "--m2m-notification-transport", "https"])
    assert invoke_cli(capsys, ["smsr", "pki", "--out", str(tmp_path / "pki")])[0] == 0
    eis = tmp_path / "pki" / "eis.json"
    status, out = invoke_cli(capsys, ["smsr", "--eis", str(eis), "--reader", reader, "--kic", DEFAULT_KIC, "--kid",
                                      DEFAULT_KID, "put-psk", "--psk", PSK, "--psk-dek", PSK_DEK, "--dek", DEFAULT_DEK])
    assert status == 0 and "SCP81 key set 40" in out, out
    db = tmp_path / "smsr.db"
    service = Service(db, reader, tmp_path / "smsr.log", extra=["--transport", "https"])
    try:
        status, out = invoke_cli(capsys, ["eum", "register-eis", "--smsr", service.url, "--eis", str(eis), "--eid", eid,
                                          "--profile", f"{first}={iccid},enabled",
                                          "--profile", f"{second}={SECOND_ICCID}", "--mno", "MNO"])
        assert status == 0 and "Executed-Success" in out, out
        opened = len(OPEN_CHANNEL.findall(trace.read_text()))
        mno = ["mno", "--smsr", service.url]
        status, out = invoke_cli(capsys, [*mno, "audit-eis", eid])
        assert status == 0 and _states(out) == {first: "Enabled", second: "Disabled"}, out + service.log.read_text()
        status, out = invoke_cli(capsys, [*mno, "enable", eid, SECOND_ICCID])
        assert status == 0 and "Executed-Success" in out, out + service.log.read_text()
        status, out = invoke_cli(capsys, [*mno, "get-eis", eid])
        assert _states(out) == {first: "Disabled", second: "Enabled"}, out
        assert len(OPEN_CHANNEL.findall(trace.read_text())) >= opened + 3     # audit, enable, the card's notification
    finally:
        service.stop()
    with sqlite3.connect(db) as con:
        (stored,), = con.execute("SELECT eis FROM euicc").fetchall()
    assert json.loads(stored)["notifications"], stored        # the card's notification(s), confirmed over HTTPS
    # the card itself, asked by the command-line SM-SR by SMS (the next counter after the service's)
    capsys.readouterr()
    status, out = main(["smsr", "--eis", str(eis), "--reader", reader, "--counter", str(_counter(db, eid) + 1),
                        "audit"]), capsys.readouterr()
    assert status == 0 and audit_states(out.out) == {first: "DISABLED", second: "ENABLED"}, out
