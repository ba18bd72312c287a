"""The card's DNS resolver engine (euicc/cat/dns_resolver.py) against the test DNS server of
tools/terminal/dns_server.py over real UDP sockets on loopback, one BIP channel per server as the
terminal would open them: resolution, CNAME, TTL expiry on an injected clock, retry on the next
server on timeout / SERVFAIL / truncation / malformed answers, mismatched IDs ignored."""
from __future__ import annotations

import socket
import time

import dns.flags
import dns.message
import dns.rrset
import pytest

from euicc.cat.dns_resolver import DnsCache, DnsExchange, DnsSettings, Outcome, Resolution, server_list
from tools.terminal.dns_server import DnsServer, Record, parse_records

ZONE = {"smsr.example.com": Record("192.0.2.10", ttl=60),
        "alias.example.com": Record("192.0.2.11", ttl=30, cname="real.example.com"),
        "v6.example.com": Record("2001:db8::5", ttl=60)}
LOOPBACKS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def servers(request):
    """Test DNS servers with the given behaviours on 127.0.0.1, .2, .3, all on one UDP port."""
    made: list[DnsServer] = []

    def start(*behaviours: str) -> list[DnsServer]:
        port = 0
        for host, behaviour in zip(LOOPBACKS, behaviours):
            made.append(DnsServer(ZONE, host, port, behaviour).start())
            port = made[0].port
        return made
    yield start
    for server in made:
        server.stop()


def run_exchange(exchange: DnsExchange, address: bytes, port: int, limit: float = 5.0) -> None:
    """Plays the BIP UDP channel of one exchange (OPEN CHANNEL ... CLOSE CHANNEL)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(0.01)
    exchange.connected()
    deadline = time.monotonic() + limit
    try:
        while not exchange.finished and time.monotonic() < deadline:
            while data := exchange.outgoing():
                sock.sendto(data, (socket.inet_ntoa(address), port))
            try:
                exchange.received(sock.recvfrom(4096)[0])
            except socket.timeout:
                pass
    finally:
        sock.close()


def resolve(resolution: Resolution, port: int) -> list[bytes]:
    """Drives the resolution channel by channel; returns the server addresses asked."""
    asked = []
    while (step := resolution.next_channel()) is not None:
        request, exchange = step
        assert (request.transport, request.port, request.buffer_size) == ("udp", port, 512)
        asked.append(request.address)
        run_exchange(exchange, request.address, port)
    return asked


def addresses(*texts: str) -> list[bytes]:
    return [socket.inet_aton(t) for t in texts]


def test_resolves_a_name(servers):
    (server,) = servers("answer")
    resolution = Resolution("smsr.example.com", addresses("127.0.0.1"), DnsCache(Clock()), Clock(),
                            DnsSettings(port=server.port))
    assert resolve(resolution, server.port) == addresses("127.0.0.1")
    assert resolution.done and resolution.answer.addresses == (bytes([192, 0, 2, 10]),)
    assert resolution.answer.ttl == 60 and server.queries == ["smsr.example.com."]


def test_cname_chain_and_aaaa(servers):
    (server,) = servers("answer")
    alias = Resolution("alias.example.com", addresses("127.0.0.1"), DnsCache(Clock()), Clock(),
                       DnsSettings(port=server.port))
    resolve(alias, server.port)
    assert alias.answer.addresses == (bytes([192, 0, 2, 11]),) and alias.answer.ttl == 30
    v6 = Resolution("v6.example.com", addresses("127.0.0.1"), DnsCache(Clock()), Clock(),
                    DnsSettings(port=server.port, rdtype="AAAA"))
    resolve(v6, server.port)
    assert v6.answer.addresses == (bytes.fromhex("20010db8000000000000000000000005"),)


def test_cache_for_the_ttl_then_asks_again(servers):
    (server,) = servers("answer")
    clock = Clock()
    cache = DnsCache(clock)
    settings = DnsSettings(port=server.port)
    resolve(Resolution("smsr.example.com", addresses("127.0.0.1"), cache, clock, settings), server.port)
    clock.now += 59.0
    cached = Resolution("SMSR.example.com.", addresses("127.0.0.1"), cache, clock, settings)
    assert cached.done and cached.next_channel() is None and len(server.queries) == 1
    clock.now += 1.0                                           # TTL 60 s has run out
    again = Resolution("smsr.example.com", addresses("127.0.0.1"), cache, clock, settings)
    assert not again.done
    resolve(again, server.port)
    assert again.answer is not None and len(server.queries) == 2


@pytest.mark.parametrize("bad", ["servfail", "refused", "truncated", "malformed", "silent", "wrong_id"])
def test_retry_on_the_next_server(servers, bad):
    first, second = servers(bad, "answer")
    resolution = Resolution("smsr.example.com", addresses("127.0.0.1", "127.0.0.2"), DnsCache(Clock()),
                            time.monotonic, DnsSettings(port=first.port, timeout=0.1))
    assert resolve(resolution, first.port) == addresses("127.0.0.1", "127.0.0.2")
    assert resolution.answer.addresses == (bytes([192, 0, 2, 10]),)
    assert len(resolution.failures) == 1 and first.queries and second.queries
    if bad in ("silent", "wrong_id"):                           # sent again before giving up
        assert len(first.queries) == DnsSettings().tries_per_server


def test_every_server_failing_leaves_no_answer(servers):
    port = servers("servfail", "truncated", "malformed")[0].port
    resolution = Resolution("smsr.example.com", addresses(*LOOPBACKS), DnsCache(Clock()), time.monotonic,
                            DnsSettings(port=port, timeout=0.1))
    assert resolve(resolution, port) == addresses(*LOOPBACKS)
    assert resolution.done and resolution.answer is None and len(resolution.failures) == 3


def test_nxdomain_is_final(servers):
    first, second = servers("answer", "answer")
    resolution = Resolution("nowhere.example.com", addresses("127.0.0.1", "127.0.0.2"), DnsCache(Clock()),
                            Clock(), DnsSettings(port=first.port))
    assert resolve(resolution, first.port) == addresses("127.0.0.1")
    assert resolution.answer is None and "no such name" in resolution.failures[0] and not second.queries


def test_exchange_refuses_foreign_and_malformed_datagrams_without_traceback():
    exchange = DnsExchange("smsr.example.com", "A", Clock(), DnsSettings(), query_id=0x1234)
    exchange.connected()
    query = dns.message.from_wire(exchange.outgoing())
    assert query.id == 0x1234 and query.question[0].name.to_text() == "smsr.example.com."
    wrong = dns.message.make_response(query)
    wrong.id = 0x4321
    wrong.answer.append(dns.rrset.from_text("smsr.example.com.", 60, "IN", "A", "192.0.2.66"))
    other_name = dns.message.make_response(dns.message.make_query("evil.example.com", "A", id=0x1234))
    truncated_foreign = dns.message.make_response(query)
    truncated_foreign.id, truncated_foreign.flags = 0x4321, truncated_foreign.flags | dns.flags.TC
    for datagram in (b"", b"\x43\x21garbage", wrong.to_wire(), other_name.to_wire(), query.to_wire(),
                     truncated_foreign.to_wire()):                # the last one: found by the fuzzer
        exchange.received(datagram)
    assert exchange.outcome is Outcome.PENDING and exchange.ignored == 6
    exchange.received(b"\x12\x34\x81\x80\x00\x01\x00\x01")         # our ID, but cut short
    assert exchange.outcome is Outcome.RETRY and "malformed" in exchange.reason


def test_answer_without_the_asked_type_moves_on():
    exchange = DnsExchange("smsr.example.com", "A", Clock(), DnsSettings(), query_id=7)
    exchange.connected()
    query = dns.message.from_wire(exchange.outgoing())
    exchange.received(dns.message.make_response(query).to_wire())          # NOERROR, no data
    assert exchange.outcome is Outcome.RETRY


def test_bad_name_fails_without_asking():
    resolution = Resolution("a" * 70 + ".example.com", addresses("127.0.0.1"), DnsCache(Clock()), Clock())
    assert resolution.next_channel() is None and resolution.done and resolution.failures


def test_server_list_order():
    connectivity, terminal = addresses("10.0.0.1", "10.0.0.2"), addresses("10.0.0.2", "10.0.0.3")
    assert server_list(connectivity, terminal + [b"\x01\x02"]) == addresses("10.0.0.1", "10.0.0.2", "10.0.0.3")


def test_test_server_zone_from_the_command_line():
    zone = parse_records(["SMSR.example.com.=192.0.2.1,42", "v6.example.com=2001:db8::1"])
    assert zone == {"smsr.example.com": Record("192.0.2.1", 42), "v6.example.com": Record("2001:db8::1", 300)}
    with pytest.raises(ValueError):
        parse_records(["bad.example.com=not-an-address"])


def test_no_server_at_all():
    resolution = Resolution("smsr.example.com", server_list([], []), DnsCache(Clock()), Clock())
    assert resolution.next_channel() is None and resolution.answer is None and "no DNS server" in resolution.failures[0]


def test_terminal_servers_come_after_the_connectivity_parameters(servers):
    """TS 102 223 §6.4.27: every DNS channel asks the terminal for its servers; those it gives are
    asked after the connectivity parameters' (here the first one fails with SERVFAIL)."""
    first, second = servers("servfail", "answer")
    resolution = Resolution("smsr.example.com", addresses("127.0.0.1"), DnsCache(Clock()), Clock(),
                            DnsSettings(port=first.port), ask_terminal=True)
    request, exchange = resolution.next_channel()
    assert request.dns_request and request.address == socket.inet_aton("127.0.0.1")
    resolution.add_servers(addresses("127.0.0.1", "127.0.0.2"))            # from its TERMINAL RESPONSE
    run_exchange(exchange, request.address, first.port)
    assert resolve(resolution, first.port) == addresses("127.0.0.2")
    assert resolution.answer.addresses == (bytes([192, 0, 2, 10]),) and first.queries and second.queries


def test_without_any_server_the_terminal_is_asked_first(servers):
    """No connectivity server: one channel only asks the terminal (to the unspecified address,
    setting ``probe_address``), then its servers are used; not asked twice."""
    (server,) = servers("answer")
    resolution = Resolution("smsr.example.com", [], DnsCache(Clock()), Clock(), DnsSettings(port=server.port),
                            ask_terminal=True)
    request, query = resolution.next_channel()
    assert (request.address, request.dns_request) == (bytes(4), True) and not server.queries
    query.connected()
    assert query.finished and query.outgoing() == b""
    resolution.add_servers(addresses("127.0.0.1"))
    assert resolve(resolution, server.port) == addresses("127.0.0.1") and resolution.answer is not None
    silent = Resolution("smsr.example.com", [], DnsCache(Clock()), Clock(), ask_terminal=True)
    _, query = silent.next_channel()
    query.closed("OPEN CHANNEL refused")                           # the terminal gave nothing
    assert silent.next_channel() is None and silent.answer is None and "no DNS server" in silent.failures[0]


def test_a_terminal_that_gives_no_servers_is_not_asked_alone():
    resolution = Resolution("smsr.example.com", [], DnsCache(Clock()), Clock())
    assert resolution.next_channel() is None and "no DNS server" in resolution.failures[0]
