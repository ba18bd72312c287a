"""ES5 over CAT_TP on real BIP, in process through the terminal simulator (TS 102 226 §9 PUSH;
TS 102 127 over a TS 102 223 UDP channel; SGP.02 v4.2 ES5 with SCP80): the test SM-SR
(tools/smsr, host code) sends the two PUSH commands in an SCP80 SMS script, the card opens a UDP
channel (OPEN CHANNEL), the terminal simulator carries it over a real loopback socket to the
SM-SR's CAT_TP host (tools/ota/cat_tp.py), which accepts the card's SYN and runs the SM-SR's
AuditEIS and EnableProfile through tools/smsr/cat_tp_link.py."""
from __future__ import annotations

import socket
import threading

from tests.m2m import host
from tests.m2m.conftest import KIC, KID, add_profile
from tools.ota.cat_tp import HostCatTp
from tools.ota.packet import AES, OtaKeyset
from tools.smsr.cat_tp_link import CatTpScripts, push_apdus
from tools.smsr.eis import Eis
from tools.smsr.smsr import CommandFailed, SmSr
from tools.terminal import cat
from tools.terminal.bip import BipTerminal
from tools.terminal.link import CallableLink
from tools.terminal.terminal import Terminal

SMSR_CAT_TP_PORT = 4001
IDENTIFICATION = bytes.fromhex("98001032547698103214")      # an ICCID with the '98' prefix (SPEC_NOTES §3.4)


class SmsrCatTpHost:
    """The SM-SR's end: a UDP socket on loopback and, in a thread, ``work`` on the accepted link."""

    def __init__(self, smsr: SmSr, work) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.link = HostCatTp(self.sock, None, SMSR_CAT_TP_PORT, rto=0.3, retries=30)
        self.smsr, self.work = smsr, work
        self.identification, self.result, self.error = b"", None, None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            self.identification = self.link.accept(timeout=15)
            self.smsr.https = CatTpScripts(self.link, self.smsr.keyset, lambda: self.smsr.eis.next_counter(0x01))
            self.result = self.work(self.smsr)
            self.link.close()
        except Exception as e:      # reported by the test
            self.error = e

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()


def session(card):
    terminal = Terminal(CallableLink(card.transmit, card.reset), profile=cat.MODEM_PROFILE, bip=BipTerminal())
    smsr = SmSr(Eis(eid=card.services.eid), OtaKeyset(0x01, AES, KIC, AES, KID))
    smsr.attach(terminal)
    terminal.start()
    terminal.location_status(cat.NORMAL_SERVICE)
    return terminal, smsr


def test_push_opens_cat_tp_on_bip_audit_and_enable_profile(card):
    second = add_profile(card, 0x20, "8988100000000000011")
    first = card.services.profiles.enabled().isdp_aid
    terminal, smsr = session(card)

    def work(smsr: SmSr):
        statuses = smsr.audit()
        smsr.enable_profile(second)
        return statuses

    sm = SmsrCatTpHost(smsr, work)
    try:
        rapdus = smsr.execute(push_apdus("127.0.0.1", sm.port, SMSR_CAT_TP_PORT, identification=IDENTIFICATION),
                              what="PUSH")
        assert rapdus == [b"\x90\x00", b"\x90\x00"]
        sm.thread.start()
        terminal.serve(30, until=lambda: sm.done and not terminal.bip.channels)
        assert sm.error is None, repr(sm.error)
        assert sm.identification == IDENTIFICATION
        assert {s.aid for s in sm.result} >= {first, second}
        assert card.services.profiles.enabled().isdp_aid == second
        opened = next(c for c in terminal.record.proactive if c.type == cat.OPEN_CHANNEL)
        # UDP client, remote (§8.59 '01') to the SM-SR's port; IPv4 127.0.0.1 (§8.58)
        assert opened.objects[cat.T_TRANSPORT_LEVEL] == b"\x01" + sm.port.to_bytes(2, "big")
        assert opened.objects[cat.T_OTHER_ADDRESS] == bytes.fromhex("217F000001")
        types = [c.type for c in terminal.record.proactive]
        # the PoR of EnableProfile went out (SEND DATA) before its REFRESH (UICC reset), which
        # closed the channel (channels do not survive a reset, TS 102 223 §6.4.27)
        assert types.count(cat.OPEN_CHANNEL) == 1 and types.index(cat.REFRESH) > max(
            i for i, t in enumerate(types) if t == cat.SEND_DATA)
        assert terminal.record.resets == 2 and terminal.bip.channels == {}
    finally:
        sm.sock.close()
        terminal.bip.close_all()


def test_link_request_without_channel_request_is_refused(card):
    """PUSH "CAT_TP link establishment" before any "BIP channel opening": '6985'; nothing opened."""
    terminal, smsr = session(card)
    link_only = push_apdus("127.0.0.1", 9, SMSR_CAT_TP_PORT)[1]
    try:
        smsr.execute([link_only], what="PUSH")
        raise AssertionError("accepted")
    except CommandFailed as failure:
        assert failure.sw == 0x6985
    assert cat.OPEN_CHANNEL not in [c.type for c in terminal.record.proactive]


def test_push_with_a_tcp_channel_is_refused(card):
    """The BIP channel of a CAT_TP link is UDP (TS 102 127 over §8.59 '01'): a TCP one is '6A80'."""
    terminal, smsr = session(card)
    bip = bytearray(push_apdus("127.0.0.1", 9, SMSR_CAT_TP_PORT)[0])
    bip[bip.index(b"\x3C\x03\x01") + 2] = 0x02
    try:
        smsr.execute([bytes(bip)], what="PUSH")
        raise AssertionError("accepted")
    except CommandFailed as failure:
        assert failure.sw == 0x6A80
