"""Issue #12 item 7: the whole SGP.02 HTTPS chain through pcscd + vpcd + `euicc-emu run
--m2m-notification-transport https`, as a user runs it (tests/m2m_host/https_chain.py): the SM-SR
queues ES5.EnableProfile, pushes the administration session trigger by SMS through the terminal
simulator, the card opens a BIP channel, PSK-TLS, HTTP POST, the script runs, REFRESH; back in
network service the card delivers its profile-change notification (SGP.02 §3.15) in an HTTPS
session of its own, which the SM-SR confirms inside it (ES5.HandleNotificationConfirmation,
§4.1.1.12), and the SM-SR's EIS file records them as by SMS.  The card's state is read back with
ES5 AuditEIS only; that it forgot the confirmed notification shows after its validity period: an
unconfirmed switch would be rolled back then (SGP.02 §3.2, notification '03'), a confirmed one
stays."""
from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from tests.e2e.pcsc_host import reader_name
from tests.m2m.tls_wire import ALERT, closed_channel_streams, record_types
from tests.m2m_host.https_chain import CARD_OPTIONS, HttpsChain
from tools.ber_tlv import encode as ber
from tools.smsr import es5
from tools.smsr.smsr import parse_response_script
from tools.smsr_https.server import ISDR_AID, script
from tools.terminal import cat

pytestmark = pytest.mark.pcsc

VALIDITY_PERIOD = 10.0      # seconds: the card's rollback period here (run --m2m-validity-period)


def rapdus(response: bytes) -> list[bytes]:
    return parse_response_script(response).rapdus


def test_enable_over_https_then_notification_confirmed_over_https(start_card, pcscd, tmp_path, capsys, monkeypatch):
    start_card(tmp_path / "card.state", extra=[*CARD_OPTIONS, "--m2m-validity-period", str(VALIDITY_PERIOD)])
    chain = HttpsChain(capsys, tmp_path, pcscd).install(monkeypatch)
    original, isdp = chain.prepare()
    aid = bytes.fromhex(isdp)

    enabled_at = time.time()
    assert chain.ok(*chain.https, "enable", isdp).splitlines()[0] == "ok"
    link, server = chain.links[-1], chain.servers[-1].server
    (session,) = server.sessions                                   # one administration session
    (exchange,) = session.exchanges
    assert session.cipher.startswith("TLS-PSK-WITH-AES-128") and exchange.target == ISDR_AID
    assert ber(0x22, es5.enable_profile(aid)) in exchange.script
    assert exchange.status == "ok" and rapdus(exchange.response) == [b"\x90\x00"]
    eid = bytes.fromhex(session.eid)
    proactive = link.proactive()
    kinds = [p.type for p in proactive]
    (open_channel,) = [p for p in proactive if p.type == cat.OPEN_CHANNEL]
    assert open_channel.objects[cat.T_TRANSPORT_LEVEL] == b"\x02" + chain.port.to_bytes(2, "big")   # TCP
    assert open_channel.objects[cat.T_OTHER_ADDRESS] == bytes.fromhex("217F000001")             # IPv4 127.0.0.1
    assert link.sent_tls_application_data() == 2                   # the POST, the POST with the answer
    refresh = kinds.index(cat.REFRESH)                             # the switch: UICC reset (TS 102 223 §6.4.7)
    assert proactive[refresh].qualifier == 0x04 and refresh > kinds.index(cat.OPEN_CHANNEL)
    assert kinds.count(cat.SEND_SHORT_MESSAGE) == 1                # the trigger's PoR (SPI2), no notification

    out = chain.ok(*chain.https, "notifications")                 # network attachment
    link, server = chain.links[-1], chain.servers[-1].server
    change = [n for n in server.notifications if n.get(0x4D) == b"\x02"]
    assert len(change) == 1 and change[0][0x4C] == eid and change[0][0x2F] == aid
    seq = int.from_bytes(change[0][0x4E], "big")
    assert f"confirmed over HTTPS type 02 seq {seq}" in out
    declaration = [n for n in server.notifications if n.get(0x4D) == b"\x01"]   # first attachment of its life
    assert len(declaration) == 1 and len(server.notifications) == 2
    eis = json.loads(Path(chain.eis).read_text())           # as by SMS: the confirmed ones and what they tell
    declared = int.from_bytes(declaration[0][0x4E], "big")
    assert sorted(eis["notifications"]) == sorted([seq, declared])
    assert {p["isdp_aid"]: p["state"] for p in eis["profiles"]} == {original: "DISABLED", isdp: "ENABLED"}
    confirmations = [e for s in server.sessions for e in s.exchanges]
    assert len(server.sessions) == 2 and all(s.completed and s.error is None for s in server.sessions)
    assert [e.script for e in confirmations][0] == script(es5.confirm_notification(seq))
    for e in confirmations:                                        # '80 00': no profile deleted by POL1
        assert e.status == "ok" and rapdus(e.response) == [b"\x80\x00\x90\x00"]
        assert es5.parse_confirmation_response(rapdus(e.response)[0][:-2]) == []
    kinds = [p.type for p in link.proactive()]
    assert kinds.count(cat.OPEN_CHANNEL) == 2 and cat.SEND_SHORT_MESSAGE not in kinds     # by HTTPS, not SMS
    # each session's normal end (204): the card's close_notify (RFC 5246 §7.2.1), decrypted by the
    # SM-SR, and on the wire the last record the card sent on the channel before CLOSE CHANNEL
    assert all(s.card_close_notify for s in server.sessions)
    streams = closed_channel_streams(link.proactive())
    assert len(streams) == 2 and all(record_types(stream)[-1] == ALERT for stream in streams)

    assert chain.audit() == {original: "DISABLED", isdp: "ENABLED"}
    time.sleep(max(0.0, enabled_at + VALIDITY_PERIOD + 1 - time.time()))   # the card's own deadline, passed
    out = chain.ok("terminal", "--reader", reader_name(pcscd), "location", "normal")
    assert "SW 9000" in out and "proactive 01/" not in out                 # no REFRESH of a rollback
    assert chain.audit() == {original: "DISABLED", isdp: "ENABLED"}         # not rolled back: forgotten
