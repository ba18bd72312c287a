"""The card's CAT_TP endpoint driven PDU by PDU with a fake clock (ETSI TS 102 127: connection management, reliable delivery): the peer's
PDUs are built and the card's parsed by the independent host codec (tools/ota/cat_tp.py)."""
from __future__ import annotations

import struct

import pytest

from euicc.cat.catp.endpoint import CatTpEndpoint, CatTpSettings, State
from tools.ota import cat_tp as host

CARD, SMSR = 1025, 4000
SETTINGS = CatTpSettings(max_pdu_size=100, max_sdu_size=300, window=4, retransmit_timeout=2.0,
                         max_retries=3, keepalive_interval=30.0, close_wait_time=4.0)
PEER_ISS = 500


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


def drain(card: CatTpEndpoint) -> list[host.HostPdu]:
    out = []
    while wire := card.outgoing():
        pdu = host.parse(wire)
        assert pdu is not None, wire.hex()
        out.append(pdu)
    return out


def peer(flags: int, seq: int, ack: int, data: bytes = b"", variable: bytes = b"", window: int = 4) -> bytes:
    return host.build(host.HostPdu(flags, SMSR, CARD, seq, ack, window, data, variable))


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def card(clock) -> CatTpEndpoint:
    """An open link, the card being the server: SYN from the SM-SR, SYN-ACK, ACK."""
    endpoint = CatTpEndpoint(clock, CARD, None, SETTINGS, initial_seq=10)
    endpoint.connected()
    assert endpoint.state is State.LISTEN
    endpoint.received(peer(host.SYN, PEER_ISS, 0, variable=host.syn_options(60, 200, b"ID")))
    (syn_ack,) = drain(endpoint)
    assert syn_ack.flags == host.SYN | host.ACK and (syn_ack.seq, syn_ack.ack) == (10, PEER_ISS)
    assert struct.unpack(">HHB", syn_ack.variable) == (100, 300, 0)
    assert endpoint.state is State.SYN_RCVD
    endpoint.received(peer(host.ACK, PEER_ISS + 1, 10))
    assert endpoint.state is State.OPEN and drain(endpoint) == []
    return endpoint


def test_out_of_order_pdus_are_kept_and_reported_in_eak(card):
    card.received(peer(host.ACK, PEER_ISS + 2, 10, b"B"))            # PEER_ISS+1 is missing
    (eak,) = drain(card)
    assert eak.flags == host.ACK | host.EAK and eak.ack == PEER_ISS
    assert struct.unpack(">H", eak.variable) == (PEER_ISS + 2,)
    card.received(peer(host.ACK | host.SEG, PEER_ISS + 1, 10, b"A"))  # fills the gap
    (ack,) = drain(card)
    assert (ack.flags, ack.ack) == (host.ACK, PEER_ISS + 2) and list(card.sdus) == [b"AB"]


def test_duplicates_are_acknowledged_not_delivered_twice(card):
    for _ in range(3):
        card.received(peer(host.ACK, PEER_ISS + 1, 10, b"once"))
    assert [p.ack for p in drain(card)] == [PEER_ISS + 1] * 3
    assert list(card.sdus) == [b"once"]


def test_beyond_the_window_is_not_kept(card):
    card.received(peer(host.ACK, PEER_ISS + 1 + SETTINGS.window, 10, b"far"))
    (ack,) = drain(card)
    assert ack.flags == host.ACK and ack.ack == PEER_ISS and not card.sdus


def test_segmentation_to_the_peer_max_pdu_and_window(card, clock):
    """The SM-SR said max PDU 60 (42 data bytes) and window 4: a 200-byte SDU is 5 PDUs, 4 at once."""
    card.send(bytes(range(200)))
    first = drain(card)
    assert [len(p.data) for p in first] == [42] * 4 and [p.seq for p in first] == [11, 12, 13, 14]
    assert all(p.flags == host.ACK | host.SEG for p in first)
    card.received(peer(host.ACK, PEER_ISS + 1, 12))                 # 11, 12 acknowledged
    rest = drain(card)
    assert [(p.seq, len(p.data), p.flags) for p in rest] == [(15, 32, host.ACK)]
    assert b"".join(p.data for p in first + rest) == bytes(range(200))


def test_eak_spares_retransmission_of_what_arrived(card, clock):
    card.send(bytes(126))                                             # 3 PDUs: 11, 12, 13
    drain(card)
    eak = peer(host.ACK | host.EAK, PEER_ISS + 1, 10, variable=struct.pack(">HH", 12, 13))
    card.received(eak)
    clock.now += SETTINGS.retransmit_timeout
    assert [p.seq for p in drain(card)] == [11]


def test_sdu_over_the_peer_maximum_or_empty_refused(card):
    with pytest.raises(ValueError):
        card.send(bytes(201))
    with pytest.raises(ValueError):
        card.send(b"")


def test_retransmission_then_reset_after_max_retries(card, clock):
    card.send(b"x")
    assert [p.seq for p in drain(card)] == [11]
    for _ in range(SETTINGS.max_retries):
        clock.now += SETTINGS.retransmit_timeout
        assert [p.seq for p in drain(card)] == [11]
    clock.now += SETTINGS.retransmit_timeout
    (rst,) = drain(card)
    assert rst.flags & host.RST and rst.variable == b"\x05"             # maximum retries exceeded
    assert card.state is State.CLOSE_WAIT and not card.finished
    clock.now += SETTINGS.close_wait_time
    assert drain(card) == [] and card.finished


def test_keepalive_nul_is_sequenced(card, clock):
    assert card.next_deadline() == clock.now + SETTINGS.keepalive_interval
    clock.now += SETTINGS.keepalive_interval
    (nul,) = drain(card)
    assert nul.flags == host.ACK | host.NUL and nul.seq == 11 and nul.data == b""
    card.received(peer(host.ACK | host.NUL, PEER_ISS + 1, 11))       # the SM-SR's own NUL, acked
    (ack,) = drain(card)
    assert ack.ack == PEER_ISS + 1 and card.idle


def test_reassembly_beyond_max_sdu_resets(card):
    for n in range(4):                                                # 4 x 80 > 300 bytes
        card.received(peer(host.ACK | host.SEG, PEER_ISS + 1 + n, 10, bytes(80)))
    sent = drain(card)
    assert sent[-1].flags & host.RST and card.state is State.CLOSE_WAIT and not card.sdus


def test_pdu_over_own_max_pdu_resets(card):
    card.received(peer(host.ACK, PEER_ISS + 1, 10, bytes(SETTINGS.max_pdu_size)))
    assert drain(card)[-1].flags & host.RST


def test_rst_from_peer_and_close(card, clock):
    card.received(peer(host.RST, PEER_ISS + 1, 10, variable=b"\x00"))
    assert card.state is State.CLOSE_WAIT and card.reset_reason == 0
    clock.now += SETTINGS.close_wait_time
    drain(card)
    assert card.finished


def test_active_open_retransmits_syn_then_opens(clock):
    card = CatTpEndpoint(clock, CARD, SMSR, SETTINGS, initial_seq=7)
    card.connected()
    (syn,) = drain(card)
    assert syn.flags == host.SYN and syn.seq == 7 and syn.variable[:4] == struct.pack(">HH", 100, 300)
    clock.now += SETTINGS.retransmit_timeout
    assert [p.flags for p in drain(card)] == [host.SYN]
    card.received(peer(host.SYN | host.ACK, 900, 7, variable=host.syn_options(80, 100, b"")))
    (ack,) = drain(card)
    assert card.state is State.OPEN and (ack.flags, ack.seq, ack.ack) == (host.ACK, 8, 900)
    card.received(peer(host.SYN | host.ACK, 900, 7, variable=host.syn_options(80, 100, b"")))
    assert [p.ack for p in drain(card)] == [900]                      # duplicate SYN-ACK: ACK again


def test_listen_answers_stray_ack_with_rst_and_ignores_garbage(clock):
    card = CatTpEndpoint(clock, CARD, None, SETTINGS)
    card.connected()
    card.received(peer(host.ACK, 1, 2, b"data"))
    (rst,) = drain(card)
    assert rst.flags & host.RST and rst.variable == b"\x04" and card.state is State.LISTEN
    card.received(b"\x80garbage")
    card.received(peer(host.SYN, 1, 0, variable=host.syn_options(60, 200, b""))[:-1])
    assert drain(card) == [] and card.dropped == 2 and card.state is State.LISTEN


def test_wrong_port_dropped(card):
    card.received(host.build(host.HostPdu(host.ACK, SMSR, CARD + 1, PEER_ISS + 1, 10, 4, b"x")))
    assert drain(card) == [] and card.dropped == 1 and not card.sdus


def test_syn_to_a_port_not_listened_on_gets_rst_3(clock):
    card = CatTpEndpoint(clock, CARD, None, SETTINGS)
    card.connected()
    card.received(host.build(host.HostPdu(host.SYN, SMSR, CARD + 5, 1, 0, 4,
                                          variable=host.syn_options(60, 200, b""))))
    (rst,) = drain(card)
    assert rst.flags & host.RST and rst.variable == b"\x03" and (rst.src, rst.dst) == (CARD + 5, SMSR) and card.state is State.LISTEN


@pytest.mark.parametrize("mutate, reason", [
    (lambda raw: raw.__setitem__(0, raw[0] | 0x01), b"\x06"),                   # version 1
    (lambda raw: raw.__setitem__(slice(18, 20), b"\x00\x10"), b"\x01"),          # max PDU 16 < header
])
def test_listen_answers_an_intact_but_unacceptable_syn_with_rst(clock, mutate, reason):
    card = CatTpEndpoint(clock, CARD, None, SETTINGS)
    card.connected()
    raw = bytearray(peer(host.SYN, 77, 0, variable=host.syn_options(60, 200, b"")))
    mutate(raw)
    raw[16:18] = b"\x00\x00"
    raw[16:18] = host.checksum(bytes(raw)).to_bytes(2, "big")
    card.received(bytes(raw))
    (rst,) = drain(card)
    assert rst.flags & host.RST and rst.variable == reason and rst.ack == 77 and card.state is State.LISTEN
