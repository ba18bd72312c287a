"""Host (SM-SR) side of CAT_TP (ETSI TS 102 127) over a real UDP socket, written from the
specification independently of the card's :mod:`euicc.cat.catp` (no import of it).

Deliberately simpler than the card: one PDU in flight at a time (stop-and-wait, which the
window rules allow), cumulative acknowledgements only (a PDU out of sequence is dropped
and the card sends it again), blocking I/O with a retransmission timeout.  Both opens: the
SM-SR waits for the card's SYN (:meth:`HostCatTp.accept`, the card being the client after a
PUSH, TS 102 226 §9) or sends one itself (:meth:`HostCatTp.connect`, UICC server mode).

PDU layout (PDU formats): flags|version, 2 RFU bytes, header length, source port, destination port, data
length, sequence number, acknowledgement number, window size, checksum (all 16-bit fields
big-endian), then the SYN options (max PDU size, max SDU size, identification), the EAK list or
the RST reason; the checksum is the Internet checksum of the whole PDU.
"""
from __future__ import annotations

import socket
import struct
import time
from dataclasses import dataclass

SYN, ACK, EAK, RST, NUL, SEG = 0x80, 0x40, 0x20, 0x10, 0x08, 0x04
_HEAD = struct.Struct(">BBBBHHHHHHH")      # 18 bytes, checksum last


class CatTpError(Exception):
    """The link failed: reset by the card, or no answer after the retries."""


@dataclass(frozen=True)
class HostPdu:
    flags: int
    src: int
    dst: int
    seq: int
    ack: int
    window: int
    data: bytes = b""
    variable: bytes = b""


def _fold(words: tuple[int, ...]) -> int:
    total = sum(words)
    while total > 0xFFFF:
        total = (total >> 16) + (total & 0xFFFF)
    return 0xFFFF ^ total


def checksum(pdu: bytes) -> int:
    padded = pdu + b"\x00" * (len(pdu) & 1)
    return _fold(struct.unpack(f">{len(padded) // 2}H", padded))


def build(p: HostPdu) -> bytes:
    hlen = 18 + len(p.variable)
    blank = _HEAD.pack(p.flags, 0, 0, hlen, p.src, p.dst, len(p.data), p.seq, p.ack, p.window, 0)
    whole = blank + p.variable + p.data
    return whole[:16] + struct.pack(">H", checksum(whole)) + whole[18:]


def parse(datagram: bytes) -> HostPdu | None:
    """A PDU whose lengths and checksum hold, else None (dropped, as a lossy link may corrupt)."""
    if len(datagram) < 18:
        return None
    flags, _r1, _r2, hlen, src, dst, dlen, seq, ack, window, _sum = _HEAD.unpack(datagram[:18])
    if hlen < 18 or hlen + dlen != len(datagram) or checksum(datagram) != 0:
        return None
    return HostPdu(flags & 0xFC, src, dst, seq, ack, window, datagram[hlen:], datagram[18:hlen])


def syn_options(max_pdu: int, max_sdu: int, identification: bytes) -> bytes:
    return struct.pack(">HHB", max_pdu, max_sdu, len(identification)) + identification


class HostCatTp:
    """One CAT_TP link of the test SM-SR over ``sock`` to ``peer`` (a UDP address)."""

    def __init__(self, sock: socket.socket, peer: tuple[str, int] | None, local_port: int,
                 remote_port: int = 0, max_pdu: int = 512, max_sdu: int = 4096,
                 rto: float = 0.1, retries: int = 30, iss: int = 0x4000, window: int = 4) -> None:
        self.sock, self.peer = sock, peer
        self.local_port, self.remote_port = local_port, remote_port
        self.max_pdu, self.max_sdu, self.rto, self.retries = max_pdu, max_sdu, rto, retries
        self.window = window   # advertised; PDUs beyond the next in sequence are dropped anyway
        self.snd_nxt = iss
        self.rcv_cur = 0
        self.peer_max_pdu = self.peer_max_sdu = 0
        self.identification = b""
        self.received: list[bytes] = []
        self._partial = b""
        self._acked_up_to: int | None = None
        self.reset_reason: int | None = None

    # -- wire ---------------------------------------------------------------------------------------
    def _send(self, flags: int, seq: int, data: bytes = b"", variable: bytes = b"") -> None:
        pdu = HostPdu(flags, self.local_port, self.remote_port, seq, self.rcv_cur, self.window, data, variable)
        self.sock.sendto(build(pdu), self.peer)

    def _read(self, timeout: float) -> HostPdu | None:
        self.sock.settimeout(max(timeout, 0.001))
        try:
            datagram, sender = self.sock.recvfrom(65535)
        except (socket.timeout, BlockingIOError):
            return None
        if self.peer is None:
            self.peer = sender
        pdu = parse(datagram)
        if pdu is None or pdu.dst != self.local_port:
            return None
        if pdu.flags & RST:
            self.reset_reason = pdu.variable[0] if pdu.variable else None
            raise CatTpError(f"reset by the card, reason {self.reset_reason}")
        return pdu

    def _handle(self, pdu: HostPdu) -> None:
        """Acknowledgements and in-sequence data of an open link."""
        if pdu.flags & SYN:                    # our ACK of its SYN-ACK was lost
            self._send(ACK, self.snd_nxt)
            return
        self._acked_up_to = pdu.ack
        if not (pdu.data or pdu.flags & NUL):
            return
        if pdu.seq == (self.rcv_cur + 1) & 0xFFFF:
            self.rcv_cur = pdu.seq
            if pdu.data:
                self._partial += pdu.data
                if not pdu.flags & SEG:
                    self.received.append(self._partial)
                    self._partial = b""
        self._send(ACK, self.snd_nxt)          # cumulative: a duplicate or a gap gets the same ACK

    # -- opens ----------------------------------------------------------------------------------------
    def accept(self, timeout: float = 10.0) -> bytes:
        """Passive open: wait for the card's SYN, answer SYN-ACK until acknowledged; returns the
        card's identification data."""
        deadline = time.monotonic() + timeout
        syn = None
        while syn is None:
            if time.monotonic() > deadline:
                raise CatTpError("no SYN")
            pdu = self._read(deadline - time.monotonic())
            if pdu is not None and pdu.flags & SYN and not pdu.flags & ACK:
                syn = pdu
        self.remote_port, self.rcv_cur = syn.src, syn.seq
        self.peer_max_pdu, self.peer_max_sdu, idlen = struct.unpack(">HHB", syn.variable[:5])
        self.identification = syn.variable[5:5 + idlen]
        iss = self.snd_nxt
        self.snd_nxt = (iss + 1) & 0xFFFF
        for _ in range(self.retries):
            self._send(SYN | ACK, iss, variable=syn_options(self.max_pdu, self.max_sdu, b""))
            until = time.monotonic() + self.rto
            while time.monotonic() < until:
                pdu = self._read(until - time.monotonic())
                if pdu is None or pdu.flags & SYN:
                    continue
                if pdu.flags & ACK and pdu.ack == iss:
                    self._handle(pdu)
                    return self.identification
        raise CatTpError("SYN-ACK never acknowledged")

    def connect(self, identification: bytes = b"") -> None:
        """Active open: SYN until the card's SYN-ACK, then ACK."""
        iss = self.snd_nxt
        self.snd_nxt = (iss + 1) & 0xFFFF
        for _ in range(self.retries):
            self._send(SYN, iss, variable=syn_options(self.max_pdu, self.max_sdu, identification))
            until = time.monotonic() + self.rto
            while time.monotonic() < until:
                pdu = self._read(until - time.monotonic())
                if pdu is not None and pdu.flags & SYN and pdu.flags & ACK and pdu.ack == iss:
                    self.rcv_cur = pdu.seq
                    self.peer_max_pdu, self.peer_max_sdu, _ = struct.unpack(">HHB", pdu.variable[:5])
                    self._send(ACK, self.snd_nxt)
                    return
        raise CatTpError("no SYN-ACK")

    # -- data -------------------------------------------------------------------------------------------
    def send_sdu(self, sdu: bytes) -> None:
        """Segment ``sdu`` to the card's maximum PDU size and send it, one PDU at a time."""
        if len(sdu) > self.peer_max_sdu:
            raise ValueError("SDU longer than the card accepts")
        room = self.peer_max_pdu - 18
        parts = [sdu[i:i + room] for i in range(0, len(sdu), room)]
        for index, part in enumerate(parts):
            self._reliably(ACK | (SEG if index < len(parts) - 1 else 0), part)

    def keepalive(self) -> None:
        """A NUL PDU (sequenced, acknowledged like data)."""
        self._reliably(ACK | NUL, b"")

    def _reliably(self, flags: int, data: bytes) -> None:
        seq = self.snd_nxt
        self.snd_nxt = (seq + 1) & 0xFFFF
        for _ in range(self.retries):
            self._send(flags, seq, data)
            until = time.monotonic() + self.rto
            while time.monotonic() < until:
                pdu = self._read(until - time.monotonic())
                if pdu is not None:
                    self._handle(pdu)
                    if self._acked_up_to == seq:
                        return
        raise CatTpError(f"PDU {seq} never acknowledged")

    def recv_sdu(self, timeout: float = 10.0) -> bytes:
        deadline = time.monotonic() + timeout
        while not self.received:
            if time.monotonic() > deadline:
                raise CatTpError("no SDU")
            pdu = self._read(deadline - time.monotonic())
            if pdu is not None:
                self._handle(pdu)
        return self.received.pop(0)

    def close(self) -> None:
        """RST 'normal ending' (reason 0)."""
        self._send(RST | ACK, self.snd_nxt, variable=b"\x00")
