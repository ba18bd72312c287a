"""BIP through the terminal simulator over real loopback sockets (TS 102 223 §6.4.27-§6.4.31,
§7.5.10, §7.5.11): a trivial echo engine on the card, echo servers on the host.  The expected
proactive commands are written here from the specification's codings."""
from __future__ import annotations

import time

import pytest

from euicc.cat.bip_port import ChannelRequest
from euicc.cat.dns_resolver import DnsExchange, DnsSettings, Outcome
from euicc.composition import open_card
from tests.cat.bip_host import EchoServer, EchoUser, Trigger, free_port, tcp_client, trigger_apdu
from tools.terminal import cat
from tools.terminal.bip import BipTerminal
from tools.terminal.link import CallableLink
from tools.terminal.terminal import Terminal

LOOPBACK = bytes([127, 0, 0, 1])
APN = b"\x04test\x03apn"                 # §8.70: "test.apn" as TS 23.003 labels


@pytest.fixture
def card():
    return open_card(None, extensions=[])


def terminal_for(card, profile: bytes = cat.MODEM_PROFILE, max_buffer: int = 1500) -> Terminal:
    terminal = Terminal(CallableLink(card.transmit, card.reset), profile=profile, bip=BipTerminal(max_buffer=max_buffer))
    terminal.start()
    return terminal


def kinds(terminal: Terminal) -> list[int]:
    return [c.type for c in terminal.record.proactive]


def run(terminal: Terminal, user: EchoUser, seconds: float = 5.0) -> None:
    terminal.send(trigger_apdu())
    terminal.serve(seconds, until=lambda: user.finished and not terminal.bip.channels)


def test_events_registered_only_with_bip(card):
    terminal = terminal_for(card)
    assert terminal.event_list == {cat.EVENT_DATA_AVAILABLE, cat.EVENT_CHANNEL_STATUS}
    terminal = terminal_for(card, cat.profile_bytes(cat.MODEM_PROFILE, cat.NO_BIP))
    assert terminal.event_list == set() and kinds(terminal) == []


def test_tcp_client_echo(card):
    server = EchoServer("tcp")
    user = EchoUser(b"hello over BIP")
    Trigger(card, ChannelRequest("tcp", LOOPBACK, server.port, 1400, b"\x03", APN), user)
    terminal = terminal_for(card)
    run(terminal, user)
    server.close()
    assert user.received_data == b"hello over BIP" and user.reasons == []
    assert kinds(terminal) == [cat.SET_UP_EVENT_LIST, cat.OPEN_CHANNEL, cat.SEND_DATA, cat.RECEIVE_DATA, cat.CLOSE_CHANNEL]
    opened = terminal.record.proactive[1]
    # D0 | 81 03 nn 40 01 (immediate link) | 82 02 81 82 | B5 01 03 (default bearer) | B9 02 0578
    # | C7 09 <APN> | BC 03 02 <port> (TCP client, remote) | BE 05 21 7F000001 (IPv4)
    body = (f"8103{opened.number:02X}4001 82028182 B50103 B9020578 C709{APN.hex()} BC0302{server.port:04X}"
            " BE05217F000001").replace(" ", "")
    assert opened.raw.hex().upper() == (f"D0{len(body) // 2:02X}" + body).upper()
    send = terminal.record.proactive[2]
    assert send.qualifier == 0x01 and send.destination == 0x21        # immediately, channel 1
    assert send.objects[cat.T_CHANNEL_DATA] == b"hello over BIP"
    assert terminal.bip.channels == {}


def test_udp_datagram_larger_than_one_command(card):
    """300 bytes: SEND DATA store mode (237) then immediate (63), one datagram on the wire; the
    echo comes back in two RECEIVE DATA and reaches the engine as one datagram."""
    server = EchoServer("udp")
    datagram = bytes(range(256)) + bytes(44)
    user = EchoUser(datagram)
    Trigger(card, ChannelRequest("udp", LOOPBACK, server.port, 1400), user)
    terminal = terminal_for(card)
    run(terminal, user)
    server.close()
    assert server.datagrams == [datagram]
    assert user.received_data == datagram and user.events == ["connected", "received 300"]
    sends = [c for c in terminal.record.proactive if c.type == cat.SEND_DATA]
    assert [(c.qualifier, len(c.objects[cat.T_CHANNEL_DATA])) for c in sends] == [(0x00, 237), (0x01, 63)]
    assert kinds(terminal).count(cat.RECEIVE_DATA) == 2


class TwoDatagrams(EchoUser):
    """An engine (like CAT_TP's ACK then data PDU) with two datagrams ready at once, one per
    ``outgoing()`` call."""

    def __init__(self, first: bytes, second: bytes) -> None:
        super().__init__(first + second)
        self._queue = [first, second]

    def connected(self) -> None:
        self.events.append("connected")

    def outgoing(self) -> bytes:
        return self._queue.pop(0) if self._queue else b""


def test_udp_datagrams_are_never_joined(card):
    """Regression: the pump asked the engine for more while a 300-byte datagram was still going out
    in parts and appended the next datagram to it.  Each datagram is one SEND DATA sequence (store
    mode parts, the last immediate, §6.4.30) and one datagram on the wire."""
    server = EchoServer("udp")
    first, second = bytes(range(256)) + bytes(44), b"second datagram"
    user = TwoDatagrams(first, second)
    Trigger(card, ChannelRequest("udp", LOOPBACK, server.port, 1400), user)
    terminal = terminal_for(card)
    run(terminal, user)
    server.close()
    assert server.datagrams == [first, second]
    sends = [c for c in terminal.record.proactive if c.type == cat.SEND_DATA]
    assert [(c.qualifier, len(c.objects[cat.T_CHANNEL_DATA])) for c in sends] == [(0x00, 237), (0x01, 63), (0x01, 15)]
    assert user.received_data == first + second and user.events == ["connected", "received 300", "received 15"]


def test_terminal_gives_a_smaller_buffer(card):
    """Result '07' with buffer size 100 (§6.4.27): the card's packets follow the buffer it got."""
    server = EchoServer("tcp")
    user = EchoUser(b"x" * 250)
    Trigger(card, ChannelRequest("tcp", LOOPBACK, server.port, 1400), user)
    terminal = terminal_for(card, max_buffer=100)
    run(terminal, user)
    server.close()
    assert user.received_data == b"x" * 250
    sends = [c for c in terminal.record.proactive if c.type == cat.SEND_DATA]
    assert [(c.qualifier, len(c.objects[cat.T_CHANNEL_DATA])) for c in sends] == [(1, 100), (1, 100), (1, 50)]


def test_link_dropped_by_the_terminal(card):
    server = EchoServer("tcp", close_after_accept=True)
    user = EchoUser(b"anyone?", expect=100)
    Trigger(card, ChannelRequest("tcp", LOOPBACK, server.port), user)
    terminal = terminal_for(card)
    terminal.send(trigger_apdu())
    terminal.serve(5.0, until=lambda: not terminal.bip.channels)
    server.close()
    assert user.events[0] == "connected" and user.events[-1] == "closed" and user.reasons
    assert cat.EVENT_CHANNEL_STATUS in terminal.record.events_sent
    assert kinds(terminal)[-1] == cat.CLOSE_CHANNEL and terminal.bip.channels == {}


def test_refused_open_tells_the_engine(card):
    user = EchoUser(b"x")
    Trigger(card, ChannelRequest("tcp", LOOPBACK, free_port()), user)   # nobody listens there
    terminal = terminal_for(card)
    terminal.send(trigger_apdu())
    assert user.events == ["closed"] and "3A07" in user.reasons[0]
    assert kinds(terminal) == [cat.SET_UP_EVENT_LIST, cat.OPEN_CHANNEL]


def test_without_bip_nothing_is_sent(card):
    user = EchoUser(b"x")
    trigger = Trigger(card, ChannelRequest("tcp", LOOPBACK, 9), user)
    terminal = terminal_for(card, cat.profile_bytes(cat.MODEM_PROFILE, cat.NO_BIP))
    _, sw = terminal.send(trigger_apdu())
    assert sw == 0x9000 and trigger.opened == [False] and kinds(terminal) == [] and user.events == []


def test_uicc_server_mode(card):
    """TCP in UICC server mode: LISTEN, a client connects (Channel Status ESTABLISHED), is greeted,
    leaves (Channel Status LISTEN)."""
    port = free_port()
    user = EchoUser(b"welcome", expect=10**6)
    Trigger(card, ChannelRequest("tcp_server", b"", port, 1400), user)
    terminal = terminal_for(card)
    terminal.send(trigger_apdu())
    opened = terminal.record.proactive[1]
    assert opened.objects[cat.T_TRANSPORT_LEVEL] == bytes([0x03]) + port.to_bytes(2, "big")
    assert cat.T_BEARER not in opened.objects and cat.T_OTHER_ADDRESS not in opened.objects
    client = tcp_client(port)
    terminal.serve(5.0, until=lambda: "connected" in user.events)
    terminal.poll(0.2)
    assert client.recv(100) == b"welcome"
    client.sendall(b"hi card")
    terminal.serve(5.0, until=lambda: user.received_data)
    client.close()
    terminal.serve(5.0, until=lambda: "closed" in user.events)
    assert user.events == ["connected", "received 7", "closed"] and user.received_data == b"hi card"
    assert terminal.bip.channels[1].listener is not None                 # listening again


def test_unknown_channel_and_unsolicited_answers(card):
    terminal = terminal_for(card)
    # Data Available for channel 5, which the card never opened: acknowledged, nothing happens
    event = cat.event_download(cat.EVENT_DATA_AVAILABLE, cat.ctlv(cat.T_CHANNEL_STATUS, b"\x85\x00")
                               + cat.ctlv(cat.T_CHANNEL_DATA_LENGTH, b"\x10"))
    assert terminal.send(event) == (b"", 0x9000) and kinds(terminal) == [cat.SET_UP_EVENT_LIST]
    # a TERMINAL RESPONSE to a RECEIVE DATA nobody asked for: '6985'
    tr = bytes.fromhex("801400001481030142008202828183010036034142433701 00".replace(" ", ""))
    assert terminal.link.exchange(tr)[1] == 0x6985
    # a Channel Status event without its channel status: '6A80'
    assert terminal.send(cat.event_download(cat.EVENT_CHANNEL_STATUS))[1] == 0x6A80


def test_get_channel_status(card):
    server = EchoServer("tcp")
    user = EchoUser(b"ping", expect=10**6)
    Trigger(card, ChannelRequest("tcp", LOOPBACK, server.port), user)
    terminal = terminal_for(card)
    terminal.send(trigger_apdu())
    card.services.envelope_handlers[0xD1] = lambda ctx, tag, value: ctx.services.bip.get_status(ctx) and b""
    terminal.bip.drop(1)
    terminal.send(trigger_apdu())
    server.close()
    assert kinds(terminal)[-2:] == [cat.GET_CHANNEL_STATUS, cat.CLOSE_CHANNEL]
    assert user.events[-1] == "closed"


def test_card_reset_tells_the_engines_their_channels_are_gone(card):
    """A reset (here the terminal's: power down and up, TERMINAL PROFILE, as vpcd's reset does)
    ends the BIP channels with the terminal's session: each engine on one learns it through its
    port (``closed``), a DNS query too (it moves on, RFC 1035 §4.2.1), and the next power cycle
    starts with no channel: a new one gets channel 1 and carries its data."""
    server, dns_server = EchoServer("tcp"), EchoServer("udp")
    stays = EchoUser(b"ping", expect=100)                       # never finished: its channel stays
    query = DnsExchange("smsr.example", "A", time.monotonic, DnsSettings(port=dns_server.port, timeout=60))
    Trigger(card, ChannelRequest("tcp", LOOPBACK, server.port), stays)
    terminal = terminal_for(card)
    run(terminal, stays, 1.0)
    Trigger(card, ChannelRequest("udp", LOOPBACK, dns_server.port, 512), query)
    terminal.send(trigger_apdu())
    assert stays.events[:2] == ["connected", "received 4"] and len(terminal.bip.channels) == 2
    assert query.outcome is Outcome.PENDING
    terminal.start()                                            # the card is reset
    assert stays.events[-1] == "closed" and stays.reasons == ["card reset"]
    assert query.outcome is Outcome.RETRY and "card reset" in query.reason
    fresh = EchoUser(b"again")
    Trigger(card, ChannelRequest("tcp", LOOPBACK, server.port), fresh)
    run(terminal, fresh)
    server.close()
    dns_server.close()
    assert fresh.received_data == b"again" and fresh.reasons == []
    assert [c.destination for c in terminal.record.proactive if c.type == cat.SEND_DATA][-1] == 0x21   # channel 1
