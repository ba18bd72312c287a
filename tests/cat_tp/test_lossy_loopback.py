"""CAT_TP between the card's endpoint and the independent host endpoint over real UDP sockets on
loopback, through a relay that drops, duplicates and reorders datagrams (ETSI TS 102 127, reliable delivery:
reliable, in-sequence, duplicate-free delivery of SDUs, with segmentation)."""
from __future__ import annotations

import time

import pytest

from euicc.cat.catp.endpoint import CatTpEndpoint, CatTpSettings, State
from tests.cat_tp.lossy import BipStandIn, Impairment, LossyRelay, udp_socket, wait_for
from tools.ota.cat_tp import HostCatTp

CARD_PORT, SMSR_PORT = 1025, 4000
FAST = CatTpSettings(max_pdu_size=300, max_sdu_size=4096, window=4, retransmit_timeout=0.05,
                     max_retries=60, keepalive_interval=0, close_wait_time=0.05, identification=b"\x98\x10\x32")
IMPAIRMENTS = {
    "clean": Impairment(),
    "drop": Impairment(drop=0.25, seed=3),
    "duplicate": Impairment(duplicate=0.4, seed=5),
    "reorder": Impairment(reorder=0.4, seed=7),
    "all": Impairment(drop=0.15, duplicate=0.2, reorder=0.2, seed=11),
}


class Link:
    """SM-SR host socket <-> lossy relay <-> BIP stand-in socket <-> card endpoint."""

    def __init__(self, impairment: Impairment, card_active: bool) -> None:
        self.host_sock, bip_sock = udp_socket(), udp_socket()
        self.relay = LossyRelay(self.host_sock.getsockname(), bip_sock.getsockname(), impairment).start()
        self.sdus: list[bytes] = []
        self.card = CatTpEndpoint(time.monotonic, CARD_PORT, SMSR_PORT if card_active else None, FAST,
                                  initial_seq=0xFFFD, on_sdu=self.sdus.append)   # wraps past 65535
        self.bip = BipStandIn(self.card, self.relay.address, bip_sock).start()
        self.host = HostCatTp(self.host_sock, self.relay.address, SMSR_PORT, CARD_PORT, max_pdu=200,
                              rto=0.05, retries=80)

    def close(self) -> None:
        self.bip.stop()
        self.relay.stop()
        self.host_sock.close()
        assert self.bip.error is None, repr(self.bip.error)


@pytest.fixture
def links():
    made = []
    yield lambda *args: made.append(Link(*args)) or made[-1]
    for link in made:
        link.close()


@pytest.mark.parametrize("name", sorted(IMPAIRMENTS))
def test_card_as_client_exchanges_sdus(links, name):
    """The card opens (as after a PUSH, TS 102 226 §9), both sides send SDUs longer than one PDU."""
    link = links(IMPAIRMENTS[name], True)
    assert link.host.accept() == FAST.identification
    assert wait_for(lambda: link.card.state is State.OPEN)
    commands = [bytes([n]) * (150 + 97 * n) for n in range(1, 6)]     # up to 635 bytes: 3-4 PDUs each
    for command in commands:
        link.host.send_sdu(command)
    assert wait_for(lambda: len(link.sdus) == len(commands)), (link.sdus, link.relay.stats)
    assert link.sdus == commands                                       # in order, once each
    answers = [bytes([0xA0 + n]) * (100 + 211 * n) for n in range(4)]
    for answer in answers:
        link.bip.call(lambda a=answer: link.card.send(a))
    assert [link.host.recv_sdu() for _ in answers] == answers
    assert wait_for(lambda: link.card.idle)
    if name != "clean":
        assert sum(v for k, v in link.relay.stats.items() if k != "in") > 0, link.relay.stats


@pytest.mark.parametrize("name", ["clean", "all"])
def test_card_as_server_in_listen(links, name):
    """UICC server mode: the card waits in LISTEN, the SM-SR opens."""
    link = links(IMPAIRMENTS[name], False)
    assert wait_for(lambda: link.card.state is State.LISTEN)
    link.host.connect(b"SMSR")
    link.host.send_sdu(b"\x01" * 500)
    assert wait_for(lambda: link.sdus == [b"\x01" * 500]), link.relay.stats
    assert link.card.peer.max_pdu_size == 200
    link.bip.call(lambda: link.card.send(b"\x02" * 450))
    assert link.host.recv_sdu() == b"\x02" * 450


def test_reset_by_host_ends_the_card_link(links):
    link = links(IMPAIRMENTS["clean"], True)
    link.host.accept()
    assert wait_for(lambda: link.card.state is State.OPEN)
    link.host.close()
    assert wait_for(lambda: link.card.finished)
    assert link.card.reset_reason == 0
