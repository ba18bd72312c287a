"""The terminal's DNS server addresses over BIP (ETSI TS 102 223): TERMINAL PROFILE byte 33 b1
"DNS server address request for OPEN CHANNEL related to packet data service bearer", the OPEN
CHANNEL qualifier b4 (§8.6) and the "DNS server address" objects of its TERMINAL RESPONSE (tag
'40' / 'C0', type of address '21' / '57' as §8.58, the address; §8.104 in pySim's numbering).
The codings are written here by hand from those clauses, independently of the card and of the
terminal simulator."""
from __future__ import annotations

import pytest

from euicc.cat.bip_port import ChannelRequest
from euicc.cat.terminal_profile import TerminalProfile
from euicc.composition import open_card
from tests.cat.bip_host import EchoServer, EchoUser, Trigger, trigger_apdu
from tools.terminal import cat
from tools.terminal.bip import BipTerminal
from tools.terminal.link import CallableLink
from tools.terminal.terminal import Terminal

LOOPBACK = bytes([127, 0, 0, 1])
V6 = bytes.fromhex("20010DB8000000000000000000000035")
WITHOUT_DNS = cat.profile_bytes(cat.MODEM_PROFILE, {33: 0x01})


@pytest.fixture
def card():
    return open_card(None, extensions=[])


def started(card, profile: bytes = cat.MODEM_PROFILE, dns_servers: tuple[str, ...] = ()) -> Terminal:
    terminal = Terminal(CallableLink(card.transmit, card.reset), profile=profile,
                        bip=BipTerminal(dns_servers=dns_servers))
    terminal.start()
    return terminal


class Probe:
    """An envelope handler reading what the card's BIP layer kept (the card's context)."""

    def __init__(self, card) -> None:
        self.servers: list[tuple[bytes, ...]] = []
        card.services.envelope_handlers[0xD1] = self

    def __call__(self, ctx, tag: int, value: bytes) -> bytes:
        self.servers.append(ctx.services.bip.dns_servers(ctx))
        return b""


def test_terminal_profile_byte_33_bit_1():
    assert TerminalProfile(bytes(32) + b"\x01").dns_server_request
    assert not TerminalProfile(bytes(32) + b"\xFE").dns_server_request
    assert not TerminalProfile(bytes(32)).dns_server_request          # a shorter profile: not supported
    assert cat.MODEM_PROFILE[32] & 0x01 and not WITHOUT_DNS[32] & 0x01


@pytest.mark.parametrize("profile, asked, qualifier", [(cat.MODEM_PROFILE, True, 0x09), (WITHOUT_DNS, True, 0x01),
                                                       (cat.MODEM_PROFILE, False, 0x01)],
                         ids=["declared", "not-declared", "not-asked"])
def test_open_channel_asks_only_a_terminal_that_declared_it(card, profile, asked, qualifier):
    """Qualifier '09' = b1 immediate link establishment + b4 DNS server address(es) requested;
    a terminal whose profile lacks byte 33 b1 is never asked ('01')."""
    server = EchoServer("udp")
    user = EchoUser(b"ping")
    Trigger(card, ChannelRequest("udp", LOOPBACK, server.port, 512, dns_request=asked), user)
    terminal = started(card, profile, dns_servers=("127.0.0.1",))
    terminal.send(trigger_apdu())
    terminal.serve(5, until=lambda: user.finished and not terminal.bip.channels)
    server.close()
    (opened,) = [c for c in terminal.record.proactive if c.type == cat.OPEN_CHANNEL]
    assert opened.qualifier == qualifier and user.received_data == b"ping"


def test_terminal_response_dns_server_objects_are_kept(card):
    """A hand-written TERMINAL RESPONSE to OPEN CHANNEL: channel status, bearer, buffer size and
    three DNS server address objects (IPv4 with CR, IPv6 without, one malformed and skipped)."""
    Trigger(card, ChannelRequest("udp", LOOPBACK, 53, 512, dns_request=True), EchoUser(b""))
    terminal = started(card)
    sw = terminal.link.exchange(trigger_apdu())[1]
    assert sw >> 8 == 0x91
    command, fsw = terminal.link.exchange(cat.fetch_apdu(sw & 0xFF))
    details = command.index(bytes.fromhex("8103"))
    number = command[details + 2]
    assert fsw == 0x9000 and command[details + 3:details + 5] == bytes.fromhex("4009")   # OPEN CHANNEL, '09'
    response = (f"8103{number:02X}4009" "02028281" "830100" "38028100" "350103" "39020200"
                "C00521C0000201" f"401157{V6.hex()}" "C0032101FF")
    data = bytes.fromhex(response)
    assert terminal.link.exchange(bytes([0x80, 0x14, 0, 0, len(data)]) + data)[1] >> 8 in (0x90, 0x91)
    probe = Probe(card)
    terminal.link.exchange(trigger_apdu())
    assert probe.servers == [(bytes.fromhex("C0000201"), V6)]


def test_simulator_gives_its_dns_servers_only_when_asked_and_declared():
    """The terminal simulator's OPEN CHANNEL answer (its own coding of the same objects)."""
    server = EchoServer("udp")
    body = f"810301400{{q}}82028182350103390200C8BC0301{server.port:04X}BE05217F000001"
    bip = BipTerminal(dns_servers=("192.0.2.53", "2001:db8::35"))
    answers = []
    for qualifier, declared in ((9, True), (9, False), (1, True)):
        raw = bytes.fromhex(body.format(q=qualifier))
        command = cat.parse_proactive_command(bytes([0xD0, len(raw)]) + raw)
        result, objects = bip.open_channel(command, declared)
        assert result == cat.RESULT_OK
        answers.append(objects)
        bip.close_all()
    server.close()
    dns = "C005" "21C0000235" "C011" "57" + V6.hex().upper()
    assert answers[0].hex().upper().endswith(dns)
    assert "C005" not in answers[1].hex().upper() and "C005" not in answers[2].hex().upper()
