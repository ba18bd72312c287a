"""A test DNS server on loopback (UDP, RFC 1035 §4.2.1) for the terminal simulator and the tests:
answers A/AAAA queries from a small zone with dnspython, and can misbehave on purpose (SERVFAIL,
silence, truncation, a wrong ID, a malformed datagram) so that a resolver's retry on the next
server can be exercised.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass, field

import dns.flags
import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset

from tools.udp_service import UdpService

BEHAVIOURS = ("answer", "servfail", "silent", "truncated", "wrong_id", "malformed", "refused")


@dataclass
class Record:
    address: str            # dotted IPv4 or IPv6 text
    ttl: int = 300
    cname: str | None = None  # answer through this alias: name CNAME cname, cname A address


@dataclass
class DnsServer:
    """Serves ``zone`` (name -> record) on ``host``:``port`` (0: any free port) in a thread."""

    zone: dict[str, Record]
    host: str = "127.0.0.1"
    port: int = 0
    behaviour: str = "answer"
    queries: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.behaviour not in BEHAVIOURS:
            raise ValueError(f"behaviour {self.behaviour!r} not in {BEHAVIOURS}")
        self.sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind((self.host, self.port))
        self.port = self.sock.getsockname()[1]
        self._service = UdpService(self.sock, self._datagram, poll=0.05, max_size=4096)

    def start(self) -> DnsServer:
        self._service.start()
        return self

    def stop(self) -> None:
        self._service.stop()

    def _datagram(self, datagram: bytes, client: tuple) -> None:
        reply = self.reply(datagram)
        if reply is not None:
            self.sock.sendto(reply, client)

    def reply(self, datagram: bytes) -> bytes | None:
        """The answer to one query datagram as this server's behaviour makes it (None: silence)."""
        try:
            query = dns.message.from_wire(datagram)
        except Exception:                       # not a DNS query: a real server drops it too
            return None
        question = query.question[0] if query.question else None
        self.queries.append(question.name.to_text() if question is not None else "")
        if self.behaviour == "silent":
            return None
        if self.behaviour == "malformed":
            return datagram[:2] + b"\x81\x80\x00\x01\x00\x01"      # header promising sections it lacks
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if self.behaviour in ("servfail", "refused"):
            response.set_rcode(dns.rcode.SERVFAIL if self.behaviour == "servfail" else dns.rcode.REFUSED)
        elif question is not None:
            self._answer(response, question)
        if self.behaviour == "truncated":
            response.flags |= dns.flags.TC
            response.answer = []
        if self.behaviour == "wrong_id":
            response.id = (query.id + 1) & 0xFFFF
        return response.to_wire()

    def _answer(self, response: dns.message.Message, question: dns.rrset.RRset) -> None:
        record = self.zone.get(question.name.to_text().lower().rstrip("."))
        if record is None:
            response.set_rcode(dns.rcode.NXDOMAIN)
            return
        family = ipaddress.ip_address(record.address).version
        wanted = {4: dns.rdatatype.A, 6: dns.rdatatype.AAAA}[family]
        if question.rdtype != wanted:
            return                                             # NOERROR, no data
        owner = question.name.to_text()
        if record.cname is not None:
            target = record.cname.rstrip(".") + "."
            response.answer.append(dns.rrset.from_text(owner, record.ttl, "IN", "CNAME", target))
            owner = target
        response.answer.append(dns.rrset.from_text(owner, record.ttl, "IN", dns.rdatatype.to_text(wanted),
                                                   record.address))


def parse_records(specs: list[str]) -> dict[str, Record]:
    """``name=address[,ttl]`` items (as given on the command line) as a zone."""
    zone = {}
    for spec in specs:
        name, _, value = spec.partition("=")
        address, _, ttl = value.partition(",")
        ipaddress.ip_address(address)                  # ValueError for anything but an address
        zone[name.lower().rstrip(".")] = Record(address, int(ttl) if ttl else 300)
    return zone


def main(argv: list[str] | None = None) -> None:
    """``python -m tools.terminal.dns_server --record smsr.example.com=127.0.0.1 [--port 5353]``:
    serve until interrupted (the terminal simulator points its DNS server address here)."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5353)
    parser.add_argument("--record", action="append", default=[], help="name=address[,ttl]")
    parser.add_argument("--behaviour", choices=BEHAVIOURS, default="answer")
    args = parser.parse_args(argv)
    server = DnsServer(parse_records(args.record), args.host, args.port, args.behaviour).start()
    print(f"DNS on {server.host}:{server.port}, {len(server.zone)} record(s)", flush=True)
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        server.stop()


if __name__ == "__main__":
    main()
