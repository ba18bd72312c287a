"""DNS resolution of the SM-SR address over BIP UDP channels (SGP.02 v4.2: when the SM-SR address of
the connectivity parameters is a name, the eUICC resolves it; RFC 1034 §5.3.3 stub resolver,
RFC 1035 §4 messages, §4.2.1 UDP on port 53).

Messages are built and parsed by dnspython (``dns.message.make_query`` / ``dns.message.from_wire``);
nothing of the DNS wire format is written here.  Sans-I/O:

- :class:`Resolution` resolves one name across an ordered list of DNS servers (those of the
  connectivity parameters first, then those the terminal returned for OPEN CHANNEL, TS 102 223
  §6.4.27 with the DNS server address request, added by :meth:`Resolution.add_servers` as they
  become known): :meth:`Resolution.next_channel` gives the BIP channel to open and the
  :class:`DnsExchange` (a :class:`~euicc.cat.bip_port.ChannelUser`) to run on it, one server at
  a time, moving to the next server on timeout, SERVFAIL (or any error rcode but NXDOMAIN),
  truncation or a malformed answer.  Every DNS channel asks the terminal for its DNS servers
  (the BIP layer drops the request for a terminal that did not declare it).  With no server at
  all, a resolution told the terminal gives them (``ask_terminal``) first opens one channel only
  to ask (:class:`TerminalDnsQuery`) [U: no source read says which destination such a channel
  names: the unspecified address, setting ``probe_address``];
- :class:`DnsCache` keeps answers for their TTL on an injected clock (RFC 1035 §3.2.1).

An answer whose ID or question does not match the query is ignored (RFC 5452 §9.1), as a spoofed
datagram would be; the exchange goes on waiting until its timeout.

Where the name and the servers come from is the caller's: the SM-SR address of the connectivity
parameters, or the DNS resolution parameters of an SCP81 trigger (GP Amd B: 'B3' {'D6' FQDN,
'FA' DNS connection parameters}, SPEC_NOTES §3.2), and :func:`server_list`.
"""
from __future__ import annotations

import enum
import ipaddress
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype

from euicc.cat.bip_port import ChannelRequest

Clock = Callable[[], float]


@dataclass(frozen=True)
class DnsSettings:
    """Values no source read here fixes for a card (named choices): the per-server ``timeout`` (s),
    how often the query is sent to one server (``tries_per_server``), the UDP ``port`` (RFC 1035
    §4.2.1: 53), the BIP ``buffer_size`` (RFC 1035 §2.3.4: 512-byte UDP messages), the
    ``max_ttl`` (s) a cached answer is kept at most, the query type (A; AAAA for IPv6), and the
    destination of the channel opened only to learn the terminal's DNS servers [U]."""

    timeout: float = 5.0
    tries_per_server: int = 2
    port: int = 53
    buffer_size: int = 512
    max_ttl: int = 86400
    rdtype: str = "A"
    probe_address: bytes = bytes(4)


class Outcome(enum.Enum):
    PENDING = "pending"
    ANSWERED = "answered"
    NAME_ERROR = "NXDOMAIN"          # authoritative: no other server is asked
    RETRY = "retry"                  # timeout, error rcode, truncation, malformed: next server


@dataclass(frozen=True)
class Answer:
    """The addresses of a name (packed, 4 or 16 bytes) and how long they may be kept."""

    addresses: tuple[bytes, ...]
    ttl: int


class DnsCache:
    """Answers by (name, type) until their TTL runs out (RFC 1035 §3.2.1, RFC 2181 §8)."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self._entries: dict[tuple[str, str], tuple[Answer, float]] = {}

    def get(self, name: str, rdtype: str) -> Answer | None:
        key = (_canonical(name), rdtype)
        entry = self._entries.get(key)
        if entry is None:
            return None
        answer, expires = entry
        if self.clock() >= expires:
            del self._entries[key]
            return None
        return answer

    def put(self, name: str, rdtype: str, answer: Answer) -> None:
        if answer.ttl > 0:
            self._entries[(_canonical(name), rdtype)] = (answer, self.clock() + answer.ttl)


def _canonical(name: str) -> str:
    return dns.name.from_text(name).to_text().lower()


def server_list(connectivity: Sequence[bytes], terminal: Sequence[bytes]) -> list[bytes]:
    """The servers to ask, in order: the connectivity parameters' first, then the terminal's (each
    once; only 4- or 16-byte addresses)."""
    ordered: list[bytes] = []
    for address in [*connectivity, *terminal]:
        if len(address) in (4, 16) and address not in ordered:
            ordered.append(bytes(address))
    return ordered


class DnsExchange:
    """One query to one server on one BIP UDP channel (RFC 1035 §4.2.1); a ChannelUser."""

    def __init__(self, name: str, rdtype: str, clock: Clock, settings: DnsSettings,
                 query_id: int | None = None) -> None:
        self.name, self.rdtype, self.clock, self.settings = name, rdtype, clock, settings
        self.query = dns.message.make_query(name, rdtype, id=secrets.randbelow(1 << 16) if query_id is None
                                            else query_id)
        self.outcome = Outcome.PENDING
        self.answer: Answer | None = None
        self.reason = ""
        self.ignored = 0                       # datagrams that were not an answer to this query
        self._tries = 0
        self._deadline: float | None = None
        self._due = False

    # -- ChannelUser -----------------------------------------------------------------------------
    def connected(self) -> None:
        self._due = True

    def received(self, data: bytes) -> None:
        if self.outcome is not Outcome.PENDING:
            return
        try:
            response = dns.message.from_wire(bytes(data))
        except (dns.exception.DNSException, ValueError, UnicodeError) as error:
            if not self._ours(data):
                self.ignored += 1
                return
            self._end(Outcome.RETRY, f"malformed answer: {type(error).__name__}")
            return
        if not self.query.is_response(response):
            self.ignored += 1
            return
        if response.flags & dns.flags.TC:      # RFC 1035 §4.2.1: no TCP here, so the next server
            self._end(Outcome.RETRY, "truncated answer (TC)")
            return
        self._answered(response)

    def outgoing(self) -> bytes:
        if self.outcome is not Outcome.PENDING:
            return b""
        now = self.clock()
        if self._deadline is not None and now >= self._deadline:
            if self._tries >= self.settings.tries_per_server:
                self._end(Outcome.RETRY, "timeout")
                return b""
            self._due = True
        if not self._due:
            return b""
        self._due, self._tries = False, self._tries + 1
        self._deadline = now + self.settings.timeout
        return self.query.to_wire()

    def closed(self, reason: str) -> None:
        if self.outcome is Outcome.PENDING:
            self._end(Outcome.RETRY, f"channel closed: {reason}")

    @property
    def finished(self) -> bool:
        return self.outcome is not Outcome.PENDING

    def next_deadline(self) -> float | None:
        return self._deadline if self.outcome is Outcome.PENDING else None

    # -- answers ---------------------------------------------------------------------------------
    def _ours(self, data: bytes) -> bool:
        """A datagram too broken to parse counts as this server's answer only if it carries the
        query's ID (RFC 1035 §4.1.1); anything else may be a stray or spoofed datagram."""
        return len(data) >= 2 and int.from_bytes(data[:2], "big") == self.query.id

    def _answered(self, response: dns.message.Message) -> None:
        rcode = response.rcode()
        if rcode == dns.rcode.NXDOMAIN:
            self._end(Outcome.NAME_ERROR, "no such name")
            return
        if rcode != dns.rcode.NOERROR:
            self._end(Outcome.RETRY, f"rcode {dns.rcode.to_text(rcode)}")
            return
        answer = self._addresses(response)
        if answer is None:
            self._end(Outcome.RETRY, f"no {self.rdtype} record in the answer")
            return
        self.answer = answer
        self._end(Outcome.ANSWERED, "")

    def _addresses(self, response: dns.message.Message) -> Answer | None:
        """Follow CNAMEs within the answer section (RFC 1034 §3.6.2) to the address records."""
        name, rdtype = self.query.question[0].name, dns.rdatatype.from_text(self.rdtype)
        ttls: list[int] = []
        for _ in range(8):                                 # a CNAME chain longer than this is refused
            cname = response.get_rrset(response.answer, name, dns.rdataclass.IN, dns.rdatatype.CNAME)
            if cname is None:
                break
            ttls.append(cname.ttl)
            name = cname[0].target
        found = response.get_rrset(response.answer, name, dns.rdataclass.IN, rdtype)
        if found is None or not len(found):
            return None
        addresses = tuple(ipaddress.ip_address(rdata.address).packed for rdata in found)
        ttl = min([found.ttl, *ttls, self.settings.max_ttl])
        return Answer(addresses, ttl)

    def _end(self, outcome: Outcome, reason: str) -> None:
        self.outcome, self.reason = outcome, reason
        self._deadline = None


class TerminalDnsQuery:
    """A channel opened only for the terminal's DNS server addresses (TS 102 223 §6.4.27): done
    once the channel is open (or refused); the BIP layer then closes it."""

    def __init__(self) -> None:
        self.finished = False

    def connected(self) -> None:
        self.finished = True

    def received(self, data: bytes) -> None:
        return None

    def outgoing(self) -> bytes:
        return b""

    def closed(self, reason: str) -> None:
        self.finished = True


class Resolution:
    """One name resolved across ``servers`` in order (retry on the next one), through ``cache``;
    ``ask_terminal``: the terminal gives its DNS servers when OPEN CHANNEL asks."""

    def __init__(self, name: str, servers: Sequence[bytes], cache: DnsCache, clock: Clock,
                 settings: DnsSettings = DnsSettings(), ask_terminal: bool = False) -> None:
        self.name, self.cache, self.clock, self.settings = name, cache, clock, settings
        self.servers: list[bytes] = server_list(servers, ())
        self.ask_terminal = ask_terminal
        self.failures: list[str] = []
        try:
            self.answer = cache.get(name, settings.rdtype)
        except (dns.exception.DNSException, UnicodeError) as error:      # not a domain name at all
            self.answer = None
            self.failures.append(f"bad name: {type(error).__name__}")
            self.servers, self.ask_terminal = [], False
        self._done = self.answer is not None
        self._index = 0
        self._current: DnsExchange | TerminalDnsQuery | None = None
        self._asked = False                    # a channel of this resolution asked the terminal

    def add_servers(self, servers: Sequence[bytes]) -> None:
        """Servers the terminal gave: asked after the connectivity parameters' (each once)."""
        for server in server_list((), servers):
            if server not in self.servers:
                self.servers.append(server)

    @property
    def done(self) -> bool:
        return self._done

    def next_channel(self) -> tuple[ChannelRequest, DnsExchange] | None:
        """The channel to open next and the exchange to run on it; None once answered or failed
        (the previous exchange, if any, must be finished)."""
        self._collect()
        if not self._done and self._index >= len(self.servers) and self.ask_terminal and not self._asked:
            self._current = TerminalDnsQuery()
            return self._request(self.settings.probe_address), self._current
        if self._done or self._index >= len(self.servers):
            if not self._done and not self.servers and not self.failures:
                self.failures.append("no DNS server (neither connectivity parameters nor terminal gave one)")
            self._done = True
            return None
        server = self.servers[self._index]
        self._index += 1
        self._current = DnsExchange(self.name, self.settings.rdtype, self.clock, self.settings)
        return self._request(server), self._current

    def _request(self, server: bytes) -> ChannelRequest:
        self._asked = self.ask_terminal
        return ChannelRequest("udp", bytes(server), self.settings.port, self.settings.buffer_size, dns_request=True)

    def _collect(self) -> None:
        exchange, self._current = self._current, None
        if exchange is None or isinstance(exchange, TerminalDnsQuery):
            return
        if exchange.outcome is Outcome.ANSWERED and exchange.answer is not None:
            self.answer, self._done = exchange.answer, True
            self.cache.put(self.name, self.settings.rdtype, exchange.answer)
        elif exchange.outcome is Outcome.NAME_ERROR:
            self.failures.append(f"{self.servers[self._index - 1].hex()}: {exchange.reason}")
            self._done = True
        else:
            self.failures.append(f"{self.servers[self._index - 1].hex()}: {exchange.reason or 'unfinished'}")
