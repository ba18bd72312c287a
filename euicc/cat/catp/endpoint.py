"""A sans-I/O CAT_TP endpoint (ETSI TS 102 127: connection management, reliable delivery,
segmentation) over one BIP UDP channel.

Connection management: states CLOSED, LISTEN, SYN-SENT, SYN-RCVD, OPEN and CLOSE-WAIT;
an active open sends SYN (client), a passive open waits in LISTEN for one (server; the card
does this in UICC server mode).  The SYN / SYN-ACK exchange tells each side the peer's maximum
PDU and SDU sizes and carries the client's identification data (SYN PDU).

Reliable delivery is that of RDP, which CAT_TP derives from: every data and NUL PDU takes
one sequence number (16 bits, modulo 65536), pure acknowledgements take none; the
acknowledgement number is the last PDU received in sequence; the window size is how many
further PDUs the receiver accepts; PDUs received out of sequence inside the window are kept
and reported in an EAK list (EAK PDU) so that the sender retransmits only what is missing.
Unacknowledged PDUs are sent again when their retransmission timer runs out, up to a
retry limit, after which the link is reset (RST reason 5).  An idle open link sends a NUL
PDU (keep-alive).  Segmentation: an SDU longer than the peer's maximum PDU data is
split, every PDU but the last with SEG; the receiver reassembles up to its maximum SDU size.

Time comes from an injected clock; timers are checked whenever the BIP layer drains
:meth:`CatTpEndpoint.outgoing` and exposed by :meth:`CatTpEndpoint.next_deadline` (for TIMER
MANAGEMENT).  Malformed datagrams are counted and dropped, never raised.
"""
from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from euicc.cat.catp.pdu import HEADER_LENGTH, Flag, Pdu, PduError, Reason, SynOptions, decode, encode

Clock = Callable[[], float]
MODULO = 1 << 16


class State(enum.Enum):
    """Connection states, TS 102 127, connection management."""

    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RCVD = "SYN-RCVD"
    OPEN = "OPEN"
    CLOSE_WAIT = "CLOSE-WAIT"


@dataclass(frozen=True)
class CatTpSettings:
    """The endpoint's parameters.  TS 102 127 fixes none of the timer values nor the window
    a card offers; every value below is the emulator's named choice (not read in any source):

    - ``max_pdu_size`` / ``max_sdu_size``: what this side can receive (advertised in SYN);
    - ``window``: PDUs accepted beyond the last one received in sequence;
    - ``retransmit_timeout`` (s) and ``max_retries``: before a PDU is sent again / the link reset;
    - ``keepalive_interval`` (s): idle time after which an open link sends a NUL PDU (0: never);
    - ``close_wait_time`` (s): time spent in CLOSE-WAIT before CLOSED;
    - ``identification``: identification data in this side's SYN (e.g. the ICCID, SYN PDU).
    """

    max_pdu_size: int = 1024
    max_sdu_size: int = 4096
    window: int = 4
    retransmit_timeout: float = 2.0
    max_retries: int = 5
    keepalive_interval: float = 30.0
    close_wait_time: float = 4.0
    identification: bytes = b""


@dataclass
class _Unacked:
    wire: bytes
    sent_at: float
    tries: int = 1


def _after(a: int, b: int) -> int:
    """How far sequence number ``a`` is after ``b`` (mod 2^16)."""
    return (a - b) % MODULO


class CatTpEndpoint:
    """One CAT_TP connection end; a :class:`euicc.cat.bip_port.ChannelUser`.

    ``remote_port`` given: active open (SYN sent when the channel is connected); None: passive
    open on ``local_port``.  Complete SDUs go to ``on_sdu`` (or queue in :attr:`sdus`).
    """

    def __init__(self, clock: Clock, local_port: int, remote_port: int | None = None,
                 settings: CatTpSettings = CatTpSettings(), initial_seq: int = 0,
                 on_sdu: Callable[[bytes], None] | None = None) -> None:
        self.clock, self.settings = clock, settings
        self.local_port, self.remote_port = local_port, remote_port
        self.state = State.CLOSED
        self.on_sdu = on_sdu
        self.sdus: deque[bytes] = deque()
        self.peer: SynOptions | None = None
        self.reset_reason: int | None = None
        self.dropped = 0                     # malformed or misdirected datagrams
        self._iss = initial_seq % MODULO
        self._snd_nxt = self._iss
        self._snd_una = self._iss
        self._peer_window = 1
        self._rcv_cur = 0
        self._unacked: dict[int, _Unacked] = {}
        self._pending: deque[tuple[bytes, bool]] = deque()   # (segment, more follow)
        self._out_of_order: dict[int, Pdu] = {}
        self._partial = bytearray()
        self._wire: list[bytes] = []
        self._last_sent = 0.0
        self._close_at: float | None = None
        self._used = False

    # -- ChannelUser ------------------------------------------------------------------------
    def connected(self) -> None:
        self._used = True
        if self.remote_port is None:
            self.state = State.LISTEN
            return
        self.state = State.SYN_SENT
        self._send_sequenced(Flag.SYN, syn=self._syn_options())

    def received(self, data: bytes) -> None:
        try:
            pdu = decode(data)
        except PduError as error:
            self.dropped += 1
            if self.state is State.LISTEN and error.reason in (Reason.VERSION_NOT_SUPPORTED,
                                                              Reason.ILLEGAL_PARAMETERS):
                self._reply_rst(data, error.reason)
            return
        if pdu.destination_port != self.local_port or (
                self.remote_port is not None and self.state is not State.LISTEN
                and pdu.source_port != self.remote_port):
            self.dropped += 1
            if self.state is State.LISTEN and pdu.has(Flag.SYN) and not pdu.has(Flag.ACK):
                self._reply_rst_to(pdu, Reason.PORT_NOT_AVAILABLE)
            return
        handler = {State.LISTEN: self._in_listen, State.SYN_SENT: self._in_syn_sent,
                   State.SYN_RCVD: self._in_syn_rcvd, State.OPEN: self._in_open}.get(self.state)
        if handler is not None:
            handler(pdu)

    def outgoing(self) -> bytes:
        """The next datagram to send (one PDU; the BIP layer drains until b'')."""
        self._timers()
        self._fill_window()
        return self._wire.pop(0) if self._wire else b""

    def closed(self, reason: str) -> None:
        self.state = State.CLOSED
        self._unacked.clear()
        self._pending.clear()

    @property
    def finished(self) -> bool:
        return self._used and self.state is State.CLOSED

    # -- upper layer --------------------------------------------------------------------------
    def send(self, sdu: bytes) -> None:
        """Queue one SDU for in-sequence delivery, segmented; ValueError if it is empty (an empty data PDU
        would read as a bare acknowledgement) or longer than the peer's maximum SDU size."""
        if self.state is not State.OPEN or self.peer is None:
            raise ValueError(f"no open link ({self.state.value})")
        if not sdu or len(sdu) > self.peer.max_sdu_size:
            raise ValueError(f"SDU of {len(sdu)} bytes exceeds the peer's maximum {self.peer.max_sdu_size}")
        room = self.peer.max_pdu_size - HEADER_LENGTH
        chunks = [sdu[i:i + room] for i in range(0, len(sdu), room)]
        for number, chunk in enumerate(chunks):
            self._pending.append((chunk, number < len(chunks) - 1))

    def close(self) -> None:
        """Close the link: RST 'normal ending' and CLOSE-WAIT (connection closing)."""
        if self.state in (State.OPEN, State.SYN_RCVD, State.SYN_SENT):
            self._send_rst(Reason.NORMAL_ENDING)
            self._enter_close_wait()
        elif self.state is State.LISTEN:
            self.state = State.CLOSED

    def abort(self, reason: Reason) -> None:
        """Reset the link with ``reason`` (e.g. an upper layer that cannot go on)."""
        if self.state in (State.OPEN, State.SYN_RCVD, State.SYN_SENT):
            self._fail(reason)

    def next_deadline(self) -> float | None:
        """When :meth:`outgoing` next has something to do on its own (a timer), or None."""
        deadlines = [entry.sent_at + self.settings.retransmit_timeout for entry in self._unacked.values()]
        if self._close_at is not None:
            deadlines.append(self._close_at)
        if self.state is State.OPEN and self.settings.keepalive_interval:
            deadlines.append(self._last_sent + self.settings.keepalive_interval)
        return min(deadlines, default=None)

    @property
    def idle(self) -> bool:
        """Everything queued was sent and acknowledged."""
        return not self._pending and not self._unacked

    # -- states ---------------------------------------------------------------------------------
    def _in_listen(self, pdu: Pdu) -> None:
        if pdu.has(Flag.RST):
            return
        if not pdu.has(Flag.SYN) or pdu.has(Flag.ACK):
            self._reply_rst_to(pdu, Reason.UNEXPECTED_PDU)
            return
        self.remote_port, self.peer = pdu.source_port, pdu.syn
        self._rcv_cur = pdu.seq
        self._peer_window = max(1, pdu.window)
        self.state = State.SYN_RCVD
        self._send_sequenced(Flag.SYN | Flag.ACK, syn=self._syn_options())

    def _in_syn_sent(self, pdu: Pdu) -> None:
        if pdu.has(Flag.RST):
            if pdu.has(Flag.ACK) and pdu.ack == self._iss:
                self._reset_by_peer(pdu)
            return
        if not (pdu.has(Flag.SYN) and pdu.has(Flag.ACK)) or pdu.ack != self._iss:
            return
        self.peer, self._rcv_cur = pdu.syn, pdu.seq
        self._acknowledged(pdu)
        self.state = State.OPEN
        self._send_ack()

    def _in_syn_rcvd(self, pdu: Pdu) -> None:
        if pdu.has(Flag.RST):
            self._reset_by_peer(pdu)
            return
        if pdu.has(Flag.SYN):          # our SYN-ACK was lost: the client sends its SYN again
            if not pdu.has(Flag.ACK) and pdu.seq == self._rcv_cur:
                self._retransmit_all()
            return
        if not pdu.has(Flag.ACK) or pdu.ack != self._iss:
            self._reply_rst_to(pdu, Reason.UNEXPECTED_PDU)
            return
        self.state = State.OPEN
        self._in_open(pdu)

    def _in_open(self, pdu: Pdu) -> None:
        if pdu.has(Flag.RST):
            self._reset_by_peer(pdu)
            return
        if pdu.has(Flag.SYN):          # our ACK of the SYN-ACK was lost
            if pdu.has(Flag.ACK) and pdu.seq == self._rcv_cur:
                self._send_ack()
            return
        self._acknowledged(pdu)
        if pdu.data or pdu.has(Flag.NUL):
            self._sequenced(pdu)
            if self.state is State.OPEN:
                self._send_ack()

    # -- receiving ------------------------------------------------------------------------------
    def _acknowledged(self, pdu: Pdu) -> None:
        """Drop from the retransmission queue what the ACK number and EAKs cover (reliable delivery)."""
        self._peer_window = max(1, pdu.window)
        if _after(pdu.ack, self._snd_una) < _after(self._snd_nxt, self._snd_una):
            for seq in list(self._unacked):
                if _after(seq, self._snd_una) <= _after(pdu.ack, self._snd_una):
                    del self._unacked[seq]
            self._snd_una = (pdu.ack + 1) % MODULO
        for seq in pdu.eaks:
            self._unacked.pop(seq, None)

    def _sequenced(self, pdu: Pdu) -> None:
        distance = _after(pdu.seq, self._rcv_cur)
        if distance == 0 or distance > self.settings.window:
            return                       # a duplicate, or outside the window: only re-acknowledged
        if len(pdu.data) + HEADER_LENGTH > self.settings.max_pdu_size:
            self._fail(Reason.UNEXPECTED_PDU)
            return
        self._out_of_order[pdu.seq] = pdu
        while (following := self._out_of_order.pop((self._rcv_cur + 1) % MODULO, None)) is not None:
            self._rcv_cur = following.seq
            if following.has(Flag.NUL):
                continue
            self._partial += following.data
            if len(self._partial) > self.settings.max_sdu_size:
                self._fail(Reason.UNEXPECTED_PDU)
                return
            if not following.has(Flag.SEG):
                self._deliver(bytes(self._partial))
                self._partial.clear()

    def _deliver(self, sdu: bytes) -> None:
        if self.on_sdu is not None:
            self.on_sdu(sdu)
        else:
            self.sdus.append(sdu)

    # -- sending --------------------------------------------------------------------------------
    def _syn_options(self) -> SynOptions:
        return SynOptions(self.settings.max_pdu_size, self.settings.max_sdu_size, self.settings.identification)

    def _header(self, flags: Flag, seq: int, **fields) -> Pdu:
        return Pdu(flags, self.local_port, self.remote_port or 0, seq, self._rcv_cur,
                   self.settings.window, **fields)

    def _emit(self, wire: bytes) -> None:
        self._wire.append(wire)
        self._last_sent = self.clock()

    def _send_sequenced(self, flags: Flag, data: bytes = b"", syn: SynOptions | None = None) -> None:
        seq = self._snd_nxt
        wire = encode(self._header(flags, seq, data=data, syn=syn))
        self._snd_nxt = (seq + 1) % MODULO
        self._unacked[seq] = _Unacked(wire, self.clock())
        self._emit(wire)

    def _send_ack(self) -> None:
        eaks = tuple(sorted(self._out_of_order, key=lambda s: _after(s, self._rcv_cur)))
        flags = Flag.ACK | (Flag.EAK if eaks else Flag(0))
        self._emit(encode(self._header(flags, self._snd_nxt, eaks=eaks)))

    def _send_rst(self, reason: Reason) -> None:
        self._emit(encode(self._header(Flag.RST | Flag.ACK, self._snd_nxt, reason=reason)))

    def _reply_rst_to(self, pdu: Pdu, reason: Reason) -> None:
        """RST to a PDU outside any connection (connection management): addressed back to its sender."""
        self._wire.append(encode(Pdu(Flag.RST | Flag.ACK, pdu.destination_port, pdu.source_port,
                                     (pdu.ack + 1) % MODULO, pdu.seq, 0, reason=reason)))

    def _reply_rst(self, data: bytes, reason: Reason) -> None:
        """RST to an intact PDU that could not be decoded (its checksum held, so its ports did)."""
        source, seq = int.from_bytes(data[4:6], "big"), int.from_bytes(data[10:12], "big")
        self._wire.append(encode(Pdu(Flag.RST | Flag.ACK, self.local_port, source, 0, seq, 0, reason=reason)))

    def _fill_window(self) -> None:
        while (self.state is State.OPEN and self._pending
               and _after(self._snd_nxt, self._snd_una) < self._peer_window):
            chunk, more = self._pending.popleft()
            self._send_sequenced(Flag.ACK | (Flag.SEG if more else Flag(0)), chunk)

    def _retransmit_all(self) -> None:
        now = self.clock()
        for entry in self._unacked.values():
            entry.sent_at, entry.tries = now, entry.tries + 1
            self._emit(entry.wire)

    # -- timers and endings -----------------------------------------------------------------------
    def _timers(self) -> None:
        now = self.clock()
        if self._close_at is not None:
            if now >= self._close_at:
                self.state, self._close_at = State.CLOSED, None
            return
        for entry in sorted(self._unacked.values(), key=lambda e: e.sent_at):
            if now < entry.sent_at + self.settings.retransmit_timeout:
                continue
            if entry.tries > self.settings.max_retries:
                self._fail(Reason.MAX_RETRIES)
                return
            entry.sent_at, entry.tries = now, entry.tries + 1
            self._emit(entry.wire)
        if (self.state is State.OPEN and self.settings.keepalive_interval and not self._unacked
                and not self._pending and now >= self._last_sent + self.settings.keepalive_interval):
            self._send_sequenced(Flag.ACK | Flag.NUL)

    def _fail(self, reason: Reason) -> None:
        self.reset_reason = reason
        self._send_rst(reason)
        self._enter_close_wait()

    def _reset_by_peer(self, pdu: Pdu) -> None:
        self.reset_reason = pdu.reason
        self._enter_close_wait()

    def _enter_close_wait(self) -> None:
        self.state = State.CLOSE_WAIT
        self._unacked.clear()
        self._pending.clear()
        self._close_at = self.clock() + self.settings.close_wait_time
