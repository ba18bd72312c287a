"""SGP.02's other transports end to end through pcscd + ifd-vpcd + `euicc-emu run` (the card in its
own process), the terminal simulator on the PC/SC side carrying BIP channels over loopback (#12
item 7): ES5 over HTTPS with the SM-SR given as a name (DNS over a BIP UDP channel), ES5 over
CAT_TP (TS 102 226 §9 PUSH), and refusals that must leave the card consistent: an unsolicited
RECEIVE DATA answer, a channel the terminal closes in the middle of a CAT_TP session."""
from __future__ import annotations

import threading

import pytest

from tests.e2e.pcsc_host import reader_name
from tests.m2m.test_cat_tp_bip import IDENTIFICATION, SMSR_CAT_TP_PORT, SmsrCatTpHost
from tests.m2m_host.m2m_world import DEFAULT_KIC, DEFAULT_KID
from tests.m2m_host.test_cli_https import DEFAULT_DEK, PSK, PSK_DEK
from tools.ota.packet import AES, OtaKeyset
from tools.smsr.cat_tp_link import push_apdus
from tools.smsr.cli import read_eid
from tools.smsr.eis import Eis
from tools.smsr.smsr import SmSr
from tools.smsr_https.psk_keys import put_psk_key
from tools.smsr_https.transport import SERVER_NAME, HttpsTransport
from tools.terminal import cat
from tools.terminal.bip import BipTerminal
from tools.terminal.dns_server import DnsServer, Record
from tools.terminal.link import PcscLink
from tools.terminal.terminal import Terminal

pytestmark = pytest.mark.pcsc


@pytest.fixture
def smsr(start_card, pcscd, tmp_path):
    start_card(tmp_path / "transports.state")
    link = PcscLink(reader_name(pcscd))
    terminal = Terminal(link, profile=cat.MODEM_PROFILE, bip=BipTerminal())
    smsr = SmSr(Eis(), OtaKeyset(0x01, AES, bytes.fromhex(DEFAULT_KIC), AES, bytes.fromhex(DEFAULT_KID)))
    smsr.attach(terminal)
    try:
        terminal.start()
        terminal.location_status(cat.NORMAL_SERVICE)
        smsr.eis.eid = read_eid(terminal)
        yield smsr
    finally:
        terminal.bip.close_all()
        link.close()


def isdps(smsr: SmSr) -> set[bytes]:
    return {s.aid for s in smsr.audit()}


def cat_tp_session(smsr: SmSr, work) -> SmsrCatTpHost:
    host = SmsrCatTpHost(smsr, work)
    smsr.execute(push_apdus("127.0.0.1", host.port, SMSR_CAT_TP_PORT, identification=IDENTIFICATION), what="PUSH")
    host.thread.start()
    return host


def test_es5_over_https_with_the_smsr_given_as_a_name(smsr):
    """put-psk by SMS; then each ES5 script over HTTPS, the trigger naming the SM-SR only: the card
    asks the DNS server (UDP channel), then opens TCP to the answer (PSK-TLS, GP Amd B)."""
    smsr.execute_one(put_psk_key(0x40, bytes.fromhex(PSK), bytes.fromhex(PSK_DEK), bytes.fromhex(DEFAULT_DEK)),
                     "PUT KEY (SCP81)")
    dns = DnsServer({SERVER_NAME: Record("127.0.0.1", ttl=1)}).start()
    https = HttpsTransport.start(smsr, bytes.fromhex(PSK), timeout=20.0)
    https.dns = ("127.0.0.1", dns.port)
    try:
        before = isdps(smsr)
        created = smsr.create_isdp()
        assert isdps(smsr) == before | {created}
    finally:
        https.stop()
        dns.stop()
    assert dns.queries and set(dns.queries) == {SERVER_NAME + "."}
    opens = [c for c in smsr.terminal.record.proactive if c.type == cat.OPEN_CHANNEL]
    kinds = [o.objects[cat.T_TRANSPORT_LEVEL][0] for o in opens]
    assert kinds.count(0x02) == 3 and kinds[0] == 0x01          # UDP (DNS) first, a TCP channel per script


def test_es5_over_cat_tp(smsr):
    """PUSH by SMS, the card's SYN over a UDP channel, AuditEIS and CreateISDP over the link."""
    created: list[bytes] = []

    def work(smsr: SmSr):
        before = isdps(smsr)
        created.append(smsr.create_isdp())
        return before

    host = cat_tp_session(smsr, work)
    smsr.terminal.serve(30, until=lambda: host.done and not smsr.terminal.bip.channels)
    host.sock.close()
    assert host.error is None, repr(host.error)
    assert host.identification == IDENTIFICATION and created and created[0] not in host.result
    smsr.https = None
    assert isdps(smsr) == host.result | {created[0]}                  # and by SMS afterwards


def test_unsolicited_receive_data_answer_is_refused(smsr):
    """A TERMINAL RESPONSE to a RECEIVE DATA the card never issued: '6985'; the card goes on."""
    before = isdps(smsr)
    tr = bytes.fromhex("80140000148103014200820282818301003603414243370100")
    assert smsr.terminal.link.exchange(tr)[1] == 0x6985
    assert isdps(smsr) == before


def test_channel_closed_by_the_terminal_mid_session(smsr):
    """The terminal drops the CAT_TP link's channel after the handshake: Channel Status event, the
    card closes its end; nothing was changed, and a new PUSH gives a working link."""
    accepted, release = threading.Event(), threading.Event()

    def stalled(smsr: SmSr):
        accepted.set()
        release.wait(20)
        return smsr.create_isdp()              # the channel is gone: no answer comes

    host = cat_tp_session(smsr, stalled)
    terminal = smsr.terminal
    terminal.serve(15, until=accepted.is_set)
    (number,) = terminal.bip.channels
    seen = len(terminal.record.proactive)
    terminal.bip.drop(number)
    terminal.serve(5, until=lambda: not terminal.bip.channels)
    assert cat.EVENT_CHANNEL_STATUS in terminal.record.events_sent
    after_drop = [c.type for c in terminal.record.proactive[seen:]]
    assert cat.CLOSE_CHANNEL in after_drop                  # then TIMER MANAGEMENT may stop the link's timer
    assert set(after_drop[after_drop.index(cat.CLOSE_CHANNEL) + 1:]) <= {cat.TIMER_MANAGEMENT}
    host.link.retries = 2
    release.set()
    host.thread.join(10)
    host.sock.close()
    assert host.error is not None                                      # the SM-SR saw the link fail
    smsr.https = None
    before = isdps(smsr)

    host = cat_tp_session(smsr, isdps)
    terminal.serve(30, until=lambda: host.done and not terminal.bip.channels)
    host.sock.close()
    assert host.error is None, repr(host.error)
    assert host.result == before
