"""``euicc-emu smsr --transport https notifications`` against an in-process card (the PC/SC link
replaced by ``Card.transmit``, as in test_cli_https.py) with ``--m2m-notification-transport
https``: the EIS file records what the SMS path records (tools/smsr/smsr.py ``confirm_all``)."""
from __future__ import annotations

import json

import tools.smsr.cli as smsr_cli
from euicc.composition import open_card
from euicc.m2m.runtime import M2mRuntime
from euicc.m2m.settings import M2mSettings
from tests.m2m.conftest import add_profile
from tests.m2m_host.https_chain import free_port
from tests.m2m_host.m2m_world import DEFAULT_KIC, DEFAULT_KID, audit_states, invoke_cli
from tests.m2m_host.test_cli_https import DEFAULT_DEK, PSK, PSK_DEK
from tools.terminal.link import CallableLink


def test_notifications_over_https_recorded_in_the_eis_file(monkeypatch, capsys, tmp_path):
    """``smsr --transport https notifications`` records in the EIS file what the SMS path records
    (SGP.02 §3.15, §4.1.1.12): the confirmed sequence numbers and the profile states the
    notifications tell — here the eUICC declaration ('01') and the profile change ('02') after an
    EnableProfile over HTTPS, with no audit after it (one ``--https-port``: the card delivers its
    notifications to the SM-SR's address of the last trigger)."""
    card = open_card(None, m2m=M2mRuntime(settings=M2mSettings(notification_transport="https")))
    monkeypatch.setattr(smsr_cli, "open_link", lambda reader: CallableLink(card.transmit, card.reset))
    monkeypatch.setattr(smsr_cli.HttpsTransport, "timeout", 10.0)
    try:
        second = add_profile(card, 0x20, "8988100000000000011").hex().upper()
        eis = tmp_path / "eis.json"
        keys = ["--eis", str(eis), "--kic", DEFAULT_KIC, "--kid", DEFAULT_KID]
        status, out = invoke_cli(capsys, ["smsr", *keys, "put-psk", "--psk", PSK, "--psk-dek", PSK_DEK,
                                          "--dek", DEFAULT_DEK])
        assert status == 0, out
        https = ["smsr", "--eis", str(eis), "--transport", "https", "--psk", PSK, "--https-port", str(free_port())]
        status, out = invoke_cli(capsys, [*https, "audit"])     # the card delivers notifications to that port
        original = next(aid for aid, state in audit_states(out).items() if state == "ENABLED")
        assert invoke_cli(capsys, [*https, "enable", second])[0] == 0
        before = json.loads(eis.read_text())
        assert before["notifications"] == [] and {p["isdp_aid"]: p["state"] for p in before["profiles"]} == {
            original: "ENABLED", second: "DISABLED"}
        status, out = invoke_cli(capsys, [*https, "notifications"])
        assert status == 0, out
        lines = [line.split() for line in out.splitlines() if line.startswith("confirmed over HTTPS")]
        assert sorted((w[4], w[7:]) for w in lines) == [("01", []), ("02", [second])]      # type, ISD-P AID
        after = json.loads(eis.read_text())
        assert after["notifications"] == [int(w[6]) for w in lines]
        assert sorted(after["notifications"]) == [1, 2]      # the card's first two sequence numbers
        assert {p["isdp_aid"]: p["state"] for p in after["profiles"]} == {original: "DISABLED", second: "ENABLED"}
    finally:
        card.close()
