"""Fuzz targets for the protocol engines over BIP channels: CAT_TP PDUs (ETSI TS 102 127, PDU formats) and
DNS answers (RFC 1035 §4, SGP.02 DNS resolution of the SM-SR address).

Each checks what the card's code made of the input against code written independently of it
(the host CAT_TP codec of tools/ota/cat_tp.py; dnspython for DNS), never against the card's own.
"""
from __future__ import annotations

import ipaddress

import dns.message
import dns.rdatatype

from euicc.cat.catp.endpoint import CatTpEndpoint, CatTpSettings, State
from euicc.cat.catp.pdu import PduError, decode
from euicc.cat.dns_resolver import DnsExchange, DnsSettings, Outcome
from tools.fuzz.invariants import InvariantViolation
from tools.ota import cat_tp as host
from tools.terminal.dns_server import BEHAVIOURS, DnsServer, Record

CARD_PORT, PEER_PORT, PEER_ISS, CARD_ISS = 1025, 4000, 700, 40


def cat_tp_pdu_target(data: bytes) -> None:
    """pdu.decode: PduError, or a PDU the host codec reads identically (lengths, checksum, fields)."""
    data = bytes(data)
    try:
        pdu = decode(data)
    except PduError:
        return
    other = host.parse(data)
    if other is None:
        raise InvariantViolation(f"{data.hex()}: the card accepted what the host codec refuses")
    if (int(pdu.flags), pdu.source_port, pdu.destination_port, pdu.seq, pdu.ack, pdu.window, pdu.data) != \
            (other.flags, other.src, other.dst, other.seq, other.ack, other.window, other.data):
        raise InvariantViolation(f"{data.hex()}: fields differ: {pdu} / {other}")
    if pdu.syn is not None and other.variable[5:] != pdu.syn.identification:
        raise InvariantViolation(f"{data.hex()}: identification differs")


class CatTpEndpointTarget:
    """An open link (the card in UICC server mode, handshake done with host-built PDUs) fed the
    input as one datagram, then as datagrams of the first byte's length: it must never raise,
    and everything it sends must be a well-formed PDU to the peer's port."""

    SETTINGS = CatTpSettings(max_pdu_size=120, max_sdu_size=400, window=4)

    def __call__(self, data: bytes) -> None:
        data = bytes(data)
        endpoint = self._open()
        endpoint.received(data)
        self._drain(endpoint)
        size = (data[0] if data else 0) + 1
        for start in range(0, len(data), size):
            endpoint.received(data[start:start + size])
            self._drain(endpoint)
        if endpoint.state not in (State.OPEN, State.CLOSE_WAIT):
            raise InvariantViolation(f"{data.hex()}: state {endpoint.state}")

    def _open(self) -> CatTpEndpoint:
        endpoint = CatTpEndpoint(lambda: 0.0, CARD_PORT, None, self.SETTINGS, initial_seq=CARD_ISS)
        endpoint.connected()
        endpoint.received(self._peer(host.SYN, PEER_ISS, 0, variable=host.syn_options(100, 300, b"")))
        endpoint.received(self._peer(host.ACK, PEER_ISS + 1, CARD_ISS))
        self._drain(endpoint)
        endpoint.send(bytes(250))                       # something in flight for ACKs / EAKs to hit
        self._drain(endpoint)
        return endpoint

    @staticmethod
    def _peer(flags: int, seq: int, ack: int, data: bytes = b"", variable: bytes = b"") -> bytes:
        return host.build(host.HostPdu(flags, PEER_PORT, CARD_PORT, seq, ack, 4, data, variable))

    @staticmethod
    def _drain(endpoint: CatTpEndpoint) -> None:
        while wire := endpoint.outgoing():
            pdu = host.parse(wire)
            if pdu is None or pdu.src != CARD_PORT:
                raise InvariantViolation(f"the card sent a malformed PDU {wire.hex()}")


def cat_tp_seeds() -> list[bytes]:
    """PDUs of every type as the peer of an open link would send them (host codec)."""
    peer = CatTpEndpointTarget._peer
    return [
        peer(host.ACK, PEER_ISS + 1, CARD_ISS + 1, b"\x01\x02\x03"),
        peer(host.ACK | host.SEG, PEER_ISS + 1, CARD_ISS, bytes(60)),
        peer(host.ACK | host.EAK, PEER_ISS + 1, CARD_ISS, variable=bytes.fromhex("002B002C")),
        peer(host.ACK | host.NUL, PEER_ISS + 1, CARD_ISS + 3),
        peer(host.RST | host.ACK, PEER_ISS + 1, CARD_ISS, variable=b"\x00"),
        peer(host.SYN | host.ACK, PEER_ISS, CARD_ISS, variable=host.syn_options(100, 300, b"\x98\x10")),
        peer(host.SYN, PEER_ISS, 0, variable=host.syn_options(100, 300, b"ID")),
    ]


# -- DNS answers --------------------------------------------------------------------------------------
DNS_NAME, DNS_QUERY_ID = "smsr.example.com", 0x5A5A


def dns_answer_target(data: bytes) -> None:
    """A DNS exchange waiting for its answer takes the input as the datagram from the server: it
    never raises; an accepted answer carries the query's ID, is a response (QR) and every address
    it yields is an A record of the datagram's answer section (read here by dnspython directly)."""
    data = bytes(data)
    exchange = DnsExchange(DNS_NAME, "A", lambda: 0.0, DnsSettings(), query_id=DNS_QUERY_ID)
    exchange.connected()
    exchange.outgoing()
    exchange.received(data)
    if exchange.outcome is Outcome.PENDING:
        return
    header_ours = len(data) >= 2 and int.from_bytes(data[:2], "big") == DNS_QUERY_ID
    if not header_ours:
        raise InvariantViolation(f"{data.hex()}: a datagram with another ID ended the exchange")
    if exchange.outcome is Outcome.NAME_ERROR and (data[3] & 0x0F != 3 or not data[2] & 0x80):
        raise InvariantViolation(f"{data.hex()}: NXDOMAIN without RCODE 3 in a response")
    if exchange.outcome is Outcome.ANSWERED:
        message = dns.message.from_wire(data)
        records = {rdata.address for rrset in message.answer if rrset.rdtype == dns.rdatatype.A for rdata in rrset}
        if not exchange.answer or any(ipaddress.ip_address(a).compressed not in records
                                      for a in exchange.answer.addresses):
            raise InvariantViolation(f"{data.hex()}: addresses {exchange.answer} not in the answer")


def dns_seeds() -> list[bytes]:
    """The test DNS server's answers to the target's query, in every behaviour, and a CNAME one."""
    query = dns.message.make_query(DNS_NAME, "A", id=DNS_QUERY_ID).to_wire()
    seeds = []
    for zone in ({DNS_NAME: Record("192.0.2.10")}, {DNS_NAME: Record("192.0.2.11", 30, "real.example.com")}, {}):
        for behaviour in BEHAVIOURS:
            server = DnsServer(zone, behaviour=behaviour)
            try:
                reply = server.reply(query)
            finally:
                server.sock.close()
            if reply is not None and reply not in seeds:
                seeds.append(reply)
    return seeds
